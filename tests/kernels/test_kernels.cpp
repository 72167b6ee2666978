// The bit-exact suite: every registered kernel variant this CPU can run, against the oracle.
// int32 accumulators must equal the oracle exactly; float outputs (one shared epilogue) must be
// bit-identical to the oracle's. Variants this CPU cannot run are skipped with a message.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <sstream>

#include "tests/kernels/oracle.h"

namespace {

using tbtest::Shape;

struct Case {
  std::string kernel;
  Shape shape;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.kernel << " " << c.shape.N << "x" << c.shape.K; }

std::string case_name(const testing::TestParamInfo<Case>& i) {
  return i.param.kernel + "_" + std::to_string(i.param.shape.N) + "x" + std::to_string(i.param.shape.K);
}

// Runs kernel k on (w, x) at the given thread count and compares with the oracle; returns "" or a
// description of the first difference (kernel, shape, T, threads, index, values).
std::string compare(const tb::Kernel& k, const tb::PackedWeights& p, const tb::QuantizedActs& x,
                    const tbtest::OracleOut& want, int threads) {
  const int64_t N = p.N, K = p.K;
  tb::PreparedActs prep;
  tb::prepare_activations(k, x, prep);
  std::vector<int32_t> c(size_t(x.T * N), 0x7eadbeef);
  std::vector<float> y(size_t(x.T * N), -1.0f);
  tb::run_i32(k, p, prep, c.data(), threads);
  tb::run_f32(k, p, prep, y.data(), threads);
  std::ostringstream where;
  where << k.name << " " << N << "x" << K << " T=" << x.T << " threads=" << threads;
  for (size_t i = 0; i < c.size(); ++i) {
    if (c[i] != want.c[i]) {
      std::ostringstream m;
      m << where.str() << ": int32 differs first at token " << i / N << ", row " << i % N << ": got " << c[i]
        << ", oracle " << want.c[i];
      return m.str();
    }
    if (std::memcmp(&y[i], &want.y[i], sizeof(float)) != 0) {
      std::ostringstream m;
      m.precision(9);
      m << where.str() << ": float differs first at token " << i / N << ", row " << i % N << ": got " << y[i]
        << ", oracle " << want.y[i];
      return m.str();
    }
  }
  return "";
}

class BitExact : public testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    const tb::Kernel& k = tb::find_kernel(GetParam().kernel);
    if (!tb::cpu_supports(k.isa))
      GTEST_SKIP() << "this CPU cannot run the " << tb::isa_name(k.isa) << " path of " << k.name;
    const std::string bad = k.format->check_shape(GetParam().shape.N, GetParam().shape.K);
    if (!bad.empty()) GTEST_SKIP() << k.format->name << " does not take this shape: " << bad;
  }
};

// Model shapes: T = 1, 2, 3, 8, 64, 128; seeds 1 and 2; 1, 2 and 3 threads.
TEST_P(BitExact, RandomInputsEqualOracle) {
  const tb::Kernel& k = tb::find_kernel(GetParam().kernel);
  const auto [N, K] = GetParam().shape;
  std::vector<int64_t> tokens = {1, 2, 3, 8, 64, 128};
  if (tbtest::quick()) tokens = {1, 2, 3, 8};
  if (tbtest::sanitizer_run()) tokens = {1, 3};
  for (uint64_t seed : {1u, 2u}) {
    if (tbtest::sanitizer_run() && seed > 1) break;
    const auto w = tbtest::ternary(N, K, seed * 1000 + uint64_t(N + K));
    const float scale = 0.0123f * float(seed);
    const tb::PackedWeights p = tb::pack_weights(*k.format, w.data(), N, K, scale);
    for (int64_t T : tokens) {
      const tb::QuantizedActs x = tbtest::random_acts(T, K, seed * 77 + uint64_t(T));
      const tbtest::OracleOut want = tbtest::oracle(w, N, K, scale, x);
      for (int threads : {1, 2, 3}) {
        const std::string diff = compare(k, p, x, want, threads);
        ASSERT_EQ(diff, "") << "seed " << seed;
      }
    }
  }
}

// Extreme inputs: activations all +127, all -128, alternating; weights all +1, all -1, all 0,
// alternating. At K = 6912 these give the largest partial sums any kernel can meet.
void check_extremes(const tb::Kernel& k, int64_t N, int64_t K) {
  const std::vector<std::pair<const char*, int8_t (*)(int64_t)>> acts = {
      {"all +127", [](int64_t) -> int8_t { return 127; }},
      {"all -128", [](int64_t) -> int8_t { return -128; }},
      {"alternating", [](int64_t k) -> int8_t { return k % 2 ? -128 : 127; }},
  };
  const std::vector<std::pair<const char*, int8_t (*)(int64_t)>> weights = {
      {"all +1", [](int64_t) -> int8_t { return 1; }},
      {"all -1", [](int64_t) -> int8_t { return -1; }},
      {"all 0", [](int64_t) -> int8_t { return 0; }},
      {"alternating", [](int64_t i) -> int8_t { return int8_t((i % 3) - 1); }},
  };
  const int64_t n_rows = std::min<int64_t>(N, 37);  // odd, so row edges are exercised too
  for (const auto& [an, af] : acts)
    for (const auto& [wn, wf] : weights) {
      std::vector<int8_t> w(size_t(n_rows * K));
      for (int64_t i = 0; i < n_rows * K; ++i) w[i] = wf(i);
      const tb::PackedWeights p = tb::pack_weights(*k.format, w.data(), n_rows, K, 0.5f);
      for (int64_t T : {1, 7}) {
        std::vector<int8_t> q(size_t(T * K));
        for (int64_t t = 0; t < T; ++t)
          for (int64_t kk = 0; kk < K; ++kk) q[t * K + kk] = af(kk + t);
        const std::vector<float> a(size_t(T), 127.0f / 3.5f);
        const tb::QuantizedActs x = tb::acts_from_int8(q.data(), T, K, a.data());
        const tbtest::OracleOut want = tbtest::oracle(w, n_rows, K, 0.5f, x);
        for (int threads : {1, 3}) {
          const std::string diff = compare(k, p, x, want, threads);
          ASSERT_EQ(diff, "") << "activations " << an << ", weights " << wn;
        }
      }
    }
}

TEST_P(BitExact, ExtremeInputsEqualOracle) {
  check_extremes(tb::find_kernel(GetParam().kernel), GetParam().shape.N, GetParam().shape.K);
}

std::vector<Case> model_cases() {
  std::vector<Case> out;
  for (const tb::Kernel& k : tb::all_kernels()) {
    if (std::string(k.name) == "int8_ref__scalar") continue;  // the oracle itself
    for (const Shape& s : tbtest::model_shapes()) out.push_back({k.name, s});
  }
  return out;
}
INSTANTIATE_TEST_SUITE_P(ModelShapes, BitExact, testing::ValuesIn(model_cases()), case_name);

// Small and odd shapes each format allows: sizes 1..10, powers of two and +-1, multiples of 16.
class SmallShapes : public testing::TestWithParam<std::string> {};

TEST_P(SmallShapes, AllAllowedSmallShapesEqualOracle) {
  const tb::Kernel& k = tb::find_kernel(GetParam());
  if (!tb::cpu_supports(k.isa)) GTEST_SKIP() << "this CPU cannot run the " << tb::isa_name(k.isa) << " path";
  const std::vector<int64_t> ns = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 16, 17, 31, 32, 33, 64};
  const std::vector<int64_t> ks = {1,  2,  3,  4,  5,   6,   7,   8,   9,   10,  15,  16,  17,  31, 32,
                                   33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 383, 384, 385, 640,
                                   // TL2: whole triples only, a 4-weight tail, K tiles of 192 + a tail
                                   12, 130, 390};
  int tried = 0;
  for (int64_t K : ks) {
    if (!k.format->check_shape(1, K).empty()) continue;
    for (int64_t N : ns) {
      const auto w = tbtest::ternary(N, K, uint64_t(N * 1000 + K));
      const tb::PackedWeights p = tb::pack_weights(*k.format, w.data(), N, K, 0.75f);
      for (int64_t T : {1, 2, 3, 5, 7, 13, 33, 37}) {
        const tb::QuantizedActs x = tbtest::random_acts(T, K, uint64_t(T * 31 + K));
        const tbtest::OracleOut want = tbtest::oracle(w, N, K, 0.75f, x);
        for (int threads : {1, 2, 3}) {
          const std::string diff = compare(k, p, x, want, threads);
          ASSERT_EQ(diff, "");
        }
        ++tried;
      }
    }
  }
  EXPECT_GT(tried, 0) << "no small shape was allowed by " << k.format->name;
}

// Extreme values through the tails: K not a multiple of the SIMD width, an odd number of I2_S blocks.
TEST_P(SmallShapes, ExtremeInputsAtSmallK) {
  const tb::Kernel& k = tb::find_kernel(GetParam());
  if (!tb::cpu_supports(k.isa)) GTEST_SKIP() << "this CPU cannot run the " << tb::isa_name(k.isa) << " path";
  int tried = 0;
  for (int64_t K : {65, 100, 384, 640})
    if (k.format->check_shape(1, K).empty()) {
      check_extremes(k, 9, K);
      ++tried;
    }
  EXPECT_GT(tried, 0);
}

std::vector<std::string> kernel_names() {
  std::vector<std::string> out;
  for (const tb::Kernel& k : tb::all_kernels())
    if (std::string(k.name) != "int8_ref__scalar") out.push_back(k.name);
  return out;
}
INSTANTIATE_TEST_SUITE_P(AllKernels, SmallShapes, testing::ValuesIn(kernel_names()),
                         [](const testing::TestParamInfo<std::string>& i) { return i.param; });

// The oracle itself, against a hand-computed case.
TEST(Oracle, HandComputed) {
  const std::vector<int8_t> w = {1, -1, 0, 1, 0, 0, -1, -1};  // 2 x 4
  const std::vector<int8_t> q = {10, 20, 30, -128};
  const float a = 2.0f;
  const tb::QuantizedActs x = tb::acts_from_int8(q.data(), 1, 4, &a);
  const tbtest::OracleOut o = tbtest::oracle(w, 2, 4, 0.5f, x);
  EXPECT_EQ(o.c[0], 10 - 20 - 128);
  EXPECT_EQ(o.c[1], -30 + 128);
  EXPECT_EQ(o.y[0], float(10 - 20 - 128) / 2.0f * 0.5f);
  EXPECT_EQ(o.y[1], float(-30 + 128) / 2.0f * 0.5f);
}

}  // namespace
