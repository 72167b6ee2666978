// The quantized model runner: BitNet b1.58 (and the earlier b1.58 / ternary LLaMA families) with every
// linear layer run by one registered kernel. Prefill of T tokens goes through GEMM, decode through
// GEMV; K and V are cached in fp32; OpenMP threads. The LM head is a float matmul (fp32 or fp16).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/kernel.h"
#include "model/linear_path.h"
#include "model/memory.h"
#include "model/probe.h"
#include "model/weights.h"

namespace tb {

enum class HeadPrecision { fp32, fp16, int8 };
const char* head_precision_name(HeadPrecision p);
HeadPrecision parse_head_precision(const std::string& s);  // "fp32", "fp16", "int8"; throws tb::Error

struct RunnerOptions {
  // What runs the linear layers: resolve_linear("i2s" | "i2s__avx2" | "fp16" | "fp32"), resolved once by the
  // caller (the sweep's plan does, once per kernel). Required: a default LinearPath names no kernel.
  LinearPath path;
  HeadPrecision head = HeadPrecision::fp16;
  int64_t context = 0;            // KV cache length; 0: the model's context
};

// Bytes a runner will allocate, by part (for memory figures and the check before allocating).
struct MemoryPlan {
  size_t linear_weights = 0;  // packed ternary layers
  size_t norms = 0;
  size_t embedding = 0;       // token_embd (and output.weight when untied), stored at the head precision
  size_t kv_cache = 0;
  size_t activations = 0;     // scratch for the largest prefill batch planned
  size_t total() const { return linear_weights + norms + embedding + kv_cache + activations; }
};
MemoryPlan plan_memory(const ModelConfig& cfg, const RunnerOptions& o, int64_t max_batch);


class Runner {
 public:
  // Packs every linear layer (multi-threaded), checking memory first.
  Runner(const WeightSource& src, const RunnerOptions& opt, int64_t max_batch = 512);
  ~Runner();

  const ModelConfig& config() const;
  const Kernel& kernel() const;   // throws for the float baselines
  std::string kernel_name() const;  // a variant name, or "fp16" / "fp32"
  const LinearPath& linear_path() const;
  const MemoryPlan& memory() const;
  double pack_seconds() const;
  // The threads of forward() (packing uses OpenMP's default): the one place a thread count enters the runner.
  void set_threads(int threads);  // <= 0: OpenMP's default (also the count before the first call)
  int threads() const;

  void reset();              // empty the KV cache
  int64_t position() const;  // tokens in the cache
  // Runs tokens through the model at the next positions; writes the logits of the last token
  // (vocab floats) when logits != nullptr. Throws tb::Error when the context would overflow.
  void forward(const int32_t* tokens, int64_t T, float* logits);

  // Time spent in each part since construction or the last reset of the timers (seconds).
  // linear_by_shape splits linear by the block's matmuls: q+k+v (one quantized input), o, gate+up, down.
  // parallel_regions counts the OpenMP fork-joins (one per group of matmuls sharing an input: qkv, o, gate+up,
  // down; one per matmul for the float baselines; one per layer's attention, per head, and with
  // several tokens and threads per norm, residual add, RoPE, FFN activation, activation quantization and
  // preparation): times the cost of one empty fork-join it estimates what threading costs
  // (harness: time_split.threading_est).
  // The work done, counted where it is done (the harness's ceilings and GMAC/s follow what the runner ran, e.g.
  // the last layer past its attention for the logits token only): linear_macs, T x N x K of every matmul;
  // lookup_macs, those of them in a GEMM's lookup tiles (kernels: gemm_lookup_share; none for a lookup format,
  // whose every multiply-add is looked up); head_macs, vocab x hidden per logits computed.
  struct Timers {
    double linear = 0, attention = 0, norms_and_quant = 0, head = 0;
    double linear_by_shape[4] = {0, 0, 0, 0};
    int64_t parallel_regions = 0;
    int64_t linear_macs = 0, head_macs = 0;
    double lookup_macs = 0;
  };
  static constexpr const char* kLinearParts[4] = {"qkv", "o", "gate_up", "down"};
  const Timers& timers() const;
  void reset_timers();
  // Verification: report quantization points, linear outputs and the residual stream to p (model/probe.h),
  // which may rewrite the int8 codes. nullptr: none (the default).
  void set_probe(Probe* p);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tb
