#include "kernels/float_matmul.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "base/error.h"
#include "kernels/cpu_features.h"

namespace tb {

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
std::atomic<int> g_row_streams{4};

// One thread's rows [r0, r1) of a one-token GEMV: in one call (the row kernels walk four quarters side by side), or,
// with one stream, in calls of 3 rows, too few for a group of four, so each is read in order (3 rows of 2B4T's
// head are 15 KiB: one call per 15 KiB).
template <class Call>
void walk_rows(int64_t r0, int64_t r1, Call call) {
  if (g_row_streams.load(std::memory_order_relaxed) == 4) return call(r0, r1);
  for (int64_t b = r0; b < r1; b += 3) call(b, std::min(r1, b + 3));
}

template <class Wt, class Fn>
void run_rows(const Wt* W, int64_t N, int64_t K, const float* X, int64_t T, float* Y, int threads, Fn fn) {
  const int nt = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel num_threads(nt)
  {
    const int id = omp_get_thread_num(), n = omp_get_num_threads();
    const int64_t per = (N + n - 1) / n, r0 = std::min<int64_t>(N, per * id), r1 = std::min<int64_t>(N, r0 + per);
    if (T == 1) {
      walk_rows(r0, r1, [&](int64_t a, int64_t b) { fn(W, K, X, a, b, Y); });
    } else {
      // Several tokens: 32-row blocks stay in L2 while every token passes over them (a blocked GEMM,
      // not T separate GEMVs). Row results do not depend on the blocking.
      for (int64_t b = r0; b < r1; b += 32)
        for (int64_t t = 0; t < T; ++t) fn(W, K, X + t * K, b, std::min(r1, b + 32), Y + t * N);
    }
  }
}
}  // namespace

void set_row_streams(int streams) {
  if (streams != 1 && streams != 4)
    throw Error("row streams must be 1 or 4 (one sequential stream or four side by side), not " + std::to_string(streams));
  g_row_streams.store(streams, std::memory_order_relaxed);
}

int row_streams() { return g_row_streams.load(std::memory_order_relaxed); }

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
    // The thread's whole range walked as walk_rows says: four long runs (blocks of 256 rows restarted the streams
    // every 64 rows), or one stream in order.
    static thread_local std::vector<int32_t> acc;
    acc.resize(size_t(std::max<int64_t>(r1 - r0, 0)));
    if (r1 > r0) walk_rows(r0, r1, [&](int64_t a, int64_t b) { fn(W, K, q, a, b, acc.data() + (a - r0)); });
    for (int64_t i = r0; i < r1; ++i) y[i] = float(acc[size_t(i - r0)]) / a * row_scale[i];
  }
}
}  // namespace tb
