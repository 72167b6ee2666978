// Activation quantizer, AVX-512 path (the avx512vnni one: it sums the codes with vpdpbusd); bit-identical to
// quantize_row_scalar, as the AVX2 one: cvtps_epi32 rounds with MXCSR's default mode (nearest, ties to even) like
// nearbyint; packs_epi32/packs_epi16 saturate, which is the clamp to [-128, 127]; the maximum of |x| is the same
// in any order.
// Against the AVX2 quantizer that served this path before: half the instructions per float in both passes, and
// four chains for the maximum (its latency bound the first pass).
// Builtins rather than <cmath>: no inline library function compiled with AVX-512 may reach scalar code.
#include <immintrin.h>

#include <cfloat>

#include "kernels/quantize_tail.h"
#include "kernels/variants.h"

namespace tb {
namespace detail {

int64_t quantize_row_avx512(const float* x, int64_t K, int8_t* q, float* a_out, int32_t* sum_out) {
  const __m512 fmax = _mm512_set1_ps(FLT_MAX);
  __m512 m0 = _mm512_setzero_ps(), m1 = m0, m2 = m0, m3 = m0;
  __mmask16 bad = 0;
  int64_t k = 0;
  for (; k + 64 <= K; k += 64) {
    const __m512 v0 = _mm512_abs_ps(_mm512_loadu_ps(x + k)), v1 = _mm512_abs_ps(_mm512_loadu_ps(x + k + 16));
    const __m512 v2 = _mm512_abs_ps(_mm512_loadu_ps(x + k + 32)), v3 = _mm512_abs_ps(_mm512_loadu_ps(x + k + 48));
    // > FLT_MAX or NaN (unordered): Inf and NaN are found here, then located below
    bad |= __mmask16(_mm512_cmp_ps_mask(v0, fmax, _CMP_NLE_UQ) | _mm512_cmp_ps_mask(v1, fmax, _CMP_NLE_UQ) |
                     _mm512_cmp_ps_mask(v2, fmax, _CMP_NLE_UQ) | _mm512_cmp_ps_mask(v3, fmax, _CMP_NLE_UQ));
    m0 = _mm512_max_ps(m0, v0);
    m1 = _mm512_max_ps(m1, v1);
    m2 = _mm512_max_ps(m2, v2);
    m3 = _mm512_max_ps(m3, v3);
  }
  for (; k + 16 <= K; k += 16) {
    const __m512 v = _mm512_abs_ps(_mm512_loadu_ps(x + k));
    bad |= _mm512_cmp_ps_mask(v, fmax, _CMP_NLE_UQ);
    m0 = _mm512_max_ps(m0, v);
  }
  if (bad) {
    for (int64_t i = 0; i < k; ++i)
      if (!(__builtin_fabsf(x[i]) <= FLT_MAX)) return i;
  }
  float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3)));
  float a;
  if (const int64_t at = quantize_scale(x, k, K, amax, &a); at >= 0) return at;
  const __m512 va = _mm512_set1_ps(a);
  __m512i vsum = _mm512_setzero_si512();
  const __m512i ones8 = _mm512_set1_epi8(1);
  // packs work within 128-bit lanes: lane L of the packed bytes holds dwords (i0, i1, i2, i3) of 4 floats each,
  // from float 4L of each input; dword 4L + j of that goes to dword 4j + L.
  const __m512i perm = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  k = 0;
  for (; k + 64 <= K; k += 64) {
    const __m512i i0 = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + k), va));
    const __m512i i1 = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + k + 16), va));
    const __m512i i2 = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + k + 32), va));
    const __m512i i3 = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + k + 48), va));
    const __m512i b = _mm512_permutexvar_epi32(perm, _mm512_packs_epi16(_mm512_packs_epi32(i0, i1), _mm512_packs_epi32(i2, i3)));
    vsum = _mm512_dpbusd_epi32(vsum, ones8, b);  // 1 (unsigned) x q (signed), 4 to a dword
    _mm512_storeu_si512(q + k, b);
  }
  for (; k + 16 <= K; k += 16) {
    const __m128i b = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + k), va)));
    vsum = _mm512_add_epi32(vsum, _mm512_cvtepi8_epi32(b));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + k), b);
  }
  int32_t s = _mm512_reduce_add_epi32(vsum);
  s = quantize_tail(x, k, K, a, q, s);
  *a_out = a;
  *sum_out = s;
  return -1;
}

}  // namespace detail
}  // namespace tb
