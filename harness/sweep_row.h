// The sweep's result row (results/README.md: the fields): what one test measured, with everything needed to
// read it later. A pure function of its inputs: it measures nothing and prints nothing.
#pragma once
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "energy/estimate.h"
#include "energy/recorder.h"
#include "harness/counters.h"
#include "harness/roofline.h"
#include "model/linear_path.h"
#include "model/runner.h"

namespace tb {

using json = nlohmann::json;

// One test as measured (harness/sweep.cpp): samples, the runner's timers and the counters over the timed
// repetitions, and the energy of a hardware meter when one was used.
struct TestMeasurement {
  std::vector<double> tps;  // tokens/s of each timed repetition
  Runner::Timers timers;
  CounterSample counted{};
  std::optional<energy::EnergyReport> energy;
};

struct Stats {
  double mean = 0, sd = 0, median = 0, cv = 0;  // sd: sample standard deviation; cv = sd / mean
};
Stats stats(std::vector<double> v);

// What the rows of one kernel share.
struct KernelContext {
  const ModelConfig* cfg = nullptr;
  int64_t full_layers = 0;     // the model's layers (cfg->layers may be a --layers subset)
  std::string source;          // "synthetic (seed 1)" or the GGUF path
  HeadPrecision head = HeadPrecision::fp16;  // the plan's, parsed once
  std::string pin;             // as given on the command line
  std::string run_id;
  const json* machine = nullptr;
  const LinearPath* path = nullptr;
  json tiles;                  // TL tiles used and where they came from; null for other kernels
  MemoryPlan mem;
  bool peak_reset = false;     // peak RSS is this kernel's (else the process lifetime's)
  std::string energy_source;   // a hardware meter's name, or "estimate"
  const energy::Estimate* estimate = nullptr;
  std::string estimate_node;   // the estimate's per-operation energies, e.g. "7nm"
  int reps = 0;
  double cv_warn = 0;
};

// One test of that kernel.
struct TestContext {
  int threads = 0;
  bool pp = true;              // prefill (pp) or generation (tg)
  int64_t n = 0;               // prompt or generated tokens
  // tg: read bandwidth probed beside this test at its thread count: before the kernel was packed, and again right
  // after the test where peak RSS can be reset (the probe's buffer stays out of the next test's peak). The higher
  // one is the ceiling: on a shared machine bandwidth moves, and a probe in a busy moment understates it.
  std::vector<double> read_gbs_probes;
  double read_gbs_now() const {
    return read_gbs_probes.empty() ? 0.0 : *std::max_element(read_gbs_probes.begin(), read_gbs_probes.end());
  }
  const RooflinePoint* roof = nullptr;
  double fork_join_s = 0;      // one empty fork-join at this thread count
  size_t peak_rss = 0;
};

json sweep_row(const KernelContext& k, const TestContext& t, const TestMeasurement& m, const HwCounters& counters);

}  // namespace tb
