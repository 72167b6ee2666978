// The quantized runner and the fake-quant reference side by side, layer by layer, with teacher forcing
// (tests/reference, `harness verify --reference`).
//
// Both compute the same quantized network, but their float paths (norms, attention, softmax, RoPE, the
// head) round differently. At every quantization point the two int8 codes and scales are compared: where
// they differ, the input sat within rounding of a .5 boundary (a "flip"). The flip is counted, with its
// layer, position and the pre-quantization difference in quantization steps, and then the runner's codes
// and scale are fed to the reference too, so the two never drift apart. Given the same codes every linear
// output must be identical bit for bit (both sum integers exactly and share one epilogue expression), and so
// must the residual stream (sums of those outputs in the same order); what remains differs only by the
// float paths' rounding, within bounds derived from their operations (crosscheck.cpp).
// A full-precision reference, fed the same tokens, gives the quantization error per layer.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/probe.h"
#include "model/runner.h"
#include "reference/bitnet_ref.h"

namespace tb::ref {

struct CrossCheckOptions {
  std::string kernel = "i2s";  // the runner's kernel: a format or a variant (not a float baseline)
  int threads = 1;
  int64_t context = 0;         // 0: the model's
  int64_t max_batch = 64;      // the runner's token tile in prefill (a longer prompt runs in chunks)
  bool full_precision = true;  // also run the full-precision reference (quantization error per layer)
  Fault fault = Fault::none;   // a deliberate bug in the fake-quant reference (the checker's own tests)
};

struct CrossCheckReport {
  struct Site {
    int64_t values = 0;        // codes compared
    int64_t flips = 0;         // codes that differ
    int64_t scale_diffs = 0;   // tokens whose scale a differs (in any bit)
    double max_diff_steps = 0; // max |x_ref * a_ref - x_run * a_run|, in quantization steps
    double bound_steps = 0;    // what the float paths allow (crosscheck.cpp), for this site
  };
  struct Layer {
    Site site[4];                       // by QuantSite
    int64_t linear_values = 0, linear_mismatches = 0;      // outputs compared bit for bit
    int64_t residual_values = 0, residual_mismatches = 0;  // the residual stream after the block
    double quant_err = 0;  // max over steps of ||x_runner - x_full|| / ||x_full|| after this block
  };
  struct Flip {
    int64_t layer = 0;
    QuantSite site = QuantSite::attn_in;
    int64_t pos = 0, index = 0;
    int runner_code = 0, reference_code = 0;
    double diff_steps = 0;
  };
  std::vector<Layer> layers;
  std::vector<Flip> flips;  // the first kMaxFlipsKept
  static constexpr size_t kMaxFlipsKept = 256;
  int64_t total_flips = 0;
  std::string first_mismatch;  // the first linear or residual output that differs, in words ("" if none)
  int64_t steps = 0, tokens = 0;
  // Logits of the runner against the teacher-forced reference: the largest |difference| as a share of its
  // bound (<= 1: within), and as a share of max |logit|.
  double logit_excess = 0, logit_diff_rel = 0;
  double logit_err_full = 0;  // runner against the full-precision reference, max |diff| / max |logit|
  bool ok() const;            // every linear and residual output identical, every difference within its bound
  std::string failures() const;  // what is not ok, one line each ("" when ok())
};

class CrossCheck {
 public:
  CrossCheck(const WeightSource& src, const CrossCheckOptions& opt);
  ~CrossCheck();
  // Runs T tokens at the next positions through the runner, the teacher-forced fake-quant reference, and
  // the full-precision reference; compares as above. Returns the runner's greedy next token.
  int32_t step(const int32_t* tokens, int64_t T);
  const std::vector<float>& runner_logits() const;
  const std::vector<float>& reference_logits() const;
  const CrossCheckReport& report() const;
  Runner& runner();

 private:
  int32_t step_chunk(const int32_t* tokens, int64_t T);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tb::ref
