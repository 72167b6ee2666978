// harness: ternbench's command line. Today: `harness kernels`. The model runner, sweeps, verify,
// roofline and energy subcommands arrive with their issues.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <string>

#include "energy/summary.h"
#include "kernels/kernel.h"
#include "model/config.h"

namespace {

int cmd_kernels() {
  const tb::CpuInfo& cpu = tb::cpu_info();
  std::string flags;
  for (const auto& f : cpu.flags) flags += (flags.empty() ? "" : " ") + f;
  std::printf("CPU: %s\nfeatures: %s\n", cpu.model.c_str(), flags.empty() ? "(none detected)" : flags.c_str());
  std::string paths;
  for (tb::Isa i : {tb::Isa::scalar, tb::Isa::neon, tb::Isa::avx2, tb::Isa::avx512vnni})
    if (tb::cpu_supports(i)) paths += (paths.empty() ? "" : ", ") + std::string(tb::isa_name(i));
  std::printf("paths this CPU runs: %s\n", paths.c_str());
  if (!cpu.notes.empty()) std::printf("missing paths: %s\n", cpu.notes.c_str());
  const std::string forced = tb::forced_isa();
  if (!forced.empty()) std::printf("forced path: %s (TERNBENCH_ISA or --isa)\n", forced.c_str());
  uint32_t allowed = tb::allowed_isas();
  std::printf("\n| kernel | bits/weight | shapes | variants in this binary | used here |\n");
  std::printf("|---|---|---|---|---|\n");
  for (const tb::Format* f : tb::all_formats()) {
    std::string variants;
    for (const tb::Kernel& k : tb::all_kernels())
      if (k.format == f) variants += (variants.empty() ? "" : ", ") + std::string(tb::isa_name(k.isa));
    std::printf("| %s | %.2f | %s | %s | %s |\n", f->name, f->bits_per_weight, f->constraint, variants.c_str(),
                tb::select_kernel(*f, allowed).name);
  }
  std::printf("\n");
  for (const tb::Format* f : tb::all_formats()) std::printf("%-9s %s\n", f->name, f->summary);
  return 0;
}

// `harness energy`: every source and why it is or is not usable here; with --estimate --model, the estimate.
int cmd_energy(bool estimate, const std::string& model, const std::string& node, bool causal, int64_t seq) {
  if (!estimate && model.empty()) {
    std::fputs(tb::energy::sources_summary().c_str(), stdout);
    return 0;
  }
  if (model.empty()) {
    std::string names;
    for (const auto& n : tb::list_model_configs()) names += (names.empty() ? "" : ", ") + n;
    throw tb::Error("--estimate needs --model NAME; presets: " + names);
  }
  tb::energy::EstimateOptions o;
  o.ops = tb::energy::op_energies(node);
  o.causal = causal;
  std::fputs(tb::energy::estimate_summary(model, o, seq).c_str(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ternbench: benchmarks and checks ternary (1.58-bit) LLM kernels on this CPU"};
  app.footer(
      "Examples:\n"
      "  harness kernels                 which path (scalar, avx2, avx512vnni, neon) each kernel uses here\n"
      "  harness --isa scalar kernels    the same with a forced path (also: TERNBENCH_ISA=scalar)\n"
      "  harness energy                  energy sources here (RAPL, perf, MSR, powermetrics) and why not\n"
      "  harness energy --estimate --model 2B4T   the operation-count energy estimate ([A3] Table 1)\n"
      "  build/harness/bench_kernels --benchmark_filter='gemv/i2s.*'   kernel benchmarks\n");
  std::string isa;
  app.add_option("--isa", isa, "force an ISA path: auto, scalar, neon, avx2, avx512vnni (env: TERNBENCH_ISA)");
  app.require_subcommand(1);
  auto* kernels = app.add_subcommand("kernels", "list kernels, their formats and the ISA path each uses on this CPU");
  auto* energy = app.add_subcommand("energy", "list the energy sources, whether each is usable here and why not");
  bool energy_estimate = false, energy_causal = false;
  std::string energy_model, energy_node = "7nm";
  int64_t energy_seq = 512;
  energy->add_flag("--estimate", energy_estimate, "print the operation-count estimate ([A3] method) for --model");
  energy->add_option("--model", energy_model, "model preset (configs/models) or .json path for the estimate");
  energy->add_option("--node", energy_node, "per-operation energies: 7nm ([A3], default) or 45nm (BitNet paper)");
  energy->add_flag("--causal", energy_causal, "count causal attention, not [A3]'s every-token-attends-all reading");
  energy->add_option("--seq", energy_seq, "sequence length of the estimate (default 512, as [A3])");
  CLI11_PARSE(app, argc, argv);
  try {
    if (!isa.empty()) tb::set_forced_isa(isa);
    if (*kernels) return cmd_kernels();
    if (*energy) return cmd_energy(energy_estimate, energy_model, energy_node, energy_causal, energy_seq);
  } catch (const tb::Error& e) {
    std::fprintf(stderr, "harness: %s\n", e.what());
    return 2;
  }
  return 0;
}
