// harness: ternbench's command line. Without a subcommand it runs the sweep (harness/sweep.h); the
// subcommands list, check, measure and export.
#include <CLI/CLI.hpp>
#include <omp.h>

#include <cstdio>
#include <exception>
#include <iostream>
#include <new>
#include <string>
#include <vector>

#include "energy/summary.h"
#include "harness/commands.h"
#include "harness/compare.h"
#include "harness/machine.h"
#include "harness/results.h"
#include "harness/roofline.h"
#include "harness/sweep.h"
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
int cmd_energy(bool estimate, const std::string& model, const std::string& node, bool causal, int64_t seq,
               const std::string& linear, bool as_json) {
  if (!estimate && model.empty()) {
    if (as_json) {  // for scripts and tests: what a run here would measure with, in the order runs try them
      tb::json j = {{"sources", tb::json::array()}, {"measures_with", nullptr}};
      for (const auto& m : tb::energy::hardware_meters()) {
        const bool ok = m->available();
        j["sources"].push_back({{"name", m->name()}, {"available", ok}, {"domains", m->domains()}, {"why_not", m->why_not()}});
        if (ok && j["measures_with"].is_null()) j["measures_with"] = m->name();  // best_hardware_meter()'s choice
      }
      j["estimated"] = j["measures_with"].is_null();  // no counter: runs report the operation-count estimate
      std::printf("%s\n", j.dump(2).c_str());
      return 0;
    }
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
  if (linear == "fp16") o.linear = tb::energy::LinearArith::fp16;
  else if (linear == "ternary") o.linear = tb::energy::LinearArith::ternary_int8;
  else if (linear != "auto") throw tb::Error("--linear '" + linear + "' is not one of auto, ternary, fp16");
  if (as_json) {  // for scripts (scripts/reproduce): the numbers, no prose
    const tb::energy::Estimate est(tb::load_model_config(model), o);
    const auto pub = tb::energy::a3_published_energy_j(est.config().name);
    tb::json j = {{"model", est.config().name}, {"estimated", true}, {"method", est.describe()}, {"sequence_tokens", seq},
                  {"sequence_j", est.sequence(seq).total_j()}, {"prefill_j_per_token", est.tokens(seq, 0).total_j() / double(seq)},
                  {"decode_j_per_token", est.tokens(1, seq).total_j()}, {"ternary_linear", est.ternary()}};
    if (pub) j["published_j"] = *pub;
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::fputs(tb::energy::estimate_summary(model, o, seq).c_str(), stdout);
  return 0;
}

// `harness roofline`: read bandwidth and each path's int8 ceiling per thread count, from the cache or measured.
// Decode streams every weight once per token (bandwidth ceiling); prefill multiplies (a path's int8 ceiling). A
// sweep row is held to the lower of the two for its own path (fields ceiling_ts and binding).
int cmd_roofline(const std::vector<int>& threads, bool refresh, bool as_json) {
  tb::RooflineCache cache;
  std::fprintf(stderr, "%s\n", cache.note().c_str());
  std::vector<tb::RooflinePoint> pts;
  for (int t : threads) {
    const bool had = cache.find(t) != nullptr;
    if (refresh || !had) {
      std::fprintf(stderr, "measuring %d thread%s (read bandwidth, then the int8 ceiling of every path)...\n", t, t == 1 ? "" : "s");
      cache.put(tb::measure_roofline(t));
      cache.save();
    }
    pts.push_back(*cache.find(t));
    if (!(refresh || !had)) pts.back().measured_at += " (cached)";
  }
  std::vector<std::string> paths;
  for (const auto& [k, v] : pts.front().path_gmacs) paths.push_back(k);
  if (as_json) {
    tb::json out = {{"cache", cache.path()}, {"cpu", tb::machine_fingerprint()["cpu"]}, {"points", tb::json::array()}};
    for (const tb::RooflinePoint& p : pts)
      out["points"].push_back({{"threads", p.threads}, {"read_gbs", p.read_gbs}, {"best_path", p.isa},
                               {"int8_gmacs", p.int8_gmacs}, {"path_gmacs", p.path_gmacs},
                               {"path_instructions", p.path_instructions}, {"measured_at", p.measured_at}});
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("| threads | read GB/s |");
  for (const std::string& k : paths) std::printf(" %s GMAC/s |", k.c_str());
  std::printf(" measured |\n|---:|---:|");
  for (size_t i = 0; i < paths.size(); ++i) std::printf("---:|");
  std::printf("---|\n");
  for (const tb::RooflinePoint& p : pts) {
    std::printf("| %d | %.1f |", p.threads, p.read_gbs);
    for (const std::string& k : paths) std::printf(" %.0f%s |", p.gmacs_of(k), k == p.isa ? " (best)" : "");
    std::printf(" %s |\n", p.measured_at.c_str());
  }
  std::printf("\nint8 ceilings, one per path (the instruction sequence of its best kernels):\n");
  for (const std::string& k : paths) std::printf("- %s: %s\n", k.c_str(), pts.front().path_instructions.at(k).c_str());
  std::printf("A sweep row's ceiling is the lower of bandwidth / bytes per token and its own path's int8 ceiling / MACs per token.\n");
  std::fflush(stdout);
  std::fprintf(stderr, "saved in %s (--refresh measures again; sweeps re-probe bandwidth beside each decode test)\n",
               cache.path().c_str());
  return 0;
}

// 1, 2, 4, ... up to the logical CPUs, and that count itself.
std::string default_thread_ladder() {
  const int n = omp_get_num_procs();
  std::string s;
  for (int t = 1; t < n; t *= 2) s += std::to_string(t) + ",";
  return s + std::to_string(n);
}

// The sweep's options, on the main command and on its alias `run`.
void add_sweep_options(CLI::App* app, tb::SweepArgs& a, std::string& threads, std::string& kernels) {
  app->add_option("--model,-m", a.model, "preset name (harness models), .json config, or .gguf checkpoint")->capture_default_str();
  app->add_option("--kernels,-k", kernels, "comma-separated formats, variants or float baselines, e.g. i2s,tl2,fp16 or i2s__avx2; "
                  "default: every format this CPU runs (best path each) and fp16");
  app->add_option("--threads,-t", threads, "thread counts: 1..16, 1,2,4,8, 1..16:2 or max")->capture_default_str();
  app->add_option("--pp,-p", a.pp, "prompt tokens per prefill test (0: no prefill test)")->capture_default_str();
  app->add_option("--tg,-n", a.tg, "tokens per generation test (0: no generation test)")->capture_default_str();
  app->add_option("--reps,-r", a.reps, "repetitions after one warm-up")->capture_default_str();
  app->add_option("--seed", a.seed, "seed of the synthetic weights and prompt")->capture_default_str();
  app->add_option("--head", a.head, "LM head precision: fp16, fp32 or int8 (per-row scales)")->capture_default_str();
  app->add_option("--layers", a.layers, "run only the first N layers (presets; rows say N of M)");
  app->add_option("--output,-o", a.output, "stdout format: md, csv, json, jsonl")->capture_default_str();
  app->add_option("--out", a.out_file, "results file to append to (JSONL), or none")->capture_default_str();
  app->add_option("--pin", a.pin, "thread pinning: none, compact (logical CPUs in order), cores (physical cores first)")->capture_default_str();
  app->add_option("--cv-warn", a.cv_warn, "warn and mark a row noisy above this coefficient of variation")->capture_default_str();
  app->add_flag("--quiet,-q", a.quiet, "no progress on stderr");
  app->add_flag("--counters", a.counters, "also print the hardware counters (cycles and LLC misses per token, IPC) in the "
                "md and csv tables and per test on stderr; every row records them (field counters) where perf_event_open "
                "counts hardware events, else why not (said once on stderr)");
  app->add_flag("--no-tune{false}", a.tune_tiles,
                "TL1/TL2 shapes without tuned tiles on this CPU run on default tiles (said on stderr and in each row) "
                "instead of being tuned once and cached (about 3 s per shape)");
  app->add_option("--peer", a.peers, "an installed llama-bench to run after ternbench's tests with the same pp/tg/reps/threads "
                  "(repeatable; llama.cpp, bitnet.cpp or ik_llama.cpp)");
  app->add_option("--peer-model", a.peer_models, "the .gguf each --peer runs (repeatable, paired in order)");
  app->add_option("--peer-args", a.peer_args, "more arguments for the peer's llama-bench, e.g. '-rtr 1' for ik_llama.cpp "
                                             "(one for every peer run, or one per run in order; 'none' for none)");
  app->add_option("--baseline", a.baseline, "the speedup table's baseline ENGINE:KERNEL, e.g. llama.cpp:F16 (how the "
                  "published speedups are defined)")->capture_default_str();
  // The last of a repeated option wins (scripts/run.sh passes defaults before the user's options); the
  // peers accumulate.
  for (CLI::Option* opt : app->get_options())
    if (opt->get_name() != "--peer" && opt->get_name() != "--peer-model" && opt->get_name() != "--peer-args") opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
}

// A message as one line (what() of a foreign exception may hold newlines).
std::string one_line(const char* what) {
  std::string s = what ? what : "";
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

int harness_main(int argc, char** argv) {
  CLI::App app{"ternbench: benchmarks and checks ternary (1.58-bit) LLM kernels on this CPU.\n"
               "Without a subcommand: the sweep. For every kernel this CPU runs and the fp16 baseline, at each thread\n"
               "count, a prefill test (pp) and a generation test (tg) as llama-bench runs them (one warm-up, then\n"
               "repetitions). Rows go to stdout as a table and are appended, as each completes, to a JSONL file\n"
               "(results/README.md); Ctrl-C stops and keeps every finished row."};
  app.footer(
      "Examples:\n"
      "  harness --model 2B4T --threads 1..16        the sweep: every kernel, pp128 and tg128, 1 to 16 threads\n"
      "  harness -m 2B4T -t 1,max -k i2s,fp16 -r 3   two kernels, 1 thread and all threads, 3 repetitions\n"
      "  harness -m 2B4T -t 1..8:2 --pin cores       threads 1,3,5,7 pinned one per physical core\n"
      "  harness -m tests/data/peers/bitnetcpp-tiny-i2_s.gguf -t 1   a GGUF checkpoint instead of synthetic weights\n"
      "  harness -m 2B4T -o csv --out none           CSV on stdout, no results file\n"
      "  harness -m 2B4T -k i2s,tl2 --counters       cycles, IPC and LLC misses per token beside t/s (where the PMU counts)\n"
      "  harness kernels                 which path (scalar, avx2, avx512vnni, neon) each kernel uses here\n"
      "  harness --isa scalar kernels    the same with a forced path (also: TERNBENCH_ISA=scalar)\n"
      "  harness verify --model 2B4T     every kernel bit for bit against the oracle, logits across kernels/threads\n"
      "  harness -m 2B4T -t 1,2 --peer ~/llama.cpp/build/bin/llama-bench --peer-model f16.gguf --baseline llama.cpp:F16\n"
      "                                  the same sweep with llama.cpp's own llama-bench run after it, speedups over its F16\n"
      "  harness import bench.json       llama-bench output (llama.cpp, bitnet.cpp, ik_llama.cpp) as result rows\n"
      "  harness report results/ternbench.jsonl --baseline llama.cpp:F16   the table of rows already recorded\n"
      "  harness compare before.jsonl after.jsonl   before/after per test: medians, ratio, Mann-Whitney U test, verdict\n"
      "  harness lossless -m ladder-700M --prompts 100 --tokens 100   greedy continuations vs the fp32 reference\n"
      "  harness roofline                read bandwidth and int8 peak per thread count (cached per machine)\n"
      "  harness models                  model presets: parameters and weight memory per format\n"
      "  harness energy                  energy sources here (RAPL, perf, MSR, powermetrics) and why not\n"
      "  harness energy --estimate --model 2B4T   the operation-count energy estimate ([A3] Table 1)\n"
      "  harness export --model tiny --format i2s --out tiny.gguf   synthetic weights as a GGUF file\n"
      "  harness tune --model 2B4T       tune TL1/TL2 tiles here (full candidate list), cache them\n"
      "  scripts/plot results/ternbench.jsonl   plots of the results (PNG and SVG)\n"
      "  build/harness/bench_kernels --benchmark_filter='gemv/i2s.*'   kernel benchmarks\n");
  std::string isa;
  app.add_option("--isa", isa, "force an ISA path: auto, scalar, neon, avx2, avx512vnni (env: TERNBENCH_ISA)");
  app.require_subcommand(0, 1);
  tb::SweepArgs sw;
  std::string sw_threads = "1", sw_kernels;
  add_sweep_options(&app, sw, sw_threads, sw_kernels);
  auto* run = app.add_subcommand("run", "the sweep (the same as harness without a subcommand)");
  add_sweep_options(run, sw, sw_threads, sw_kernels);
  auto* kernels = app.add_subcommand("kernels", "list kernels, their formats and the ISA path each uses on this CPU");
  auto* verify = app.add_subcommand("verify", "check every kernel bit for bit against the oracle on the model's shapes, "
                                    "and that logits are identical across kernels and thread counts");
  tb::VerifyArgs va;
  std::string va_threads = "1,max";
  verify->add_option("--model,-m", va.model, "preset name or .json config")->capture_default_str();
  verify->add_option("--threads,-t", va_threads, "thread counts the logits must agree across")->capture_default_str();
  verify->add_option("--layers", va.layers, "end-to-end check on the first N layers only (0: all)")->capture_default_str();
  verify->add_option("--tokens", va.tokens, "GEMM tokens of the matmul check and prompt tokens of the end-to-end check")->capture_default_str();
  verify->add_option("--seed", va.seed, "seed of the weights and activations")->capture_default_str();
  verify->add_flag("--reference", va.reference,
                   "instead: the runner beside the Eigen reference, layer by layer (flips, pre-quantization "
                   "differences, identical linear outputs, quantization error per layer); -m may be a .gguf file");
  verify->add_option("--kernel,-k", va.kernel, "with --reference: the runner's kernel (format or variant)")->capture_default_str();
  verify->add_option("--steps", va.steps, "with --reference: greedy decode steps after the prompt")->capture_default_str();
  auto* lossless = app.add_subcommand("lossless", "share of greedy continuations identical to the fp32 reference, per kernel "
                                      "([A1] Table 7)");
  tb::LosslessArgs la;
  std::string la_kernels = "i2s,tl1,tl2";
  lossless->add_option("--model,-m", la.model, "preset name or .json config")->capture_default_str();
  lossless->add_option("--kernels,-k", la_kernels, "formats or variants")->capture_default_str();
  lossless->add_option("--prompts", la.prompts, "synthetic prompts")->capture_default_str();
  lossless->add_option("--tokens", la.tokens, "greedy tokens generated per prompt")->capture_default_str();
  lossless->add_option("--prompt-len", la.prompt_len, "tokens per prompt")->capture_default_str();
  lossless->add_option("--seed", la.seed, "seed of the weights and prompts")->capture_default_str();
  lossless->add_option("--threads,-t", la.threads, "threads of the kernels (the reference runs on one)");
  lossless->add_flag("--json", la.json, "JSON on stdout instead of a table");
  auto* roofline = app.add_subcommand("roofline", "measure read bandwidth and int8 dot-product peak per thread count (cached per machine)");
  std::string rf_threads = default_thread_ladder();
  bool rf_refresh = false;
  roofline->add_option("--threads,-t", rf_threads, "thread counts")->capture_default_str();
  roofline->add_flag("--refresh", rf_refresh, "measure again even when cached");
  bool rf_json = false;
  roofline->add_flag("--json", rf_json, "the figures as JSON on stdout (for scripts)");
  auto* imp = app.add_subcommand("import", "read llama-bench output (JSON, JSONL, CSV) of llama.cpp, bitnet.cpp or "
                                 "ik_llama.cpp as result rows: appended to the results file, shown beside ternbench's");
  tb::ImportArgs ia;
  imp->add_option("files", ia.files, "llama-bench output files")->required();
  imp->add_flag("--this-machine", ia.this_machine, "the files were measured here: give rows this machine's fingerprint "
                "(default: the file's own CPU description only)");
  imp->add_option("--engine", ia.engine, "override the detected engine name (llama.cpp, bitnet.cpp, ik_llama.cpp)");
  imp->add_option("--out", ia.out_file, "results file to append to (JSONL), or none")->capture_default_str();
  imp->add_option("--output,-o", ia.output, "stdout format: md, csv, json, jsonl")->capture_default_str();
  imp->add_option("--baseline", ia.baseline, "speedup baseline ENGINE:KERNEL")->capture_default_str();
  auto* rep = app.add_subcommand("report", "the table of rows already in results files (yours, other machines', imported "
                                 "peers), with speedups over --baseline");
  std::vector<std::string> rep_files;
  std::string rep_output = "md", rep_baseline = "ternbench:fp16";
  rep->add_option("files", rep_files, "results files (JSONL)")->required();
  rep->add_option("--output,-o", rep_output, "stdout format: md, csv, json, jsonl")->capture_default_str();
  rep->add_option("--baseline", rep_baseline, "speedup baseline ENGINE:KERNEL")->capture_default_str();
  auto* cmp = app.add_subcommand("compare", "before/after: pair the rows of two results files (or of two commits in one) "
                                 "and test each pair's repetitions for a significant change (Mann-Whitney U)");
  tb::CompareArgs ca;
  cmp->add_option("files", ca.files, "before.jsonl after.jsonl; with --before/--after, one or more files")->required();
  cmp->add_option("--before", ca.before_commit, "engine_commit prefix of the before rows (with --after, rows of one file)");
  cmp->add_option("--after", ca.after_commit, "engine_commit prefix of the after rows");
  cmp->add_option("--alpha", ca.alpha, "significance level of the two-sided test")->capture_default_str();
  cmp->add_option("--fail-above", ca.fail_above, "exit 1 (after printing) when a pair is significantly slower by more "
                  "than this, e.g. 5%");
  cmp->add_flag("--any-machine", ca.any_machine, "also pair rows of different machines (by default a pair is one "
                "machine: the same host, cpu and isa)");
  cmp->add_option("--output,-o", ca.output, "stdout format: md, csv, json")->capture_default_str();
  cmp->footer(
      "Rows pair when machine (host + cpu + isa of the row's fingerprint), engine, model, layers, kernel, head,\n"
      "threads, pin, test and its lengths (n_prompt, n_gen) are equal. Rows repeated on one side (several runs of one\n"
      "configuration) are pooled: 'runs' counts them, 'n' their repetitions. Each pair: both medians of the pooled\n"
      "samples_ts, after/before, and a two-sided Mann-Whitney U test: exact null distribution for untied samples with\n"
      "n1*n2 <= 400, else the normal approximation with tie and continuity corrections ('method'). Verdicts: faster,\n"
      "slower (p < alpha), no significant change, or too few samples: the sizes cannot reach alpha whatever the data\n"
      "(3 against 3 repetitions: min p = 2/C(6,3) = 0.1). Rows with no partner are listed, not dropped.\n"
      "Exit status: 0; 1 when --fail-above caught a regression (after printing everything); 2 on bad files or options.\n"
      "\nExamples:\n"
      "  harness compare main.jsonl branch.jsonl           every common test of the two files\n"
      "  harness compare --before 9709281 --after a1b2c3d results/ternbench.jsonl   two commits' rows of one file\n"
      "  harness compare a.jsonl b.jsonl --fail-above 5%   exit 1 on a significant slowdown of more than 5% (CI)\n"
      "  harness compare laptop.jsonl server.jsonl --any-machine -o csv   across machines, as CSV\n");
  auto* energy = app.add_subcommand("energy", "list the energy sources, whether each is usable here and why not");
  bool energy_estimate = false, energy_causal = false;
  std::string energy_model, energy_node = "7nm";
  int64_t energy_seq = 512;
  energy->add_flag("--estimate", energy_estimate, "print the operation-count estimate ([A3] method) for --model");
  energy->add_option("--model", energy_model, "model preset (configs/models) or .json path for the estimate");
  energy->add_option("--node", energy_node, "per-operation energies: 7nm ([A3], default) or 45nm (BitNet paper)");
  energy->add_flag("--causal", energy_causal, "count causal attention, not [A3]'s every-token-attends-all reading");
  energy->add_option("--seq", energy_seq, "sequence length of the estimate (default 512, as [A3])");
  std::string energy_linear = "auto";
  bool energy_json = false;
  energy->add_option("--linear", energy_linear, "price the linear layers as: auto (from the config), ternary, fp16")->capture_default_str();
  energy->add_flag("--json", energy_json, "JSON for scripts: the estimate (with --estimate), else the sources and the one "
                   "a run would measure with");
  auto* models = app.add_subcommand("models", "list model presets with parameter counts and weight memory per format");
  tb::TuneArgs tune_args;
  auto* tune = app.add_subcommand("tune", "TL1/TL2 tile tuner: times tile candidates per matmul shape, writes this machine's tiles cache");
  tb::add_tune_options(*tune, tune_args);
  auto* exp = app.add_subcommand("export", "write a model (synthetic weights) as a GGUF file in a ternary format");
  std::string exp_model = "2B4T", exp_format = "i2s", exp_out;
  uint64_t exp_seed = 1;
  exp->add_option("--model", exp_model, "preset name or .json config")->capture_default_str();
  exp->add_option("--format", exp_format, "tensor format: i2s (bitnet.cpp's I2_S, type 36)")->capture_default_str();
  exp->add_option("--seed", exp_seed, "seed of the synthetic weights")->capture_default_str();
  exp->add_option("--out", exp_out, "output .gguf path")->required();
  // A mistake on the command line ends as one line and exit status 2, as every other error does (CLI11's own
  // exit codes are 100 and up, its message two lines); --help and its kin print and exit 0.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "harness: %s (--help shows the options)\n", one_line(e.what()).c_str());
    return 2;
  }
  try {
    if (!isa.empty()) tb::set_forced_isa(isa);
    if (*kernels) return cmd_kernels();
    if (*energy) return cmd_energy(energy_estimate, energy_model, energy_node, energy_causal, energy_seq, energy_linear, energy_json);
    if (*models) return tb::cmd_models();
    if (*imp) return tb::cmd_import(ia);
    if (*lossless) {
      la.kernels = tb::split_list(la_kernels);
      return tb::cmd_lossless(la);
    }
    if (*rep) return tb::cmd_report(rep_files, rep_output, rep_baseline);
    if (*cmp) return tb::cmd_compare(ca);
    if (*roofline) return cmd_roofline(tb::parse_thread_spec(rf_threads), rf_refresh, rf_json);
    if (*verify) {
      va.threads = tb::parse_thread_spec(va_threads);
      return va.reference ? tb::cmd_verify_reference(va) : tb::cmd_verify(va);
    }
    if (*tune) return tb::cmd_tune(tune_args);
    if (*exp) {
      const tb::ModelConfig c = tb::load_model_config(exp_model);
      tb::export_gguf(*tb::synthetic_weights(c, exp_seed), exp_format, exp_out);
      std::fprintf(stderr, "wrote %s (%s, %s weights, seed %llu)\n", exp_out.c_str(), c.name.c_str(), exp_format.c_str(),
                   (unsigned long long)exp_seed);
      return 0;
    }
    sw.threads = tb::parse_thread_spec(sw_threads);
    sw.kernels = tb::split_list(sw_kernels);
    return tb::cmd_sweep(sw);
  } catch (const tb::Error& e) {
    std::fprintf(stderr, "harness: %s\n", one_line(e.what()).c_str());
    return 2;
  }
}

}  // namespace

// Every exception, not only tb::Error, ends as one line on stderr and exit status 2, never as an abort:
// running out of memory is a user's problem to be told about; anything else is a bug, named as one.
int main(int argc, char** argv) {
  try {
    return harness_main(argc, argv);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "harness: out of memory (std::bad_alloc); a smaller model, fewer threads or --layers needs less\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "harness: internal error: %s\n", one_line(e.what()).c_str());
  } catch (...) {
    std::fprintf(stderr, "harness: internal error: an exception that is not a std::exception\n");
  }
  return 2;
}
