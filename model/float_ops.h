// The runner's own float code, one token (row) at a time: RMSNorm, the FFN activations, RoPE, the residual add and
// attention of one query head or of the query heads that share a key/value head. The runner is built for the
// baseline ISA (SSE2 on x86-64); each operation here is also compiled for AVX2 and AVX-512 (target attributes,
// model/float_ops.cpp), and float_ops() hands out the widest copy the allowed paths permit (kernels/cpu_features.h:
// --isa / TERNBENCH_ISA narrow it).
//
// Every copy does the same IEEE operations in the same order: elementwise work is exact at any vector width, the
// dot products sum 16 fixed lanes in a fixed order, and no FMA is formed (-ffp-contract=off, no fma target). So
// the results, and the model's logits, are identical bit for bit on every path (tests/model/test_float_ops.cpp,
// tests/model/test_runner_paths.cpp).
#pragma once

#include <cstdint>

namespace tb {

struct FloatOps {
  const char* path;  // "baseline", "avx2" or "avx512"
  // y[i] = x[i] * r * w[i] with r = 1 / sqrt(sum(x^2) / n + eps). y may not overlap x or w.
  void (*rmsnorm)(const float* x, const float* w, int64_t n, float eps, float* y);
  // g[i] = relu(g[i])^2 * u[i] (BitNet b1.58's squared ReLU, gated).
  void (*relu2_mul)(float* g, const float* u, int64_t n);
  // g[i] = silu(g[i]) * u[i] = g / (1 + exp(-g)) * u (LLaMA-style; std::exp on every path).
  void (*silu_mul)(float* g, const float* u, int64_t n);
  // RoPE, NEOX form, on one token's nheads heads of d floats: dimension i turns with i + d/2 by the angle whose
  // cosine and sine are c[i] and s[i] (i < d/2).
  void (*rope)(float* x, const float* c, const float* s, int64_t nheads, int64_t d);
  // x[i] += a[i]
  void (*add)(float* x, const float* a, int64_t n);
  // One query head q over positions 0 .. n-1 of a cache (keys k, values v, one position every `stride` floats):
  // scores q.k * scale, softmax, and the weighted sum of values into o[0 .. d). sc holds n scores.
  void (*attend)(const float* q, const float* k, const float* v, int64_t stride, int64_t n, int64_t d, float scale,
                 float* sc, float* o);
  // attend for nq query heads that share the cache's key/value head (grouped-query attention): head h's query at
  // q + h * d, its output at o + h * d, its n scores at sc + h * n. Each head's o is exactly attend's; the heads
  // share the reads of the cache.
  void (*attend_heads)(const float* q, int64_t nq, const float* k, const float* v, int64_t stride, int64_t n,
                       int64_t d, float scale, float* sc, float* o);
};

// The widest copy the currently allowed ISA paths permit (asked anew on every call: the allowed paths may change
// between runs).
const FloatOps& float_ops();
// Every copy this binary holds and this CPU runs, baseline first (for tests).
int float_ops_paths(const FloatOps* out[3]);

}  // namespace tb
