// I2_S on NEON (layout: see i2s_format.cpp). Per 32-byte block and row: two 16-byte loads; a shift and
// a mask per 2-bit field give codes c in {0,1,2}; vmull/vmlal_high multiply by the matching signed
// activations into int16. Each int16 lane takes 2 products per field and half-block, 16 per block:
// |16 * 2 * 128| = 4096, far inside int16; vpadalq widens to int32 once per block.
#include <arm_neon.h>

#include "kernels/simd_tile.h"
#include "kernels/variants.h"

namespace tb {
namespace detail {
namespace {

template <int kShift>
inline int8x16_t field(uint8x16_t v) {
  if constexpr (kShift == 0) return vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(3)));
  else return vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(v, kShift), vdupq_n_u8(3)));
}

struct I2sNeon {
  template <int J, int R, int TT>
  static void field_step(const uint8x16_t (&wv)[R][2], const int8_t* const (&x)[TT], int64_t b,
                         int16x8_t (&a16)[R][TT]) {
    int8x16_t c[R][2];
    for (int r = 0; r < R; ++r) {
      c[r][0] = field<6 - 2 * J>(wv[r][0]);
      c[r][1] = field<6 - 2 * J>(wv[r][1]);
    }
    for (int i = 0; i < TT; ++i) {
      const int8x16_t x0 = vld1q_s8(x[i] + 128 * b + 32 * J), x1 = vld1q_s8(x[i] + 128 * b + 32 * J + 16);
      for (int r = 0; r < R; ++r) {
        a16[r][i] = vmlal_s8(a16[r][i], vget_low_s8(c[r][0]), vget_low_s8(x0));
        a16[r][i] = vmlal_high_s8(a16[r][i], c[r][0], x0);
        a16[r][i] = vmlal_s8(a16[r][i], vget_low_s8(c[r][1]), vget_low_s8(x1));
        a16[r][i] = vmlal_high_s8(a16[r][i], c[r][1], x1);
      }
    }
  }

  template <int R, int TT>
  static void run(const GemmArgs& g, int64_t n, int64_t rs, int64_t t) {
    const int64_t rb = g.K / 4, nblk = g.K / 128;
    const uint8_t* w = g.w + n * rb;
    const int8_t* x[TT];
    for (int i = 0; i < TT; ++i) x[i] = reinterpret_cast<const int8_t*>(g.x + (t + i) * g.ldx);
    int32x4_t acc[R][TT];
    for (int r = 0; r < R; ++r)
      for (int i = 0; i < TT; ++i) acc[r][i] = vdupq_n_s32(0);
    for (int64_t b = 0; b < nblk; ++b) {
      uint8x16_t wv[R][2];
      for (int r = 0; r < R; ++r) {
        wv[r][0] = vld1q_u8(w + r * rs * rb + 32 * b);
        wv[r][1] = vld1q_u8(w + r * rs * rb + 32 * b + 16);
      }
      int16x8_t a16[R][TT];
      for (int r = 0; r < R; ++r)
        for (int i = 0; i < TT; ++i) a16[r][i] = vdupq_n_s16(0);
      field_step<0, R, TT>(wv, x, b, a16);
      field_step<1, R, TT>(wv, x, b, a16);
      field_step<2, R, TT>(wv, x, b, a16);
      field_step<3, R, TT>(wv, x, b, a16);
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

void i2s_gemm_neon(const GemmArgs& g) {
  if (g.t1 - g.t0 == 1) TileWalker<I2sNeon, 4, 1>::walk(g);
  else TileWalker<I2sNeon, 2, 4>::walk(g);
}

}  // namespace detail
}  // namespace tb
