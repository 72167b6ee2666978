// Float-weight dot products on AVX2 + FMA (+ F16C for fp16 weights). Four rows at a time, each row a
// separate stream (the LM head GEMV reads 0.3-1.3 GB per token: it is a bandwidth problem).
#include <immintrin.h>

#include "kernels/float_matmul.h"

namespace tb {
namespace detail {
namespace {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 load8(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
inline float load1(const float* p) { return *p; }
inline float load1(const uint16_t* p) { return _cvtsh_ss(*p); }

template <class Wt>
void dot_rows(const Wt* W, int64_t K, const float* x, int64_t n0, int64_t n1, float* y) {
  const int64_t K8 = K / 8 * 8;
  int64_t n = n0;
  for (; n + 4 <= n1; n += 4) {
    const Wt* w0 = W + n * K;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t k = 0; k < K8; k += 8) {
      const __m256 xv = _mm256_loadu_ps(x + k);
      a0 = _mm256_fmadd_ps(load8(w0 + k), xv, a0);
      a1 = _mm256_fmadd_ps(load8(w0 + K + k), xv, a1);
      a2 = _mm256_fmadd_ps(load8(w0 + 2 * K + k), xv, a2);
      a3 = _mm256_fmadd_ps(load8(w0 + 3 * K + k), xv, a3);
    }
    float s[4] = {hsum(a0), hsum(a1), hsum(a2), hsum(a3)};
    for (int64_t k = K8; k < K; ++k)
      for (int r = 0; r < 4; ++r) s[r] += load1(w0 + r * K + k) * x[k];
    for (int r = 0; r < 4; ++r) y[n + r] = s[r];
  }
  for (; n < n1; ++n) {
    __m256 a = _mm256_setzero_ps();
    for (int64_t k = 0; k < K8; k += 8) a = _mm256_fmadd_ps(load8(W + n * K + k), _mm256_loadu_ps(x + k), a);
    float s = hsum(a);
    for (int64_t k = K8; k < K; ++k) s += load1(W + n * K + k) * x[k];
    y[n] = s;
  }
}

}  // namespace

void dot_rows_f32_avx2(const float* W, int64_t K, const float* x, int64_t n0, int64_t n1, float* y) {
  dot_rows(W, K, x, n0, n1, y);
}
void dot_rows_f16_avx2(const uint16_t* W, int64_t K, const float* x, int64_t n0, int64_t n1, float* y) {
  dot_rows(W, K, x, n0, n1, y);
}

}  // namespace detail
}  // namespace tb
