// `harness compare`: its command line (the comparison itself is compare.cpp, which tests link without CLI11).
#include <memory>

#include "harness/commands.h"
#include "harness/compare.h"

namespace tb {

static Command add_compare_command(CLI::App& app) {
  auto ca = std::make_shared<CompareArgs>();
  CLI::App* cmp = app.add_subcommand("compare", "before/after: pair the rows of two results files (or of two commits in one) "
                                 "and test each pair's repetitions for a significant change (Mann-Whitney U)");
  cmp->add_option("files", ca->files, "before.jsonl after.jsonl; with --before/--after, one or more files")->required();
  cmp->add_option("--before", ca->before_commit, "engine_commit prefix of the before rows (with --after, rows of one file)");
  cmp->add_option("--after", ca->after_commit, "engine_commit prefix of the after rows");
  cmp->add_option("--alpha", ca->alpha, "significance level of the two-sided test")->capture_default_str();
  cmp->add_option("--fail-above", ca->fail_above, "exit 1 (after printing) when a pair is significantly slower by more "
                  "than this, e.g. 5%");
  cmp->add_flag("--any-machine", ca->any_machine, "also pair rows of different machines (by default a pair is one "
                "machine: the same host, cpu and isa)");
  cmp->add_option("--output,-o", ca->output, "stdout format: md, csv, json")->capture_default_str();
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
  return {cmp, [ca] { return cmd_compare(*ca); }};
}
[[maybe_unused]] const bool registered = register_command(70, add_compare_command);

}  // namespace tb
