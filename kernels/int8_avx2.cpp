// int8 on AVX2 (layout: see int8_format.cpp). maddubs needs one unsigned operand: |q| (unsigned, so
// |-128| = 128 is exact) times sign(w, q) = w * sign(q), which cannot overflow for w in [-127, 127].
// int16 pairs are bounded by 2 * 128 * 127 < 32767; madd widens to int32.
#include <immintrin.h>

#include "kernels/simd_tile.h"
#include "kernels/variants.h"
#include "kernels/x86_avx2.h"

namespace tb {
namespace detail {
namespace {

struct Int8Avx2 {
  template <int R, int TT>
  static void run(const GemmArgs& g, int64_t n, int64_t rs, int64_t t) {
    const int64_t K = g.K, K32 = K / 32 * 32;
    const int8_t* w = reinterpret_cast<const int8_t*>(g.w) + n * K;
    const int8_t* x[TT];
    for (int i = 0; i < TT; ++i) x[i] = reinterpret_cast<const int8_t*>(g.x + (t + i) * g.ldx);
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc[R][TT];
    for (int r = 0; r < R; ++r)
      for (int i = 0; i < TT; ++i) acc[r][i] = _mm256_setzero_si256();
    for (int64_t k = 0; k < K32; k += 32) {
      __m256i wv[R];
      for (int r = 0; r < R; ++r) wv[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + r * rs * K + k));
      for (int i = 0; i < TT; ++i) {
        const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i] + k));
        const __m256i ax = _mm256_abs_epi8(xv);
        for (int r = 0; r < R; ++r)
          acc[r][i] = _mm256_add_epi32(
              acc[r][i], _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(wv[r], xv)), ones));
      }
    }
    for (int i = 0; i < TT; ++i) {
      int32_t* c = g.c + (t + i - g.t0) * int64_t(g.ldc) + (n - g.n0);
      for (int r = 0; r < R; ++r) {
        int32_t s = hsum(acc[r][i]);
        for (int64_t k = K32; k < K; ++k) s += int32_t(w[r * rs * K + k]) * x[i][k];
        c[r * rs] = s;
      }
    }
  }
};

}  // namespace

void int8_gemm_avx2(const GemmArgs& g) {
  if (g.t1 - g.t0 == 1) TileWalker<Int8Avx2, 4, 1>::walk(g);
  else TileWalker<Int8Avx2, 2, 4>::walk(g);
}

}  // namespace detail
}  // namespace tb
