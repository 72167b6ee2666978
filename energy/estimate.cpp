#include "energy/estimate.h"

#include <map>

#include "base/error.h"

namespace tb::energy {

const OpEnergies& op_energies_7nm() {
  static const OpEnergies e{"7nm", 0.16, 0.34, 0.007, 0.07};
  return e;
}

const OpEnergies& op_energies_45nm() {
  static const OpEnergies e{"45nm", 0.4, 1.1, 0.03, 0.2};
  return e;
}

const OpEnergies& op_energies(const std::string& node) {
  if (node == "7nm" || node == "7") return op_energies_7nm();
  if (node == "45nm" || node == "45") return op_energies_45nm();
  throw Error("unknown process node '" + node + "' for the energy estimate: use 7nm ([A3]) or 45nm (BitNet paper)");
}

Estimate::Estimate(const ModelConfig& config, EstimateOptions opt) : cfg_(config), opt_(std::move(opt)) {
  cfg_.validate();
  ternary_ = opt_.linear == LinearArith::from_config ? cfg_.ternary : opt_.linear == LinearArith::ternary_int8;
  for (const ModelConfig::Matmul& m : cfg_.layer_matmuls()) {
    weights_ += m.N * m.K;
    io_ += m.N + m.K;
  }
  weights_ *= cfg_.layers;
  io_ *= cfg_.layers;
}

EstimateBreakdown Estimate::tokens(int64_t n, int64_t c) const {
  if (n < 0 || c < 0) throw Error("energy estimate: token count and context must not be negative");
  const double pj = 1e-12;
  const OpEnergies& e = opt_.ops;
  EstimateBreakdown b;
  b.tokens = n;
  b.context_before = c;
  b.weight_ops = double(n) * double(weights_);
  if (ternary_) {
    b.scale_muls = double(n) * double(io_);
    b.linear_j = b.weight_ops * e.int8_add_pj * pj + b.scale_muls * e.int8_mul_pj * pj;
  } else {
    b.linear_j = b.weight_ops * (e.fp16_add_pj + e.fp16_mul_pj) * pj;
  }
  // Positions attended, summed over the n tokens.
  const double positions = opt_.causal ? double(n) * double(c) + double(n) * double(n + 1) / 2
                                       : double(n) * double(c + n);
  b.attention_macs = 2.0 * positions * double(cfg_.heads * cfg_.head_dim * cfg_.layers);
  b.attention_j = b.attention_macs * (e.fp16_add_pj + e.fp16_mul_pj) * pj;
  return b;
}

std::string Estimate::describe() const {
  return cfg_.name + ", " + (ternary_ ? "ternary linear layers (INT8 adds)" : "fp16 linear layers (FP16 MACs)") +
         ", " + opt_.ops.label + " op energies, " +
         (opt_.causal ? "causal attention" : "[A3] reading: every token attends all positions");
}

std::optional<double> a3_published_energy_j(const std::string& preset) {
  static const std::map<std::string, double> t = {{"2B4T", 0.028},        {"llama3.2-1B", 0.258},
                                                  {"gemma3-1B", 0.186},   {"qwen2.5-1.5B", 0.347},
                                                  {"smollm2-1.7B", 0.425}, {"minicpm-2B", 0.649}};
  auto it = t.find(preset);
  if (it == t.end()) return std::nullopt;
  return it->second;
}

EstimateMeter::EstimateMeter(const ModelConfig& config, EstimateOptions opt) : est_(config, std::move(opt)) {
  domains_ = {"estimate"};
  primary_ = "estimate";
  notes_.push_back("an estimate, not a measurement: arithmetic only, memory traffic left out");
}

void EstimateMeter::start() {
  std::lock_guard<std::mutex> lock(mu_);
  joules_ = 0;
  t0_ = Clock::now();
  started_ = true;
}

Reading EstimateMeter::read() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!started_) throw Error("energy source 'estimate': read() before start()");
  Reading r;
  r.seconds = std::chrono::duration<double>(Clock::now() - t0_).count();
  r.joules["estimate"] = joules_;
  return r;
}

void EstimateMeter::add_work(const Work& w) {
  const double j = est_.tokens(w.tokens, w.context_before).total_j();
  std::lock_guard<std::mutex> lock(mu_);
  joules_ += j;
}

}  // namespace tb::energy
