// The sweep's command line (the default command and its alias `run`), and `import` and `report`, which
// show rows the way the sweep does.
#include <memory>
#include <string>
#include <vector>

#include "base/strings.h"
#include "harness/commands.h"
#include "harness/sweep.h"
#include "harness/thread_spec.h"

namespace tb {

namespace {

// The sweep's options, on the main command and on its alias `run`.
void add_sweep_options(CLI::App* app, SweepArgs& a, std::string& threads, std::string& kernels) {
  add_model_option(app, a.model, "preset name (harness models), .json config, or .gguf checkpoint");
  app->add_option("--kernels,-k", kernels, "comma-separated formats, variants or float baselines, e.g. i2s,tl2,fp16 or i2s__avx2; "
                  "default: every format this CPU runs (best path each) and fp16");
  app->add_option("--threads,-t", threads, "thread counts: 1..16, 1,2,4,8, 1..16:2 or max")->capture_default_str();
  app->add_option("--pp,-p", a.pp, "prompt tokens per prefill test (0: no prefill test)")->capture_default_str();
  app->add_option("--tg,-n", a.tg, "tokens per generation test (0: no generation test)")->capture_default_str();
  app->add_option("--reps,-r", a.reps, "repetitions after one warm-up")->capture_default_str();
  add_seed_option(app, a.seed, "seed of the synthetic weights and prompt");
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

}  // namespace

Command add_sweep_command(CLI::App& app) {
  struct Args {
    SweepArgs sweep;
    std::string threads = "1", kernels;
  };
  auto a = std::make_shared<Args>();
  add_sweep_options(&app, a->sweep, a->threads, a->kernels);
  CLI::App* run = app.add_subcommand("run", "the sweep (the same as harness without a subcommand)");
  add_sweep_options(run, a->sweep, a->threads, a->kernels);
  return {run, [a] {
            a->sweep.threads = parse_thread_spec(a->threads);
            a->sweep.kernels = split_list(a->kernels);
            return cmd_sweep(a->sweep);
          }};
}

static Command add_import_command(CLI::App& app) {
  auto ia = std::make_shared<ImportArgs>();
  CLI::App* imp = app.add_subcommand("import", "read llama-bench output (JSON, JSONL, CSV) of llama.cpp, bitnet.cpp or "
                                     "ik_llama.cpp as result rows: appended to the results file, shown beside ternbench's");
  imp->add_option("files", ia->files, "llama-bench output files")->required();
  imp->add_flag("--this-machine", ia->this_machine, "the files were measured here: give rows this machine's fingerprint "
                "(default: the file's own CPU description only)");
  imp->add_option("--engine", ia->engine, "override the detected engine name (llama.cpp, bitnet.cpp, ik_llama.cpp)");
  imp->add_option("--out", ia->out_file, "results file to append to (JSONL), or none")->capture_default_str();
  imp->add_option("--output,-o", ia->output, "stdout format: md, csv, json, jsonl")->capture_default_str();
  imp->add_option("--baseline", ia->baseline, "speedup baseline ENGINE:KERNEL")->capture_default_str();
  return {imp, [ia] { return cmd_import(*ia); }};
}
[[maybe_unused]] const bool registered_import = register_command(50, add_import_command);

static Command add_report_command(CLI::App& app) {
  struct Args {
    std::vector<std::string> files;
    std::string output = "md", baseline = "ternbench:fp16";
  };
  auto a = std::make_shared<Args>();
  CLI::App* rep = app.add_subcommand("report", "the table of rows already in results files (yours, other machines', imported "
                                     "peers), with speedups over --baseline");
  rep->add_option("files", a->files, "results files (JSONL)")->required();
  rep->add_option("--output,-o", a->output, "stdout format: md, csv, json, jsonl")->capture_default_str();
  rep->add_option("--baseline", a->baseline, "speedup baseline ENGINE:KERNEL")->capture_default_str();
  return {rep, [a] { return cmd_report(a->files, a->output, a->baseline); }};
}
[[maybe_unused]] const bool registered_report = register_command(60, add_report_command);

}  // namespace tb
