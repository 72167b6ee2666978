// I2_S on AVX2 (layout: see i2s_format.cpp). Per 32-byte block and row: one load, then for each of the
// four 2-bit fields a shift and a mask give 32 codes c in {0,1,2} for 32 consecutive activations.
// maddubs(c, q) makes int16 pairs bounded by 2*2*128 = 512 (no saturation), madd widens to int32.
// Result = sum(c*q) - sum(q).
#include <immintrin.h>

#include "kernels/simd_tile.h"
#include "kernels/variants.h"
#include "kernels/x86_avx2.h"

namespace tb {
namespace detail {
namespace {

// Per block of 128 weights, row r and token i: the four fields' maddubs are summed in int16 (each lane at most
// 4 x 512 = 2048 in magnitude) before one madd widens them to int32: 4 maddubs + 1 madd per 128 multiply-adds
// where a madd after every maddubs costs 8. Both instructions run on the vector multiply units, which bound
// this kernel on cores without VNNI (Zen 1: one 256-bit multiply every two cycles).
struct I2sAvx2 {
  template <int R, int TT>
  static void run(const GemmArgs& g, int64_t n, int64_t rs, int64_t t) {
    const int64_t rb = g.K / 4, nblk = g.K / 128;
    const uint8_t* w = g.w + n * rb;
    const int8_t* x[TT];
    for (int i = 0; i < TT; ++i) x[i] = reinterpret_cast<const int8_t*>(g.x + (t + i) * g.ldx);
    const __m256i m3 = _mm256_set1_epi8(3), ones = _mm256_set1_epi16(1);
    __m256i acc[R][TT];
    for (int r = 0; r < R; ++r)
      for (int i = 0; i < TT; ++i) acc[r][i] = _mm256_setzero_si256();
    for (int64_t b = 0; b < nblk; ++b) {
      for (int r = 0; r < R; ++r) {
        const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + r * rs * rb + 32 * b));
        // GEMV streams weights from memory: fetch ahead (distance measured, as in i2s_avx512vnni.cpp).
        if (TT == 1) _mm_prefetch(reinterpret_cast<const char*>(w + r * rs * rb + 32 * b) + 4096, _MM_HINT_T0);
        __m256i c[4];
        for (int j = 0; j < 4; ++j) c[j] = _mm256_and_si256(_mm256_srli_epi16(wv, 6 - 2 * j), m3);
        for (int i = 0; i < TT; ++i) {
          const __m256i* xv = reinterpret_cast<const __m256i*>(x[i] + 128 * b);
          __m256i s16 = _mm256_maddubs_epi16(c[0], _mm256_loadu_si256(xv));
          for (int j = 1; j < 4; ++j) s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(c[j], _mm256_loadu_si256(xv + j)));
          acc[r][i] = _mm256_add_epi32(acc[r][i], _mm256_madd_epi16(s16, ones));
        }
      }
    }
    for (int i = 0; i < TT; ++i) {
      int32_t* c = g.c + (t + i - g.t0) * int64_t(g.ldc) + (n - g.n0);
      for (int r = 0; r < R; ++r) c[r * rs] = hsum(acc[r][i]) - g.xsum[t + i];
    }
  }
};

}  // namespace

void i2s_gemm_avx2(const GemmArgs& g) {
  if (g.t1 - g.t0 == 1) TileWalker<I2sAvx2, 4, 1>::walk(g);
  else TileWalker<I2sAvx2, 1, 8>::walk(g);
}

}  // namespace detail
}  // namespace tb
