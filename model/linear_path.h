// What runs a model's linear layers, resolved once from the name a user gives: a ternary kernel (a format,
// "i2s", on the best path allowed here, or a variant, "i2s__avx2") or a float baseline ("fp16", "fp32":
// weights dequantized to w * scale, activations not quantized). The CLI, the sweep and the runner all ask
// resolve_linear() once and pass its answer on (RunnerOptions::path); nothing else parses these names.
#pragma once
#include <string>
#include <vector>

#include "kernels/kernel.h"
#include "model/config.h"

namespace tb {

struct LinearPath {
  enum class Kind { ternary, fp16, fp32 };
  Kind kind = Kind::ternary;
  const Kernel* kernel = nullptr;  // ternary only
  std::string name;                // what rows and tables call it: "i2s__avx512vnni", "fp16"
  std::string format;              // "i2s", "fp16"
  double bits_per_weight = 0;      // storage per linear weight
  bool is_float() const { return kind != Kind::ternary; }
  const Format* packed_format() const { return kernel ? kernel->format : nullptr; }  // nullptr: a float baseline
  // Format::lookup_tiled (TL1/TL2): packs with tiles tuned per CPU (harness/tiles.h).
  bool tiled() const { return kernel && kernel->format->lookup_tiled; }
  // Whether the kernel's inner loop is int8 multiply-adds, so the path's int8 ceiling bounds it (not the table
  // lookups of TL1/TL2/TLW, not the float baselines). A multiplying kernel may still look up in prefill
  // (Kernel::lookup_tokens: i2s on AVX2); the sweep then holds its prefill rows to its lookup ceiling.
  bool multiplies() const { return kernel && !kernel->format->lookup; }
  size_t float_bytes() const { return kind == Kind::fp32 ? 4 : 2; }
};

// Throws tb::Error naming the known names for an unknown one, and naming the path for a variant this CPU
// cannot run. A format resolves to the best path allowed now (allowed_isas(): --isa / TERNBENCH_ISA).
LinearPath resolve_linear(const std::string& name);

// "" when every linear layer of c fits the path's shape rule, else a message naming the first that does not.
std::string check_shapes(const LinearPath& p, const ModelConfig& c);

// The default sweep: the best path of every format this CPU runs (not the oracle), then the fp16 baseline.
std::vector<std::string> default_linear_names();

}  // namespace tb
