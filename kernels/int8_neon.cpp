// int8 on NEON (layout: see int8_format.cpp). vmull_s8 products (|p| <= 16384) are widened into int32
// right away with vpadalq, so any int8 weights are exact.
#include <arm_neon.h>

#include "kernels/simd_tile.h"
#include "kernels/variants.h"

namespace tb {
namespace detail {
namespace {

struct Int8Neon {
  template <int R, int TT>
  static void run(const GemmArgs& g, int64_t n, int64_t rs, int64_t t) {
    const int64_t K = g.K, K16 = K / 16 * 16;
    const int8_t* w = reinterpret_cast<const int8_t*>(g.w) + n * K;
    const int8_t* x[TT];
    for (int i = 0; i < TT; ++i) x[i] = reinterpret_cast<const int8_t*>(g.x + (t + i) * g.ldx);
    int32x4_t acc[R][TT];
    for (int r = 0; r < R; ++r)
      for (int i = 0; i < TT; ++i) acc[r][i] = vdupq_n_s32(0);
    for (int64_t k = 0; k < K16; k += 16) {
      int8x16_t wv[R];
      for (int r = 0; r < R; ++r) wv[r] = vld1q_s8(w + r * rs * K + k);
      for (int i = 0; i < TT; ++i) {
        const int8x16_t xv = vld1q_s8(x[i] + k);
        for (int r = 0; r < R; ++r) {
          acc[r][i] = vpadalq_s16(acc[r][i], vmull_s8(vget_low_s8(wv[r]), vget_low_s8(xv)));
          acc[r][i] = vpadalq_s16(acc[r][i], vmull_high_s8(wv[r], xv));
        }
      }
    }
    for (int i = 0; i < TT; ++i) {
      int32_t* c = g.c + (t + i - g.t0) * int64_t(g.ldc) + (n - g.n0);
      for (int r = 0; r < R; ++r) {
        int32_t s = vaddvq_s32(acc[r][i]);
        for (int64_t k = K16; k < K; ++k) s += int32_t(w[r * rs * K + k]) * x[i][k];
        c[r * rs] = s;
      }
    }
  }
};

}  // namespace

void int8_gemm_neon(const GemmArgs& g) {
  if (g.t1 - g.t0 == 1) TileWalker<Int8Neon, 4, 1>::walk(g);
  else TileWalker<Int8Neon, 2, 4>::walk(g);
}

}  // namespace detail
}  // namespace tb
