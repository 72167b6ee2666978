// harness: ternbench's command line. Without a subcommand it runs the sweep (harness/sweep.h). Each subcommand
// adds itself in its own file (harness/commands.h); this file builds the app, parses and dispatches.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "base/error.h"
#include "harness/commands.h"
#include "kernels/cpu_features.h"

namespace {

// A message as one line (what() of a foreign exception may hold newlines).
std::string one_line(const char* what) {
  std::string s = what ? what : "";
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

void describe(CLI::App& app) {
  app.description("ternbench: benchmarks and checks ternary (1.58-bit) LLM kernels on this CPU.\n"
               "Without a subcommand: the sweep. For every kernel this CPU runs and the fp16 baseline, at each thread\n"
               "count, a prefill test (pp) and a generation test (tg) as llama-bench runs them (one warm-up, then\n"
               "repetitions). Rows go to stdout as a table and are appended, as each completes, to a JSONL file\n"
               "(results/README.md); Ctrl-C stops and keeps every finished row.");
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
}

int harness_main(int argc, char** argv) {
  CLI::App app;
  describe(app);
  std::string isa;
  app.add_option("--isa", isa, "force an ISA path: auto, scalar, neon, avx2, avx512vnni (env: TERNBENCH_ISA)");
  app.require_subcommand(0, 1);
  const tb::Command sweep = tb::add_sweep_command(app);
  std::vector<tb::Command> commands = {sweep};
  for (tb::AddCommand add : tb::registered_commands()) commands.push_back(add(app));
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
    for (const tb::Command& c : commands)
      if (c.app->parsed()) return c.run();
    return sweep.run();  // no subcommand: the sweep
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
