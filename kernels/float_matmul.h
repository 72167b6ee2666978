// Float-weight matmuls for what is not ternary: the LM head (fp32 or fp16 weights) and float
// baselines. Y[t][n] = sum_k W[n][k] * X[t][k]. Not bit-exact across paths (float sums in a
// different order); the tests bound the difference.
#pragma once
#include <cstdint>

#include "base/fp16.h"  // fp16_to_fp32, fp32_to_fp16: the weights of matmul_f16w

namespace tb {

void matmul_f32w(const float* W, int64_t N, int64_t K, const float* X, int64_t T, float* Y, int threads);
void matmul_f16w(const uint16_t* W, int64_t N, int64_t K, const float* X, int64_t T, float* Y, int threads);

// int8 weights with one fp32 scale per row (the int8 LM head), int8 activations of one token:
// y[n] = sum_k W[n][k] * q[k] * row_scale[n] / a. W in [-127, 127].
void matmul_i8rows(const int8_t* W, const float* row_scale, int64_t N, int64_t K, const int8_t* q, float a, float* y,
                   int threads);

// How each thread walks its rows in a one-token GEMV of matmul_f32w, matmul_f16w and matmul_i8rows (the LM head,
// the largest read of a decode step): 4 (the default) reads four runs of rows side by side, 1 reads the rows in
// order as one sequential stream. Which reads memory faster depends on the CPU (a Zen 4 VM: one stream; the
// read probe measures both, see harness/bandwidth.h), so the harness sets what its probe found faster. No result
// changes: every row's sum is computed in the same order either way. Throws tb::Error for any other value.
void set_row_streams(int streams);
int row_streams();

namespace detail {
// acc[n - n0] = exact int32 dot of row n with q, for n in [n0, n1).
void dot_rows_i8_scalar(const int8_t* W, int64_t K, const int8_t* q, int64_t n0, int64_t n1, int32_t* acc);
void dot_rows_i8_avx2(const int8_t* W, int64_t K, const int8_t* q, int64_t n0, int64_t n1, int32_t* acc);
void dot_rows_i8_avx512vnni(const int8_t* W, int64_t K, const int8_t* q, int64_t n0, int64_t n1, int32_t* acc);
void dot_rows_i8_neon(const int8_t* W, int64_t K, const int8_t* q, int64_t n0, int64_t n1, int32_t* acc);
void dot_rows_f16_neon(const uint16_t* W, int64_t K, const float* x, int64_t n0, int64_t n1, float* y);
void dot_rows_f32_neon(const float* W, int64_t K, const float* x, int64_t n0, int64_t n1, float* y);
// Rows [n0, n1) for one token x. The AVX2 path needs AVX2 + FMA + F16C.
void dot_rows_f32_scalar(const float* W, int64_t K, const float* x, int64_t n0, int64_t n1, float* y);
void dot_rows_f16_scalar(const uint16_t* W, int64_t K, const float* x, int64_t n0, int64_t n1, float* y);
void dot_rows_f32_avx2(const float* W, int64_t K, const float* x, int64_t n0, int64_t n1, float* y);
void dot_rows_f16_avx2(const uint16_t* W, int64_t K, const float* x, int64_t n0, int64_t n1, float* y);
void dot_rows_f16_avx512(const uint16_t* W, int64_t K, const float* x, int64_t n0, int64_t n1, float* y);
}  // namespace detail

}  // namespace tb
