// Running an installed llama-bench (llama.cpp, bitnet.cpp, ik_llama.cpp) from a sweep, with the sweep's
// prompt and generation lengths, repetitions and thread list, and importing what it prints.
#pragma once
#include <string>
#include <vector>

#include "harness/results.h"

namespace tb {

struct PeerRun {
  std::string llama_bench;  // path, or a name found on PATH
  std::string model;        // the .gguf it runs
  std::vector<std::string> extra;  // more llama-bench arguments (e.g. ik_llama.cpp's -rtr 1), from --peer-args
};

// Runs `llama_bench -m MODEL -p PP -n TG -r REPS -t T1,T2,... -o json` and imports its output as rows
// measured on this machine. Throws tb::Error with one line naming the peer and what went wrong (not
// found, exit status with the last line it wrote to stderr, killed by a signal, output that does not
// parse), so the caller can report it and go on.
std::vector<json> run_peer(const PeerRun& p, int64_t pp, int64_t tg, int reps, const std::vector<int>& threads);

// Pairs --peer and --peer-model options: equal counts pair in order; one peer runs every model; one
// model is run by every peer. --peer-args (split at spaces; 'none' for none): none, one for every pair, or one per pair in order.
// Anything else throws tb::Error.
std::vector<PeerRun> pair_peers(const std::vector<std::string>& peers, const std::vector<std::string>& models,
                                const std::vector<std::string>& args = {});

}  // namespace tb
