// The operation-count energy estimate of [A3] Table 1 (docs/reference.md §7): arithmetic of a forward pass
// counted from the model config, priced with per-operation energies. Always labelled as an estimate: it
// leaves out memory traffic, which dominates the energy of real decoding.
//
// For L tokens after C positions already in the KV cache:
//   linear, fp16 models:  L x W x (fp16 add + fp16 mul)          W = non-embedding linear weights
//   linear, ternary:      L x W x int8 add                        (a ternary weight turns a multiply into an add)
//                       + L x S x int8 mul                        S = sum over the 7 projections of (in + out), x layers
//                                                                   (the multiplies that scale activations in and out)
//   attention:            2 x L x P x heads x head_dim x layers MACs x (fp16 add + fp16 mul)
//                         P = C + L positions attended by every token ([A3]: no causal halving);
//                         with causal = true, token i attends C + i positions instead.
// With L = 512, C = 0 and the 7 nm table this reproduces [A3]'s six published values.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "energy/meter.h"
#include "model/config.h"

namespace tb::energy {

// Energy of one operation, in picojoules.
struct OpEnergies {
  std::string label;
  double fp16_add_pj, fp16_mul_pj, int8_add_pj, int8_mul_pj;
};
// 7 nm, as [A3] uses it (docs/reference.md §7): FP16 add 0.16, mul 0.34; INT8 add 0.007, mul 0.07 pJ.
const OpEnergies& op_energies_7nm();
// 45 nm, the BitNet paper's alternative column (arXiv 2310.11453 Table 2, after Horowitz, ISSCC 2014):
// FP16 add 0.4, mul 1.1; INT8 add 0.03, mul 0.2 pJ.
const OpEnergies& op_energies_45nm();
// "7nm" or "45nm"; throws tb::Error listing both.
const OpEnergies& op_energies(const std::string& node);

enum class LinearArith { from_config, ternary_int8, fp16 };

struct EstimateOptions {
  OpEnergies ops = op_energies_7nm();
  bool causal = false;                            // false: [A3]'s reading (every token attends all positions)
  LinearArith linear = LinearArith::from_config;  // the kernel family: ternary (INT8 adds) or fp16 MACs
};

struct EstimateBreakdown {
  int64_t tokens = 0, context_before = 0;
  double linear_j = 0, attention_j = 0;
  double weight_ops = 0;      // tokens x linear weights (INT8 adds, or FP16 MACs)
  double scale_muls = 0;      // INT8 multiplies scaling activations (ternary only)
  double attention_macs = 0;  // FP16 MACs of QK^T and AV
  double total_j() const { return linear_j + attention_j; }
};

class Estimate {
 public:
  explicit Estimate(const ModelConfig& config, EstimateOptions opt = {});
  // `tokens` tokens run after `context_before` cached positions.
  EstimateBreakdown tokens(int64_t tokens, int64_t context_before) const;
  // [A3]'s quantity: one sequence of L tokens (L = 512 in Table 1).
  EstimateBreakdown sequence(int64_t L) const { return tokens(L, 0); }
  bool ternary() const { return ternary_; }
  int64_t linear_weights() const { return weights_; }        // all layers
  int64_t activation_io() const { return io_; }               // sum of (in + out) over projections and layers
  const ModelConfig& config() const { return cfg_; }
  const EstimateOptions& options() const { return opt_; }
  std::string describe() const;  // one line: model, arithmetic, node, reading

 private:
  ModelConfig cfg_;
  EstimateOptions opt_;
  bool ternary_;
  int64_t weights_ = 0, io_ = 0;
};

// [A3] Table 1's published energy (J per 512-token sequence) for the presets it covers:
// 2B4T, llama3.2-1B, gemma3-1B, qwen2.5-1.5B, smollm2-1.7B, minicpm-2B.
std::optional<double> a3_published_energy_j(const std::string& preset);

// The estimate as a meter: always available, prices the Work it is told about (domain "estimate").
class EstimateMeter : public Meter {
 public:
  explicit EstimateMeter(const ModelConfig& config, EstimateOptions opt = {});
  std::string name() const override { return "estimate"; }
  std::string title() const override { return "operation-count estimate (" + est_.describe() + ")"; }
  bool is_estimate() const override { return true; }
  void start() override;
  Reading read() override;
  void add_work(const Work& w) override;
  const Estimate& estimate() const { return est_; }

 private:
  Estimate est_;
  std::mutex mu_;
  double joules_ = 0;
  Clock::time_point t0_;
  bool started_ = false;
};

}  // namespace tb::energy
