// Activation quantizer, scalar path and dispatch (docs/reference.md §1.2). SIMD paths live in
// quantize_<isa>.cpp and must match this one bit for bit (tests/kernels/test_quantize.cpp).
#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <utility>

#include "kernels/kernel.h"
#include "kernels/quantize_tail.h"
#include "kernels/variants.h"

namespace tb {
namespace detail {

int64_t quantize_row_scalar(const float* x, int64_t K, int8_t* q, float* a_out, int32_t* sum_out) {
  float a;
  if (const int64_t at = quantize_scale(x, 0, K, 0.0f, &a); at >= 0) return at;  // Inf or NaN
  const int32_t s = quantize_tail(x, 0, K, a, q, 0);  // every value, rounded half to even
  *a_out = a;
  *sum_out = s;
  return -1;
}

}  // namespace detail

namespace {

using RowQuantizer = int64_t (*)(const float* x, int64_t K, int8_t* q, float* a, int32_t* sum);

RowQuantizer row_quantizer(Isa isa) {
  auto fn = &detail::quantize_row_scalar;
  switch (isa) {
    case Isa::scalar: break;
#ifdef TB_HAVE_X86_KERNELS
    case Isa::avx2: fn = &detail::quantize_row_avx2; break;
    case Isa::avx512vnni: fn = &detail::quantize_row_avx512; break;
#endif
#ifdef TB_HAVE_NEON_KERNELS
    case Isa::neon: fn = &detail::quantize_row_neon; break;
#endif
    default: throw Error(std::string("no activation quantizer for ISA path ") + isa_name(isa));
  }
  if (!cpu_supports(isa)) throw Error(std::string("this CPU cannot run the ") + isa_name(isa) + " quantizer");
  return fn;
}

// Tokens [0, T): row(t) gives token t's K floats, quantized into out; then after(t), when given, on its int8 row.
// Non-finite input throws, naming the token, the index and the value, and leaves out empty.
void quantize_rows(const std::function<const float*(int64_t)>& row, int64_t T, int64_t K, QuantizedActs& out,
                   RowQuantizer fn, int threads, const std::function<void(int64_t)>* after) {
  if (T < 0 || K <= 0) throw Error("quantize_activations: need T >= 0 and K > 0, got T=" + std::to_string(T) +
                                   " K=" + std::to_string(K));
  out.T = T;
  out.K = K;
  out.q.resize(size_t(T * K));
  out.a.resize(size_t(T));
  out.sum.resize(size_t(T));
  auto fail = [&](int64_t t, int64_t b, float v) {
    out = QuantizedActs();  // never leave half-quantized activations behind
    throw Error("activation token " + std::to_string(t) + " has a non-finite value (" + std::to_string(v) +
                ") at index " + std::to_string(b) + ": int8 quantization needs finite inputs");
  };
  if (threads <= 1 || T <= 1) {  // decode: one token, no fork and no allocation
    for (int64_t t = 0; t < T; ++t) {
      const float* x = row(t);
      if (const int64_t b = fn(x, K, out.q.data() + t * K, &out.a[t], &out.sum[t]); b >= 0) fail(t, b, x[b]);
      if (after) (*after)(t);
    }
    return;
  }
  // Tokens are independent: split over the threads (nothing may throw inside the parallel loop, so the
  // first bad token is found after it).
  std::vector<std::pair<int64_t, float>> bad(size_t(T), {-1, 0.0f});  // per token: the bad index and its value
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t t = 0; t < T; ++t) {
    const float* x = row(t);
    const int64_t b = fn(x, K, out.q.data() + t * K, &out.a[t], &out.sum[t]);
    if (b >= 0) bad[size_t(t)] = {b, x[b]};
    else if (after) (*after)(t);
  }
  for (int64_t t = 0; t < T; ++t)
    if (bad[size_t(t)].first >= 0) fail(t, bad[size_t(t)].first, bad[size_t(t)].second);
}

}  // namespace

void quantize_activations(const float* x, int64_t T, int64_t K, QuantizedActs& out, Isa isa, int threads) {
  const RowQuantizer fn = row_quantizer(isa);
  quantize_rows([x, K](int64_t t) { return x + t * K; }, T, K, out, fn, threads, nullptr);
}

void quantize_activations(const float* x, int64_t T, int64_t K, QuantizedActs& out, int threads) {
  quantize_activations(x, T, K, out, best_allowed_isa(), threads);
}

void quantize_and_prepare(const std::function<const float*(int64_t)>& row, int64_t T, int64_t K, const Kernel& k,
                          QuantizedActs& qa, PreparedActs& prep, int threads) {
  const RowQuantizer fn = row_quantizer(best_allowed_isa());
  const size_t ld = detail::begin_prepared(k, T, K, prep);
  const std::function<void(int64_t)> after = [&](int64_t t) {
    k.prepare(qa.q.data() + t * K, K, prep.buf.data() + size_t(t) * ld);
  };
  quantize_rows(row, T, K, qa, fn, threads, k.prepare ? &after : nullptr);
  detail::end_prepared(k, qa, ld, prep);
}

QuantizedActs acts_from_int8(const int8_t* q, int64_t T, int64_t K, const float* a) {
  QuantizedActs r;
  r.T = T;
  r.K = K;
  r.q.assign(q, q + T * K);
  r.a.assign(a, a + T);
  r.sum.assign(size_t(T), 0);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t k = 0; k < K; ++k) r.sum[t] += q[t * K + k];
  return r;
}

float quantize_weights_absmean(const float* W, int64_t N, int64_t K, int8_t* w) {
  if (N <= 0 || K <= 0)
    throw Error("quantize_weights_absmean: shape " + std::to_string(N) + "x" + std::to_string(K) + " is empty");
  double total = 0.0;
  for (int64_t i = 0; i < N * K; ++i) {
    if (!std::isfinite(W[i])) throw Error("weight " + std::to_string(i) + " is not finite");
    total += std::fabs(W[i]);
  }
  float s = static_cast<float>(total / double(N * K));
  if (s < 1e-5f) s = 1e-5f;
  for (int64_t i = 0; i < N * K; ++i) {
    float v = W[i] / s;
    v = v > 1.0f ? 1.0f : (v < -1.0f ? -1.0f : v);
    w[i] = static_cast<int8_t>(std::nearbyint(v));
  }
  return s;
}

}  // namespace tb
