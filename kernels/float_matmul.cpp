#include "kernels/float_matmul.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu_features.h"

namespace tb {

uint16_t fp32_to_fp16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) return uint16_t(sign | (absx > 0x7f800000u ? 0x7e00u : 0x7c00u));  // NaN / inf
  if (absx >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // rounds to >= 65520: inf
  if (absx < 0x38800000u) {  // below the smallest normal half (2^-14): subnormal half or zero
    if (absx < 0x33000000u) return uint16_t(sign);  // at most half of the smallest subnormal (2^-25): 0
    const uint32_t e = absx >> 23, m = (absx & 0x7fffffu) | 0x800000u;
    const int shift = int(126 - e);  // m * 2^(e-150) in units of 2^-24 is m >> (126 - e)
    uint32_t q = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1))) ++q;
    return uint16_t(sign | q);
  }
  // Normal: rebias exponent (127 -> 15), round the 13 dropped bits to nearest even.
  uint32_t h = ((absx - 0x38000000u) >> 13);
  const uint32_t rem = absx & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) ++h;
  return uint16_t(sign | h);
}

float fp16_to_fp32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu, x;
  if (e == 0) {
    if (m == 0) x = sign;
    else {  // subnormal: normalise
      e = 113;
      while (!(m & 0x400u)) { m <<= 1; --e; }
      x = sign | (e << 23) | ((m & 0x3ffu) << 13);
    }
  } else if (e == 31) {
    x = sign | 0x7f800000u | (m << 13);
  } else {
    x = sign | ((e + 112) << 23) | (m << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

namespace detail {
void dot_rows_f32_scalar(const float* W, int64_t K, const float* x, int64_t n0, int64_t n1, float* y) {
  for (int64_t n = n0; n < n1; ++n) {
    float s = 0.0f;
    for (int64_t k = 0; k < K; ++k) s += W[n * K + k] * x[k];
    y[n] = s;
  }
}
void dot_rows_f16_scalar(const uint16_t* W, int64_t K, const float* x, int64_t n0, int64_t n1, float* y) {
  for (int64_t n = n0; n < n1; ++n) {
    float s = 0.0f;
    for (int64_t k = 0; k < K; ++k) s += fp16_to_fp32(W[n * K + k]) * x[k];
    y[n] = s;
  }
}
void dot_rows_i8_scalar(const int8_t* W, int64_t K, const int8_t* q, int64_t n0, int64_t n1, int32_t* acc) {
  for (int64_t n = n0; n < n1; ++n) {
    int32_t s = 0;
    for (int64_t k = 0; k < K; ++k) s += int32_t(W[n * K + k]) * q[k];
    acc[n - n0] = s;
  }
}
}  // namespace detail

namespace {
template <class Wt, class Fn>
void run_rows(const Wt* W, int64_t N, int64_t K, const float* X, int64_t T, float* Y, int threads, Fn fn) {
  const int nt = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel num_threads(nt)
  {
    const int id = omp_get_thread_num(), n = omp_get_num_threads();
    const int64_t per = (N + n - 1) / n, r0 = std::min<int64_t>(N, per * id), r1 = std::min<int64_t>(N, r0 + per);
    // Several tokens: 32-row blocks stay in L2 while every token passes over them (a blocked GEMM,
    // not T separate GEMVs). Row results do not depend on the blocking.
    const int64_t rb = T == 1 ? r1 - r0 : 32;
    for (int64_t b = r0; b < r1; b += rb)
      for (int64_t t = 0; t < T; ++t) fn(W, K, X + t * K, b, std::min(r1, b + rb), Y + t * N);
  }
}
}  // namespace

void matmul_f32w(const float* W, int64_t N, int64_t K, const float* X, int64_t T, float* Y, int threads) {
  auto fn = &detail::dot_rows_f32_scalar;
#ifdef TB_HAVE_X86_KERNELS
  if (allowed_isas() & (uint32_t(Isa::avx2) | uint32_t(Isa::avx512vnni))) fn = &detail::dot_rows_f32_avx2;
#endif
#ifdef TB_HAVE_NEON_KERNELS
  if (allowed_isas() & uint32_t(Isa::neon)) fn = &detail::dot_rows_f32_neon;
#endif
  run_rows(W, N, K, X, T, Y, threads, fn);
}

void matmul_f16w(const uint16_t* W, int64_t N, int64_t K, const float* X, int64_t T, float* Y, int threads) {
  auto fn = &detail::dot_rows_f16_scalar;
#ifdef TB_HAVE_X86_KERNELS
  if (allowed_isas() & (uint32_t(Isa::avx2) | uint32_t(Isa::avx512vnni))) fn = &detail::dot_rows_f16_avx2;
  if (allowed_isas() & uint32_t(Isa::avx512vnni)) fn = &detail::dot_rows_f16_avx512;  // the widest path allowed
#endif
#ifdef TB_HAVE_NEON_KERNELS
  if (allowed_isas() & uint32_t(Isa::neon)) fn = &detail::dot_rows_f16_neon;
#endif
  run_rows(W, N, K, X, T, Y, threads, fn);
}

}  // namespace tb

namespace tb {
void matmul_i8rows(const int8_t* W, const float* row_scale, int64_t N, int64_t K, const int8_t* q, float a, float* y,
                   int threads) {
  auto fn = &detail::dot_rows_i8_scalar;
#ifdef TB_HAVE_X86_KERNELS
  if (allowed_isas() & (uint32_t(Isa::avx2) | uint32_t(Isa::avx512vnni))) fn = &detail::dot_rows_i8_avx2;
  if (allowed_isas() & uint32_t(Isa::avx512vnni)) fn = &detail::dot_rows_i8_avx512vnni;
#endif
#ifdef TB_HAVE_NEON_KERNELS
  if (allowed_isas() & uint32_t(Isa::neon)) fn = &detail::dot_rows_i8_neon;
#endif
  const int nt = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel num_threads(nt)
  {
    const int id = omp_get_thread_num(), n = omp_get_num_threads();
    const int64_t per = (N + n - 1) / n, r0 = std::min<int64_t>(N, per * id), r1 = std::min<int64_t>(N, r0 + per);
    int32_t acc[256];
    for (int64_t b = r0; b < r1; b += 256) {
      const int64_t e = std::min(r1, b + 256);
      fn(W, K, q, b, e, acc);
      for (int64_t i = b; i < e; ++i) y[i] = float(acc[i - b]) / a * row_scale[i];
    }
  }
}
}  // namespace tb
