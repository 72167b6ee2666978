// TQ1 on NEON (layout: see tq1_format.cpp). Per 32-byte group and row: two 16-byte loads; per digit two
// unsigned compares give masks (0 or -1) whose sum is -c, c in {0,1,2}, and vmlsl subtracts -c times the
// signed activations into int16; two byte additions move the next digit up. Each int16 lane takes
// 2 products per digit and half-group, 20 per group: |20 * 2 * 128| = 5120, far inside int16; vpadalq widens
// to int32 once per group. Result = sum(c * q) - sum(q); activations are zero-padded to whole groups.
#include <arm_neon.h>

#include "kernels/simd_tile.h"
#include "kernels/variants.h"

namespace tb {
namespace detail {
namespace {

// -c of the current digit (as signed bytes), then x moves to the next digit.
inline int8x16_t next_neg_code(uint8x16_t& x) {
  const uint8x16_t s = vaddq_u8(vcgeq_u8(x, vdupq_n_u8(86)), vcgeq_u8(x, vdupq_n_u8(171)));
  x = vaddq_u8(x, vaddq_u8(x, x));
  return vreinterpretq_s8_u8(s);
}

struct Tq1Neon {
  template <int R, int TT>
  static void run(const GemmArgs& g, int64_t n, int64_t rs, int64_t t) {
    const int64_t G = (g.K + 159) / 160, rb = 32 * G;
    const uint8_t* w = g.w + n * rb;
    const int8_t* x[TT];
    for (int i = 0; i < TT; ++i) x[i] = reinterpret_cast<const int8_t*>(g.x + (t + i) * g.ldx);
    int32x4_t acc[R][TT];
    for (int r = 0; r < R; ++r)
      for (int i = 0; i < TT; ++i) acc[r][i] = vdupq_n_s32(0);
    for (int64_t gi = 0; gi < G; ++gi) {
      uint8x16_t y[R][2];
      for (int r = 0; r < R; ++r) {
        y[r][0] = vld1q_u8(w + r * rs * rb + 32 * gi);
        y[r][1] = vld1q_u8(w + r * rs * rb + 32 * gi + 16);
      }
      int16x8_t a16[R][TT];
      for (int r = 0; r < R; ++r)
        for (int i = 0; i < TT; ++i) a16[r][i] = vdupq_n_s16(0);
      for (int j = 0; j < 5; ++j) {
        int8x16_t nc[R][2];
        for (int r = 0; r < R; ++r) {
          nc[r][0] = next_neg_code(y[r][0]);
          nc[r][1] = next_neg_code(y[r][1]);
        }
        for (int i = 0; i < TT; ++i) {
          const int8_t* xa = x[i] + 160 * gi + 32 * j;
          const int8x16_t x0 = vld1q_s8(xa), x1 = vld1q_s8(xa + 16);
          for (int r = 0; r < R; ++r) {
            a16[r][i] = vmlsl_s8(a16[r][i], vget_low_s8(nc[r][0]), vget_low_s8(x0));
            a16[r][i] = vmlsl_high_s8(a16[r][i], nc[r][0], x0);
            a16[r][i] = vmlsl_s8(a16[r][i], vget_low_s8(nc[r][1]), vget_low_s8(x1));
            a16[r][i] = vmlsl_high_s8(a16[r][i], nc[r][1], x1);
          }
        }
      }
      for (int r = 0; r < R; ++r)
        for (int i = 0; i < TT; ++i) acc[r][i] = vpadalq_s16(acc[r][i], a16[r][i]);
    }
    for (int i = 0; i < TT; ++i) {
      int32_t* c = g.c + (t + i - g.t0) * int64_t(g.ldc) + (n - g.n0);
      for (int r = 0; r < R; ++r) c[r * rs] = vaddvq_s32(acc[r][i]) - g.xsum[t + i];
    }
  }
};

}  // namespace

void tq1_gemm_neon(const GemmArgs& g) {
  if (g.t1 - g.t0 == 1) TileWalker<Tq1Neon, 4, 1>::walk(g);
  else TileWalker<Tq1Neon, 2, 4>::walk(g);
}

}  // namespace detail
}  // namespace tb
