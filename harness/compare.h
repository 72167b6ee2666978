// `harness compare`: before/after. Rows of two results files (or of two commits in one) are paired by what
// was measured, repeated runs of one configuration are pooled, and each pair's repetitions (samples_ts) are
// tested with a two-sided Mann-Whitney U test (harness/stats.h). Three steps: select the rows (the command),
// pair and test them (compare_rows, no I/O), print (render_comparison).
#pragma once
#include <string>
#include <vector>

#include "harness/results.h"
#include "harness/stats.h"

namespace tb {

struct CompareArgs {
  std::vector<std::string> files;     // A.jsonl B.jsonl; with --before/--after, one or more files
  std::string before_commit, after_commit;  // engine_commit prefixes (both or neither)
  double alpha = 0.05;
  std::string fail_above;             // "5%" or "5": exit 1 on a significant regression beyond it; empty: never
  bool any_machine = false;
  std::string output = "md";          // md, csv, json
};
int cmd_compare(const CompareArgs& a);

struct CompareOptions {
  double alpha = 0.05;
  bool any_machine = false;     // leave the machine out of the pairing key
  double fail_above_pct = -1;   // < 0: no --fail-above
};

enum class Verdict { faster, slower, no_change, too_few };
// "faster", "slower", "no significant change", "too few samples"
const char* verdict_name(Verdict v);
// too_few when the sample sizes cannot reach alpha at all (min_p > alpha, whatever the data), else
// faster / slower when p < alpha (after ranks above / below before: more tokens/s is faster), else no_change.
Verdict decide(const MannWhitney& mw, double alpha);

// The rows of one side that share a key, pooled.
struct Group {
  json key;                          // the pairing fields (machine: host, cpu, isa unless --any-machine)
  int rows = 0;                      // rows pooled
  int rows_without_samples = 0;      // rows with no samples_ts array (they add nothing)
  std::vector<double> samples;       // every row's samples_ts, in file order
  std::vector<std::string> machines; // distinct "host (isa)" of the rows
  std::vector<std::string> commits;  // distinct engine_commit of the rows
  double median_ts = 0;              // median of the pooled samples (NaN without samples)
  std::string model;                 // for tables: "tiny", or "2B4T (2 of 30 layers)" after --layers
};

struct ComparePair {
  Group before, after;
  double ratio = 0;                  // after median / before median
  MannWhitney mw;                    // x = before, y = after
  Verdict verdict = Verdict::no_change;
  bool fails = false;                // slower, significant, and beyond --fail-above
};

struct Unmatched {
  Group group;
  bool before = true;                // the side it is on
  bool on_another_machine = false;   // the other side has this key on a different machine (--any-machine pairs them)
};

struct Comparison {
  CompareOptions options;
  std::vector<ComparePair> pairs;    // in the order keys first appear before, then after
  std::vector<Unmatched> unmatched;  // before's, then after's
  std::vector<std::string> warnings; // for stderr
  int failed() const;                // pairs with fails set
};

// The pairing key of a row: machine (host, cpu, isa; null with any_machine), engine, model, n_layers, kernel,
// head, threads, pin, test, n_prompt, n_gen. A field a row lacks is null (and matches only null).
json compare_key(const json& row, bool any_machine);

Comparison compare_rows(const std::vector<json>& before, const std::vector<json>& after, const CompareOptions& o);

// Rows of `rows` whose engine_commit starts with `before` or with `after`; rows of other commits go to
// *other_commits (counted, by commit). Throws tb::Error when a prefix selects no row or a row matches both.
void split_by_commit(const std::vector<json>& rows, const std::string& before, const std::string& after,
                     std::vector<json>* before_rows, std::vector<json>* after_rows, std::vector<std::string>* other_commits);

// "5%", "5", "2.5 %" -> 5, 5, 2.5; throws tb::Error (naming --fail-above) otherwise, or when negative.
double parse_percent(const std::string& s);

// What each side is, for the heading: "A.jsonl (12 rows)" or "commit 9709281 in r.jsonl (12 rows)".
struct CompareLabels {
  std::string before, after;
};
// md, csv or json (throws tb::Error for another mode).
std::string render_comparison(const Comparison& c, const std::string& mode, const CompareLabels& labels);

}  // namespace tb
