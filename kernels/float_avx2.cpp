// Float-weight dot products on AVX2 + FMA (+ F16C for fp16 weights). Four rows at a time, each row a
// separate stream (the LM head GEMV reads 0.3-1.3 GB per token: it is a bandwidth problem).
#include <immintrin.h>

#include "kernels/float_matmul.h"
#include "kernels/x86_avx2.h"

namespace tb {
namespace detail {
namespace {

inline float hsum(__m256 v) {  // float lanes (kernels/x86_avx2.h has the int32 one)
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 load8(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
inline float load1(const float* p) { return *p; }
inline float load1(const uint16_t* p) { return _cvtsh_ss(*p); }

// Four rows, two accumulators each: eight independent FMA chains hide the FMA latency (four chains
// left the fp16 LM head at half the memory bandwidth). The four rows come from the four quarters of the range:
// four long sequential streams, as the read probe reads (four adjacent rows made one stream that restarted every
// four rows; on Zen 5 the fp16 head took 25% less time so).
template <class Wt>
void dot_rows(const Wt* W, int64_t K, const float* x, int64_t n0, int64_t n1, float* y) {
  const int64_t K16 = K / 16 * 16;
  const int64_t q = (n1 - n0) / 4;
  for (int64_t j = 0; j < q; ++j) {
    const Wt* w[4];
    for (int r = 0; r < 4; ++r) w[r] = W + (n0 + r * q + j) * K;
    __m256 a[4], b[4];
    for (int r = 0; r < 4; ++r) a[r] = b[r] = _mm256_setzero_ps();
    for (int64_t k = 0; k < K16; k += 16) {
      const __m256 x0 = _mm256_loadu_ps(x + k), x1 = _mm256_loadu_ps(x + k + 8);
      for (int r = 0; r < 4; ++r) {
        _mm_prefetch(reinterpret_cast<const char*>(w[r] + k) + 1024, _MM_HINT_T0);
        a[r] = _mm256_fmadd_ps(load8(w[r] + k), x0, a[r]);
        b[r] = _mm256_fmadd_ps(load8(w[r] + k + 8), x1, b[r]);
      }
    }
    float s[4];
    for (int r = 0; r < 4; ++r) s[r] = hsum(_mm256_add_ps(a[r], b[r]));
    for (int64_t k = K16; k < K; ++k)
      for (int r = 0; r < 4; ++r) s[r] += load1(w[r] + k) * x[k];
    for (int r = 0; r < 4; ++r) y[n0 + r * q + j] = s[r];
  }
  // Leftover rows in exactly the same summation order as the groups of four, so a row's result does
  // not depend on where a thread's range starts (logits identical for any thread count).
  for (int64_t n = n0 + 4 * q; n < n1; ++n) {
    const Wt* wr = W + n * K;
    __m256 a = _mm256_setzero_ps(), b = a;
    for (int64_t k = 0; k < K16; k += 16) {
      a = _mm256_fmadd_ps(load8(wr + k), _mm256_loadu_ps(x + k), a);
      b = _mm256_fmadd_ps(load8(wr + k + 8), _mm256_loadu_ps(x + k + 8), b);
    }
    float s = hsum(_mm256_add_ps(a, b));
    for (int64_t k = K16; k < K; ++k) s += load1(wr + k) * x[k];
    y[n] = s;
  }
}

}  // namespace

// int8 rows (general int8 in [-127, 127]) x int8 activations: |q| (unsigned) times sign(w, q); int16
// pairs bounded by 2 * 128 * 127 < 32767, widened with madd. Exact int32 sums.
void dot_rows_i8_avx2(const int8_t* W, int64_t K, const int8_t* q, int64_t n0, int64_t n1, int32_t* acc) {
  const int64_t K32 = K / 32 * 32;
  const __m256i ones = _mm256_set1_epi16(1);
  auto tail = [&](const int8_t* w, int32_t s) {
    for (int64_t k = K32; k < K; ++k) s += int32_t(w[k]) * q[k];
    return s;
  };
  // Four rows at a time, one from each quarter of the range, each fetched ahead: four long streams (as the fp16
  // head; one row at a time left the int8 head at 0.6 of the read bandwidth). Integer sums: any grouping gives
  // the same result.
  const int64_t qr = (n1 - n0) / 4;
  for (int64_t j = 0; j < qr; ++j) {
    const int8_t* w[4];
    for (int r = 0; r < 4; ++r) w[r] = W + (n0 + r * qr + j) * K;
    __m256i a[4];
    for (int r = 0; r < 4; ++r) a[r] = _mm256_setzero_si256();
    for (int64_t k = 0; k < K32; k += 32) {
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + k)), ax = _mm256_abs_epi8(x);
      for (int r = 0; r < 4; ++r) {
        _mm_prefetch(reinterpret_cast<const char*>(w[r] + k) + 1024, _MM_HINT_T0);
        const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[r] + k));
        a[r] = _mm256_add_epi32(a[r], _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(wv, x)), ones));
      }
    }
    for (int r = 0; r < 4; ++r) acc[r * qr + j] = tail(w[r], hsum(a[r]));
  }
  for (int64_t n = n0 + 4 * qr; n < n1; ++n) {
    const int8_t* w = W + n * K;
    __m256i a = _mm256_setzero_si256();
    for (int64_t k = 0; k < K32; k += 32) {
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + k));
      const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + k));
      a = _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_abs_epi8(x), _mm256_sign_epi8(wv, x)), ones));
    }
    acc[n - n0] = tail(w, hsum(a));
  }
}

void dot_rows_f32_avx2(const float* W, int64_t K, const float* x, int64_t n0, int64_t n1, float* y) {
  dot_rows(W, K, x, n0, n1, y);
}
void dot_rows_f16_avx2(const uint16_t* W, int64_t K, const float* x, int64_t n0, int64_t n1, float* y) {
  dot_rows(W, K, x, n0, n1, y);
}

}  // namespace detail
}  // namespace tb
