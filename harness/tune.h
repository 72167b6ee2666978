// `harness tune`: the TL tile tuner. For each TL format and matmul shape of a model it times the cold-weight
// decode GEMV of every tile candidate (harness/tiles.h), prints each one's speed and the exact bytes per weight,
// and writes the winners to this machine's tiles cache (or --out).
#pragma once
#include <string>

#include "CLI/CLI.hpp"

namespace tb {

struct TuneArgs {
  std::string model = "2B4T", formats = "tl1,tl2", out;
  int threads = 1, reps = 5;
  long cold_mb = 256;
  bool quick = false, dry_run = false;
};
// Registers the subcommand's options on `cmd`.
void add_tune_options(CLI::App& cmd, TuneArgs& a);
int cmd_tune(const TuneArgs& a);

}  // namespace tb
