// The runner's own float code (attention, norms) takes the widest path allowed (model/runner.cpp, attend_*), and
// every path does the same operations in the same order: logits must be identical, bit for bit, whichever path
// runs. The matmuls are held fixed (int8_ref, exact on every path) and the head is int8 (exact accumulators), so
// any difference would come from the runner's code.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "kernels/cpu_features.h"
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

}  // namespace
