// Activation quantizer, AVX2 path; bit-identical to quantize_row_scalar.
// cvtps_epi32 rounds with MXCSR's default mode (nearest, ties to even) like nearbyint in the scalar
// path; packs_epi32/packs_epi16 saturate, which is the clamp to [-128, 127].
// Builtins rather than <cmath>: no inline library function compiled with AVX2 may reach scalar code.
#include <immintrin.h>

#include <cfloat>

#include "kernels/quantize_tail.h"
#include "kernels/variants.h"

namespace tb {
namespace detail {

int64_t quantize_row_avx2(const float* x, int64_t K, int8_t* q, float* a_out, int32_t* sum_out) {
  const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256 fmax = _mm256_set1_ps(FLT_MAX);
  __m256 vmax = _mm256_setzero_ps();
  __m256 bad = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= K; k += 8) {
    const __m256 v = _mm256_and_ps(_mm256_loadu_ps(x + k), absmask);
    bad = _mm256_or_ps(bad, _mm256_cmp_ps(v, fmax, _CMP_NLE_UQ));  // > FLT_MAX or NaN
    vmax = _mm256_max_ps(vmax, v);
  }
  float amax;
  {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    amax = _mm_cvtss_f32(m);
  }
  if (_mm256_movemask_ps(bad)) {
    for (int64_t i = 0; i < k; ++i)
      if (!(__builtin_fabsf(x[i]) <= FLT_MAX)) return i;
  }
  float a;
  if (const int64_t at = quantize_scale(x, k, K, amax, &a); at >= 0) return at;
  const __m256 va = _mm256_set1_ps(a);
  __m256i vsum = _mm256_setzero_si256();
  const __m256i ones16 = _mm256_set1_epi16(1);
  const __m256i ones8 = _mm256_set1_epi8(1);
  const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  k = 0;
  for (; k + 32 <= K; k += 32) {
    __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + k), va));
    __m256i i1 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + k + 8), va));
    __m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + k + 16), va));
    __m256i i3 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + k + 24), va));
    const __m256i s01 = _mm256_packs_epi32(i0, i1);  // lanes interleaved per 128-bit half
    const __m256i s23 = _mm256_packs_epi32(i2, i3);
    __m256i b = _mm256_packs_epi16(s01, s23);
    b = _mm256_permutevar8x32_epi32(b, perm);  // undo the per-half interleave
    // Sum of the stored int8 values: 1 (unsigned) x q (signed) pairs, then pairs of int16 to int32.
    vsum = _mm256_add_epi32(vsum, _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, b), ones16));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + k), b);
  }
  __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(vsum), _mm256_extracti128_si256(vsum, 1));
  s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4e));
  s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xb1));
  int32_t s = _mm_cvtsi128_si32(s4);
  s = quantize_tail(x, k, K, a, q, s);
  *a_out = a;
  *sum_out = s;
  return -1;
}

}  // namespace detail
}  // namespace tb
