// `harness energy`: the energy sources and why each is or is not usable here; the operation-count estimate.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include "base/error.h"
#include "energy/summary.h"
#include "harness/commands.h"
#include "model/config.h"

namespace tb {

namespace {

using json = nlohmann::json;

// `harness energy`: every source and why it is or is not usable here; with --estimate --model, the estimate.
int cmd_energy(bool estimate, const std::string& model, const std::string& node, bool causal, int64_t seq,
               const std::string& linear, bool as_json) {
  if (!estimate && model.empty()) {
    if (as_json) {  // for scripts and tests: what a run here would measure with, in the order runs try them
      json j = {{"sources", json::array()}, {"measures_with", nullptr}};
      for (const auto& m : energy::hardware_meters()) {
        const bool ok = m->available();
        j["sources"].push_back({{"name", m->name()}, {"available", ok}, {"domains", m->domains()}, {"why_not", m->why_not()}});
        if (ok && j["measures_with"].is_null()) j["measures_with"] = m->name();  // best_hardware_meter()'s choice
      }
      j["estimated"] = j["measures_with"].is_null();  // no counter: runs report the operation-count estimate
      std::printf("%s\n", j.dump(2).c_str());
      return 0;
    }
    std::fputs(energy::sources_summary().c_str(), stdout);
    return 0;
  }
  if (model.empty()) {
    std::string names;
    for (const auto& n : list_model_configs()) names += (names.empty() ? "" : ", ") + n;
    throw Error("--estimate needs --model NAME; presets: " + names);
  }
  energy::EstimateOptions o;
  o.ops = energy::op_energies(node);
  o.causal = causal;
  if (linear == "fp16") o.linear = energy::LinearArith::fp16;
  else if (linear == "ternary") o.linear = energy::LinearArith::ternary_int8;
  else if (linear != "auto") throw Error("--linear '" + linear + "' is not one of auto, ternary, fp16");
  if (as_json) {  // for scripts (scripts/reproduce): the numbers, no prose
    const energy::Estimate est(load_model_config(model), o);
    const auto pub = energy::a3_published_energy_j(est.config().name);
    json j = {{"model", est.config().name}, {"estimated", true}, {"method", est.describe()}, {"sequence_tokens", seq},
                  {"sequence_j", est.sequence(seq).total_j()}, {"prefill_j_per_token", est.tokens(seq, 0).total_j() / double(seq)},
                  {"decode_j_per_token", est.tokens(1, seq).total_j()}, {"ternary_linear", est.ternary()}};
    if (pub) j["published_j"] = *pub;
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::fputs(energy::estimate_summary(model, o, seq).c_str(), stdout);
  return 0;
}

struct EnergyArgs {
  bool estimate = false, causal = false, as_json = false;
  std::string model, node = "7nm", linear = "auto";
  int64_t seq = 512;
};

}  // namespace

static Command add_energy_command(CLI::App& app) {
  auto a = std::make_shared<EnergyArgs>();
  CLI::App* energy = app.add_subcommand("energy", "list the energy sources, whether each is usable here and why not");
  energy->add_flag("--estimate", a->estimate, "print the operation-count estimate ([A3] method) for --model");
  energy->add_option("--model", a->model, "model preset (configs/models) or .json path for the estimate");
  energy->add_option("--node", a->node, "per-operation energies: 7nm ([A3], default) or 45nm (BitNet paper)");
  energy->add_flag("--causal", a->causal, "count causal attention, not [A3]'s every-token-attends-all reading");
  energy->add_option("--seq", a->seq, "sequence length of the estimate (default 512, as [A3])");
  energy->add_option("--linear", a->linear, "price the linear layers as: auto (from the config), ternary, fp16")->capture_default_str();
  energy->add_flag("--json", a->as_json, "JSON for scripts: the estimate (with --estimate), else the sources and the one "
                   "a run would measure with");
  return {energy, [a] { return cmd_energy(a->estimate, a->model, a->node, a->causal, a->seq, a->linear, a->as_json); }};
}
[[maybe_unused]] const bool registered = register_command(80, add_energy_command);

}  // namespace tb
