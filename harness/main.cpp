// harness: ternbench's command line. Today: `harness kernels`. The model runner, sweeps, verify,
// roofline and energy subcommands arrive with their issues.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "energy/summary.h"
#include "harness/commands.h"
#include "model/export.h"
#include "harness/thread_spec.h"
#include "harness/tune.h"
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
      "  harness models                  model presets: parameters and weight memory per format\n"
      "  harness run --model 2B4T --threads 1,2 --kernels i2s,int8   prefill/decode tokens/s (synthetic weights)\n"
      "  harness run --model ../shared/testdata/bitnetcpp-tiny-i2_s.gguf   the same on a GGUF checkpoint\n"
      "  harness export --model tiny --format i2s --out tiny.gguf   synthetic weights as a GGUF file\n"
      "  harness tune --model 2B4T       tune TL1/TL2 tiles here, write configs/tiles/<cpu>.json\n"
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
  auto* models = app.add_subcommand("models", "list model presets with parameter counts and weight memory per format");
  auto* run = app.add_subcommand("run", "prefill (pp) and generation (tg) tokens/s of the quantized model runner");
  tb::RunArgs ra;
  std::string run_threads = "1", run_kernels = "i2s";
  run->add_option("--model", ra.model, "preset name (harness models), .json config, or .gguf checkpoint")->capture_default_str();
  run->add_option("--kernels", run_kernels, "comma-separated formats, variants or float baselines, e.g. i2s,int8,fp16 or i2s__avx2")->capture_default_str();
  run->add_option("--threads", run_threads, "thread counts: 1..16, 1,2,4,8, 1..16:2 or max")->capture_default_str();
  run->add_option("--pp", ra.pp, "prompt tokens per prefill test")->capture_default_str();
  run->add_option("--tg", ra.tg, "tokens per generation test")->capture_default_str();
  run->add_option("--reps", ra.reps, "repetitions after one warm-up")->capture_default_str();
  run->add_option("--seed", ra.seed, "seed of the synthetic weights and prompt")->capture_default_str();
  run->add_option("--head", ra.head, "LM head precision: fp16, fp32 or int8 (per-row scales)")->capture_default_str();
  // `harness tune ...`: the TL tile tuner (harness/tune.cpp) parses its own flags (`harness tune --help`).
  auto* tune = app.add_subcommand("tune", "TL1/TL2 tile tuner: times tile candidates per 2B4T shape, writes configs/tiles/<cpu>.json");
  tune->prefix_command();
  tune->set_help_flag();
  auto* exp = app.add_subcommand("export", "write a model (synthetic weights) as a GGUF file in a ternary format");
  std::string exp_model = "2B4T", exp_format = "i2s", exp_out;
  uint64_t exp_seed = 1;
  exp->add_option("--model", exp_model, "preset name or .json config")->capture_default_str();
  exp->add_option("--format", exp_format, "tensor format: i2s (bitnet.cpp's I2_S, type 36)")->capture_default_str();
  exp->add_option("--seed", exp_seed, "seed of the synthetic weights")->capture_default_str();
  exp->add_option("--out", exp_out, "output .gguf path")->required();
  // The last of a repeated option wins (scripts/run.sh passes defaults before the user's options).
  for (CLI::Option* opt : run->get_options()) opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  CLI11_PARSE(app, argc, argv);
  try {
    if (!isa.empty()) tb::set_forced_isa(isa);
    if (*kernels) return cmd_kernels();
    if (*energy) return cmd_energy(energy_estimate, energy_model, energy_node, energy_causal, energy_seq);
    if (*models) return tb::cmd_models();
    if (*tune) {
      std::vector<std::string> rest = tune->remaining();
      std::vector<char*> av = {argv[0]};
      for (std::string& a : rest) av.push_back(a.data());
      return tb::tune_main(int(av.size()), av.data());
    }
    if (*exp) {
      const tb::ModelConfig c = tb::load_model_config(exp_model);
      tb::export_gguf(*tb::synthetic_weights(c, exp_seed), exp_format, exp_out);
      std::fprintf(stderr, "wrote %s (%s, %s weights, seed %llu)\n", exp_out.c_str(), c.name.c_str(), exp_format.c_str(),
                   (unsigned long long)exp_seed);
      return 0;
    }
    if (*run) {
      ra.threads = tb::parse_thread_spec(run_threads);
      ra.kernels = tb::split_list(run_kernels);
      return tb::cmd_run(ra);
    }
  } catch (const tb::Error& e) {
    std::fprintf(stderr, "harness: %s\n", e.what());
    return 2;
  }
  return 0;
}
