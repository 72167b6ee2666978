// The runner's own float code (attention, norms) takes the widest path allowed (model/runner.cpp, attend_*), and
// every path does the same operations in the same order: logits must be identical, bit for bit, whichever path
// runs. The matmuls are held fixed (int8_ref, exact on every path) and the head is int8 (exact accumulators), so
// any difference would come from the runner's code.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/cpu_features.h"
#include "model/linear_path.h"
#include "model/runner.h"
#include "model/weights.h"

namespace {

std::vector<float> logits_on(const std::string& isa, const tb::WeightSource& w) {
  tb::set_forced_isa(isa);
  tb::RunnerOptions o;
  o.path = tb::resolve_linear("int8_ref");
  o.head = tb::HeadPrecision::int8;
  tb::Runner r(w, o);
  r.set_threads(2);
  const std::vector<int32_t> prompt = {3, 99, 250, 7, 511, 42, 8, 300, 17};  // prefill: attention over 9 positions
  std::vector<float> out, l(size_t(w.config().vocab));
  r.forward(prompt.data(), int64_t(prompt.size()), l.data());
  out.insert(out.end(), l.begin(), l.end());
  for (int32_t t : {5, 123, 64}) {  // decode
    r.forward(&t, 1, l.data());
    out.insert(out.end(), l.begin(), l.end());
  }
  tb::set_forced_isa("");
  return out;
}

TEST(RunnerPaths, LogitsAreIdenticalOnEveryPath) {
  const auto w = tb::synthetic_weights(tb::load_model_config("tiny"), 5);
  const std::vector<float> scalar = logits_on("scalar", *w);
  for (tb::Isa isa : {tb::Isa::neon, tb::Isa::avx2, tb::Isa::avx512vnni}) {
    if (!tb::cpu_supports(isa)) continue;
    const std::vector<float> other = logits_on(tb::isa_name(isa), *w);
    ASSERT_EQ(other.size(), scalar.size());
    EXPECT_EQ(0, std::memcmp(other.data(), scalar.data(), scalar.size() * sizeof(float))) << tb::isa_name(isa);
  }
}

// A probe that observes and changes nothing.
struct Watcher : tb::Probe {
  int quantized_points = 0;
  void quantized(tb::QuantPoint&) override { ++quantized_points; }
};

std::vector<float> logits_of(const tb::WeightSource& w, const std::string& linear, int threads, tb::Probe* probe) {
  tb::RunnerOptions o;
  o.path = tb::resolve_linear(linear);
  o.head = tb::HeadPrecision::int8;
  tb::Runner r(w, o);
  r.set_threads(threads);
  if (probe) r.set_probe(probe);
  const std::vector<int32_t> prompt = {3, 99, 250, 7, 511, 42, 8, 300, 17, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  std::vector<float> out, l(size_t(w.config().vocab));
  r.forward(prompt.data(), int64_t(prompt.size()), l.data());
  out.insert(out.end(), l.begin(), l.end());
  for (int32_t t : {5, 123}) {
    r.forward(&t, 1, l.data());
    out.insert(out.end(), l.begin(), l.end());
  }
  return out;
}

// A ternary kernel's forward pass makes each BitLinear input token by token as it quantizes it (the residual add,
// the FFN activation and the norm before it, in one pass; model/runner.cpp, linear); with a probe attached it makes
// every token first and quantizes after, step by step. Same operations on the same rows: identical logits, at 1
// and 2 threads, with and without the sub-norms, for ReLU^2 and SiLU. (The float baselines always go step by step.)
// Without a probe the last layer also runs past its attention on the prompt's last token alone (its row moved to
// row 0), with a probe on every token: the prompt's logits compare the two as well.
TEST(RunnerPaths, FusedInputsGiveTheLogitsOfTheStepByStepPass) {
  for (bool sub : {true, false}) {
    tb::ModelConfig c = tb::load_model_config("tiny");
    c.sub_norms = sub;
    c.ffn_act = sub ? tb::FfnAct::relu2 : tb::FfnAct::silu;
    const auto w = tb::synthetic_weights(c, 11);
    for (const char* linear : {"i2s", "tq1"}) {
      for (int threads : {1, 2}) {
        Watcher watch;
        const std::vector<float> fused = logits_of(*w, linear, threads, nullptr);
        const std::vector<float> steps = logits_of(*w, linear, threads, &watch);
        EXPECT_EQ(watch.quantized_points, 3 * 4 * c.layers);  // the probe ran: the step-by-step pass was taken
        ASSERT_EQ(fused.size(), steps.size());
        EXPECT_EQ(0, std::memcmp(fused.data(), steps.data(), fused.size() * sizeof(float)))
            << linear << ", " << threads << " threads, sub_norms " << sub;
      }
    }
  }
}

// The default sweep takes every format whose best variant here runs on the widest path allowed: on a forced AVX2 or
// NEON path TLW (scalar and AVX-512 only) is left out, not run as its scalar loop; with every path allowed it is in
// where the CPU has AVX-512, and the float baseline comes last.
TEST(RunnerPaths, DefaultSweepLeavesOutScalarOnlyFormats) {
  for (const char* isa : {"scalar", "neon", "avx2", "avx512vnni"}) {
    if (!tb::cpu_supports(tb::parse_isa(isa))) continue;
    tb::set_forced_isa(isa);
    const std::vector<std::string> names = tb::default_linear_names();
    tb::set_forced_isa("");
    const bool has_tlw = std::find(names.begin(), names.end(), "tlw") != names.end();
    EXPECT_EQ(has_tlw, std::string(isa) == "avx512vnni" || std::string(isa) == "scalar") << isa;
    EXPECT_NE(std::find(names.begin(), names.end(), "i2s"), names.end()) << isa;
    EXPECT_EQ(names.back(), "fp16") << isa;
  }
}

}  // namespace
