// Formats int8_ref (the oracle's plain storage) and int8 (the "naive" 8-bit baseline), and their
// scalar kernels.
// packed int8_ref: N rows x K int8, row-major, nothing else.
// packed int8:     N rows x K int8, row-major; then, at offset round_up(N*K, 64), N int32 row sums
//                  (sum_k w[n][k]), which the VNNI path needs for its unsigned-activation offset.
#include <cstring>
#include <string>

#include "kernels/kernel.h"
#include "kernels/variants.h"

namespace tb {
namespace detail {
namespace {

std::string any_shape(int64_t, int64_t) { return ""; }
size_t ref_bytes(int64_t N, int64_t K) { return size_t(N * K); }
void ref_pack(const int8_t* w, int64_t N, int64_t K, float, uint8_t* out) { std::memcpy(out, w, size_t(N * K)); }
void ref_unpack(const uint8_t* p, int64_t N, int64_t K, int8_t* w) { std::memcpy(w, p, size_t(N * K)); }

size_t rowsum_offset(int64_t N, int64_t K) { return size_t((N * K + 63) / 64 * 64); }
size_t int8_bytes(int64_t N, int64_t K) { return rowsum_offset(N, K) + size_t(N) * 4; }
void int8_pack(const int8_t* w, int64_t N, int64_t K, float, uint8_t* out) {
  std::memcpy(out, w, size_t(N * K));
  int32_t* sums = reinterpret_cast<int32_t*>(out + rowsum_offset(N, K));
  for (int64_t n = 0; n < N; ++n) {
    int32_t s = 0;
    for (int64_t k = 0; k < K; ++k) s += w[n * K + k];
    sums[n] = s;
  }
}

}  // namespace

const Format kFormatInt8Ref = {"int8_ref", "oracle: plain int8 weights, scalar triple loop, obviously correct",
                               8.0, "any shape", &any_shape, &ref_bytes, &ref_pack, &ref_unpack,
                               /*oracle=*/true};
const Format kFormatInt8 = {"int8", "naive baseline: one int8 per weight (+ int32 row sums)", 8.0, "any shape",
                            &any_shape, &int8_bytes, &int8_pack, &ref_unpack};

// The oracle. Deliberately the plainest possible loop.
void int8_ref_gemm_scalar(const GemmArgs& g) {
  const int8_t* W = reinterpret_cast<const int8_t*>(g.w);
  for (int64_t t = g.t0; t < g.t1; ++t) {
    const int8_t* q = reinterpret_cast<const int8_t*>(g.x + t * g.ldx);
    for (int64_t n = g.n0; n < g.n1; ++n) {
      int32_t acc = 0;
      for (int64_t k = 0; k < g.K; ++k) acc += int32_t(W[n * g.K + k]) * int32_t(q[k]);
      g.c[(t - g.t0) * int64_t(g.ldc) + (n - g.n0)] = acc;
    }
  }
}

// Portable int8 path: four rows share each activation load.
void int8_gemm_scalar(const GemmArgs& g) {
  const int8_t* W = reinterpret_cast<const int8_t*>(g.w);
  const int64_t K = g.K;
  for (int64_t t = g.t0; t < g.t1; ++t) {
    const int8_t* q = reinterpret_cast<const int8_t*>(g.x + t * g.ldx);
    int32_t* c = g.c + (t - g.t0) * int64_t(g.ldc) - g.n0;
    int64_t n = g.n0;
    for (; n + 4 <= g.n1; n += 4) {
      const int8_t *w0 = W + n * K, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;
      int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      for (int64_t k = 0; k < K; ++k) {
        const int32_t x = q[k];
        a0 += w0[k] * x; a1 += w1[k] * x; a2 += w2[k] * x; a3 += w3[k] * x;
      }
      c[n] = a0; c[n + 1] = a1; c[n + 2] = a2; c[n + 3] = a3;
    }
    for (; n < g.n1; ++n) {
      int32_t a0 = 0;
      for (int64_t k = 0; k < K; ++k) a0 += W[n * K + k] * int32_t(q[k]);
      c[n] = a0;
    }
  }
}

}  // namespace detail
}  // namespace tb
