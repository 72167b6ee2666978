// The sweep: `harness --model 2B4T --threads 1..16`. For every kernel (and float baseline) and thread
// count, a prompt test (pp) and a generation test (tg) the way llama-bench runs them: one warm-up, then
// repetitions; each result appended to a JSONL file as it completes; a table on stdout.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tb {

struct SweepArgs {
  std::string model = "2B4T";           // preset name, .json config or .gguf file
  std::vector<std::string> kernels;     // resolve_linear() names; empty: default_linear_names()
  std::vector<int> threads = {1};
  int64_t pp = 128, tg = 128;           // 0 skips the test
  int reps = 5;
  uint64_t seed = 1;
  std::string head = "fp16";
  int64_t layers = 0;                   // > 0: run only the first N layers (marked in every row)
  std::string output = "md";            // stdout: md, csv, json, jsonl
  std::string out_file = "results/ternbench.jsonl";  // "none": do not write a results file
  std::string pin = "none";             // none, compact, cores
  double cv_warn = 0.05;                // warn when a test's coefficient of variation exceeds this
  bool quiet = false;                   // no progress on stderr
  // Hardware counters go into every row where they open (else why not); true also prints them in the table
  // and CSV (and per test on stderr).
  bool counters = false;
  // TL1/TL2 shapes without tuned tiles on this CPU (harness/tiles.h) are tuned before their first test and
  // cached; false: they run on the kernels' defaults, which the run says.
  bool tune_tiles = true;
  // Peers: installed llama-bench binaries run after ternbench's own tests (never at the same time) with
  // the same pp, tg, reps and threads; paired with their models as pair_peers() says (harness/peers.h).
  std::vector<std::string> peers, peer_models, peer_args;
  std::string baseline = "ternbench:fp16";  // the speedup table's baseline, ENGINE:KERNEL
};
int cmd_sweep(const SweepArgs& a);

// `harness import FILE...`: llama-bench output files as result rows, appended to the results file and shown.
struct ImportArgs {
  std::vector<std::string> files;
  bool this_machine = false;
  std::string engine;
  std::string output = "md", out_file = "results/ternbench.jsonl", baseline = "ternbench:fp16";
};
int cmd_import(const ImportArgs& a);

// `harness report FILE.jsonl...`: the table (and speedups over a baseline) of rows already in results files;
// a file damaged at its end is read up to the damage, with a warning.
int cmd_report(const std::vector<std::string>& files, const std::string& output, const std::string& baseline);

}  // namespace tb
