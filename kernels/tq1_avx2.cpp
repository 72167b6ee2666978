// TQ1 on AVX2 (layout: see tq1_format.cpp). Per 32-byte group and row: one load, then for each of the five
// digits two signed compares give the code c in {0,1,2} and two byte additions move the next digit up.
// The compares are signed, so the bytes are kept offset by 128 (y = x ^ 0x80): x >= 86 is y > -43 and
// x >= 171 is y > 42, and y follows the same recurrence as x (3(x - 128) = 3x - 128 - 256 = 3x - 128 mod 256).
// The five maddubs(c, q) of a group are summed in int16 (each lane at most 5 x 2 x 2 x 128 = 2560) before
// one madd widens them to int32. Result = sum(c * q) - sum(q); the activations are zero-padded to whole
// groups, so a short last group's padding digits add nothing.
#include <immintrin.h>

#include "kernels/simd_tile.h"
#include "kernels/variants.h"
#include "kernels/x86_avx2.h"

namespace tb {
namespace detail {
namespace {

// The five codes of 32 bytes of a group.
inline __attribute__((always_inline)) void decode(const uint8_t* p, __m256i (&c)[5]) {
  const __m256i lo = _mm256_set1_epi8(-43), hi = _mm256_set1_epi8(42);
  __m256i y = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)), _mm256_set1_epi8(char(0x80)));
  for (int j = 0; j < 5; ++j) {
    // -c = the sum of the two compare masks (0 or -1 each).
    c[j] = _mm256_abs_epi8(_mm256_add_epi8(_mm256_cmpgt_epi8(y, lo), _mm256_cmpgt_epi8(y, hi)));
    if (j < 4) y = _mm256_add_epi8(y, _mm256_add_epi8(y, y));
  }
}

struct Tq1Avx2 {
  template <int R, int TT>
  static void run(const GemmArgs& g, int64_t n, int64_t rs, int64_t t) {
    const int64_t G = (g.K + 159) / 160, rb = 32 * G;
    const uint8_t* w = g.w + n * rb;
    const int8_t* x[TT];
    for (int i = 0; i < TT; ++i) x[i] = reinterpret_cast<const int8_t*>(g.x + (t + i) * g.ldx);
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc[R][TT];
    for (int r = 0; r < R; ++r)
      for (int i = 0; i < TT; ++i) acc[r][i] = _mm256_setzero_si256();
    for (int64_t gi = 0; gi < G; ++gi) {
      for (int r = 0; r < R; ++r) {
        const uint8_t* p = w + r * rs * rb + 32 * gi;
        // GEMV streams weights from memory: fetch ahead, as far as set_gemv_prefetch says (0: not at all).
        if (TT == 1 && g.prefetch) _mm_prefetch(reinterpret_cast<const char*>(p) + g.prefetch, _MM_HINT_T0);
        __m256i c[5];
        decode(p, c);
        for (int i = 0; i < TT; ++i) {
          const __m256i* xv = reinterpret_cast<const __m256i*>(x[i] + 160 * gi);
          __m256i s16 = _mm256_maddubs_epi16(c[0], _mm256_loadu_si256(xv));
          for (int j = 1; j < 5; ++j) s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(c[j], _mm256_loadu_si256(xv + j)));
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

void tq1_gemm_avx2(const GemmArgs& g) {
  if (g.t1 - g.t0 == 1) TileWalker<Tq1Avx2, 4, 1>::walk(g);
  else TileWalker<Tq1Avx2, 1, 8>::walk(g);
}

}  // namespace detail
}  // namespace tb
