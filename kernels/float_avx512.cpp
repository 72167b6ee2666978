// Float-weight dot products on AVX-512F (fp16 weights widened with vcvtph2ps on 512 bits). The LM head
// GEMV is a pure stream (0.66 GB per token for 2B4T at fp16): four rows at a time, two 16-lane
// accumulators each (eight independent FMA chains), one prefetch per row per 64-byte line.
#include <immintrin.h>

#include "kernels/float_matmul.h"

namespace tb {
namespace detail {
namespace {

inline __m512 load16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// One row's 32-wide steps; the same order for a row inside a group of four and a leftover row, so a
// row's result does not depend on where a thread's range starts (logits identical for any thread count).
inline float finish(__m512 a, __m512 b, const uint16_t* w, const float* x, int64_t K32, int64_t K) {
  float s = _mm512_reduce_add_ps(_mm512_add_ps(a, b));
  for (int64_t k = K32; k < K; ++k) s += _cvtsh_ss(w[k]) * x[k];
  return s;
}

}  // namespace

void dot_rows_f16_avx512(const uint16_t* W, int64_t K, const float* x, int64_t n0, int64_t n1, float* y) {
  const int64_t K32 = K / 32 * 32;
  // Four rows at a time, one from each quarter of the range: four long sequential streams, as the read probe
  // reads (four adjacent rows made one stream that restarted every 4 rows). Each row's sum is computed alone
  // in the same order wherever it sits, so the grouping changes no result; which is why the caller may hand
  // over 3 rows at a time instead, read in order as one stream (set_row_streams, where that reads faster).
  const int64_t q = (n1 - n0) / 4;
  for (int64_t j = 0; j < q; ++j) {
    const uint16_t* w[4];
    for (int r = 0; r < 4; ++r) w[r] = W + (n0 + r * q + j) * K;
    __m512 a[4], b[4];
    for (int r = 0; r < 4; ++r) a[r] = b[r] = _mm512_setzero_ps();
    for (int64_t k = 0; k < K32; k += 32) {
      const __m512 x0 = _mm512_loadu_ps(x + k), x1 = _mm512_loadu_ps(x + k + 16);
      for (int r = 0; r < 4; ++r) {
        _mm_prefetch(reinterpret_cast<const char*>(w[r] + k) + 2048, _MM_HINT_T0);
        a[r] = _mm512_fmadd_ps(load16(w[r] + k), x0, a[r]);
        b[r] = _mm512_fmadd_ps(load16(w[r] + k + 16), x1, b[r]);
      }
    }
    for (int r = 0; r < 4; ++r) y[n0 + r * q + j] = finish(a[r], b[r], w[r], x, K32, K);
  }
  for (int64_t n = n0 + 4 * q; n < n1; ++n) {
    const uint16_t* wr = W + n * K;
    __m512 a = _mm512_setzero_ps(), b = a;
    for (int64_t k = 0; k < K32; k += 32) {
      a = _mm512_fmadd_ps(load16(wr + k), _mm512_loadu_ps(x + k), a);
      b = _mm512_fmadd_ps(load16(wr + k + 16), _mm512_loadu_ps(x + k + 16), b);
    }
    y[n] = finish(a, b, wr, x, K32, K);
  }
}

// int8 rows x int8 activations on AVX-512 VNNI (the int8 LM head): vpdpbusd takes |q| as the unsigned operand
// and w with q's sign (a masked negation: AVX-512 has no vpsignb) as the signed one; groups of four products
// go straight into int32 lanes. Four rows at a time, each fetched ahead. Exact int32 sums.
void dot_rows_i8_avx512vnni(const int8_t* W, int64_t K, const int8_t* q, int64_t n0, int64_t n1, int32_t* acc) {
  const int64_t K64 = K / 64 * 64;
  const __m512i zero = _mm512_setzero_si512();
  auto step = [&](__m512i a, const int8_t* w, int64_t k, __m512i ax, __mmask64 neg) {
    const __m512i wv = _mm512_loadu_si512(w + k);
    return _mm512_dpbusd_epi32(a, ax, _mm512_mask_sub_epi8(wv, neg, zero, wv));
  };
  auto tail = [&](const int8_t* w, int32_t s) {
    for (int64_t k = K64; k < K; ++k) s += int32_t(w[k]) * q[k];
    return s;
  };
  // Four rows at a time, one from each quarter of the range: four long streams (as the fp16 rows).
  const int64_t qr = (n1 - n0) / 4;
  for (int64_t j = 0; j < qr; ++j) {
    const int8_t* w[4];
    for (int r = 0; r < 4; ++r) w[r] = W + (n0 + r * qr + j) * K;
    __m512i a[4] = {zero, zero, zero, zero};
    for (int64_t k = 0; k < K64; k += 64) {
      const __m512i x = _mm512_loadu_si512(q + k), ax = _mm512_abs_epi8(x);
      const __mmask64 neg = _mm512_movepi8_mask(x);
      for (int r = 0; r < 4; ++r) {
        _mm_prefetch(reinterpret_cast<const char*>(w[r] + k) + 2048, _MM_HINT_T0);
        a[r] = step(a[r], w[r], k, ax, neg);
      }
    }
    for (int r = 0; r < 4; ++r) acc[r * qr + j] = tail(w[r], _mm512_reduce_add_epi32(a[r]));
  }
  for (int64_t n = n0 + 4 * qr; n < n1; ++n) {
    const int8_t* w = W + n * K;
    __m512i a = zero;
    for (int64_t k = 0; k < K64; k += 64) {
      const __m512i x = _mm512_loadu_si512(q + k);
      a = step(a, w, k, _mm512_abs_epi8(x), _mm512_movepi8_mask(x));
    }
    acc[n - n0] = tail(w, _mm512_reduce_add_epi32(a));
  }
}

}  // namespace detail
}  // namespace tb
