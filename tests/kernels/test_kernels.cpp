// The bit-exact suite: every registered kernel variant this CPU can run (int8_ref__scalar too), through the
// driver, against the oracle of oracle.h (a plain loop and the epilogue written out: no driver, no registry).
// int32 accumulators must equal the oracle exactly; float outputs (one shared epilogue) must be
// bit-identical to the oracle's. Variants this CPU cannot run are skipped with a message. Deliberately
// broken variants (a skipped token tile, wrong epilogues) show that the comparison catches them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <tuple>

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

using tbtest::compare;

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

// The oracle's results for one shape, seed and T, computed once and shared by every kernel: the model cases
// run shape by shape (model_cases()), so only the current shape's results are kept.
const tbtest::OracleOut& cached_oracle(const std::vector<int8_t>& w, int64_t N, int64_t K, float scale,
                                       const tb::QuantizedActs& x, uint64_t seed) {
  using Key = std::tuple<int64_t, int64_t, uint64_t, int64_t>;
  static std::map<Key, tbtest::OracleOut> cache;
  const Key key(N, K, seed, x.T);
  if (!cache.empty() && (std::get<0>(cache.begin()->first) != N || std::get<1>(cache.begin()->first) != K))
    cache.clear();
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, tbtest::oracle(w, N, K, scale, x)).first;
  return it->second;
}

// Token counts of the model-shape tests: GEMV, small GEMMs, both sides of the driver's 32-token tile
// (31, 33), and 64, 128, 129 (whole tiles and one token over). Under qemu (quick) the largest are left out,
// and 31 and 33 run on the two smaller shapes only (the token tiling does not depend on the shape; the odd
// shapes test them on every kernel too).
std::vector<int64_t> model_tokens(const Shape& s) {
  if (tbtest::sanitizer_run()) return {1, 3};
  if (tbtest::quick()) {
    if (s.N * s.K <= 2560 * 2560) return {1, 2, 3, 8, 31, 33};
    return {1, 2, 3, 8};
  }
  return {1, 2, 3, 8, 31, 33, 64, 128, 129};
}

// Model shapes: seeds 1 and 2 with 1, 2 and 3 threads, except from 31 tokens on under qemu (seed 1, 3
// threads) and from 64 tokens on (3 threads: uneven row and token tile splits). This keeps the run near the
// CPU time of the earlier suite (T <= 128 at every thread count, oracle through the driver per kernel).
TEST_P(BitExact, RandomInputsEqualOracle) {
  const tb::Kernel& k = tb::find_kernel(GetParam().kernel);
  const auto [N, K] = GetParam().shape;
  for (uint64_t seed : {1u, 2u}) {
    if (tbtest::sanitizer_run() && seed > 1) break;
    const auto w = tbtest::ternary(N, K, seed * 1000 + uint64_t(N + K));
    const float scale = 0.0123f * float(seed);
    const tb::PackedWeights p = tb::pack_weights(*k.format, w.data(), N, K, scale);
    for (int64_t T : model_tokens(GetParam().shape)) {
      const bool trimmed = T >= 64 || (T >= 31 && tbtest::quick());
      if (trimmed && tbtest::quick() && seed > 1) continue;
      const tb::QuantizedActs x = tbtest::random_acts(T, K, seed * 77 + uint64_t(T));
      const tbtest::OracleOut& want = cached_oracle(w, N, K, scale, x, seed);
      for (int threads : trimmed ? std::vector<int>{3} : std::vector<int>{1, 2, 3}) {
        const std::string diff = compare(k, p, x, want, threads);
        ASSERT_EQ(diff, "") << "seed " << seed;
      }
    }
  }
}

// A GEMM that looks up only for whole runs of Kernel::lookup_tokens tokens and tiles of enough rows (i2s on AVX2:
// 256) meets the extreme inputs there too: 1024 rows (the driver's tiles at 1 thread: 256 rows x 16 tokens, 512 x 32),
// K = 6912, the activations at -128 with all weights +1 or -1, whose int16 runs are the longest the kernel allows.
// Which tiles look up, as the sweep's ceilings count them: whole tiles of lookup_tokens tokens and lookup_rows rows.
TEST(LookupGemms, LookupShareFollowsTheDriversTiles) {
  int checked = 0;
  for (const tb::Kernel& k : tb::all_kernels()) {
    if (k.lookup_tokens <= 0) {
      EXPECT_EQ(tb::gemm_lookup_share(k, 2560, 128, 1), 0.0) << k.name;
      continue;
    }
    ++checked;
    EXPECT_EQ(k.lookup_tokens, 16) << k.name;  // the figures below are i2s__avx2's: 16 tokens, 256 rows
    EXPECT_EQ(k.lookup_rows, 256) << k.name;
    EXPECT_EQ(tb::gemm_lookup_share(k, 2560, 128, 1), 1.0);   // one tile of 2560 rows, 8 x 16 tokens
    EXPECT_EQ(tb::gemm_lookup_share(k, 2560, 20, 1), 0.8);    // 16 of 20 tokens
    EXPECT_EQ(tb::gemm_lookup_share(k, 2560, 15, 1), 0.0);    // vpmaddubsw
    EXPECT_EQ(tb::gemm_lookup_share(k, 128, 128, 1), 0.0);    // one tile of 128 rows
    EXPECT_EQ(tb::gemm_lookup_share(k, 2560, 16, 16), 0.0);   // 16 threads: 32-row tiles
    EXPECT_EQ(tb::gemm_lookup_share(k, 6912, 128, 16), 1.0);  // 16 threads: 11 row tiles of 632 (the last 592)
  }
  if (checked == 0) GTEST_SKIP() << "no kernel of this binary computes a GEMM by table lookup";
}

TEST(LookupGemms, ExtremeInputsInTheLookupPathEqualOracle) {
  int checked = 0;
  for (const tb::Kernel& k : tb::all_kernels()) {
    if (k.lookup_tokens <= 0 || !tb::cpu_supports(k.isa)) continue;
    EXPECT_EQ(tbtest::check_extremes(k, 1024, 6912, {k.lookup_tokens, 2 * k.lookup_tokens}, {1}, true), "") << k.name;
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "no kernel of this binary and CPU computes a GEMM by table lookup";
}

// Lookup tiles whose rows are not a multiple of 8, the lookup's write-out unit (i2s__avx2 writes 8 rows x 8 tokens at
// a time and masks the last rows % 8): 1028 rows at 1 thread are tiles of 516 and 512 rows, at 2 threads 344, 344, 340;
// 33 tokens are two 16-token lookup tiles and one token by vpmaddubsw. Both the int32 sums and the floats.
TEST(LookupGemms, RowTilesOfAnySizeEqualOracle) {
  int checked = 0;
  for (const tb::Kernel& k : tb::all_kernels()) {
    if (k.lookup_tokens <= 0 || !tb::cpu_supports(k.isa)) continue;
    const int64_t N = 1028, K = 256, T = 33;
    const auto w = tbtest::ternary(N, K, 4242);
    const tb::PackedWeights p = tb::pack_weights(*k.format, w.data(), N, K, 0.037f);
    const tb::QuantizedActs x = tbtest::random_acts(T, K, 4243);
    const tbtest::OracleOut want = tbtest::oracle(w, N, K, 0.037f, x);
    for (int threads : {1, 2}) EXPECT_EQ(compare(k, p, x, want, threads), "") << k.name << ", " << threads << " threads";
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "no kernel of this binary and CPU computes a GEMM by table lookup";
}

// At K = 6912 the extreme inputs give the largest int32 sums any kernel meets (37 rows: odd, so row edges too).
// 16 tokens: the GEMM paths that take a whole 16-token tile at once (i2s's AVX2 table lookups, TLW), whose int16
// runs these inputs push to their limits; 33: those that take 32 or more at once (i2s's AVX-512 GEMM with rows in the
// lanes), with a 3-token edge.
TEST_P(BitExact, ExtremeInputsEqualOracle) {
  EXPECT_EQ(tbtest::check_extremes(tb::find_kernel(GetParam().kernel), std::min<int64_t>(GetParam().shape.N, 37),
                                   GetParam().shape.K, {1, 7, 16, 33}, {1, 3}),
            "");
}

// Shape by shape, every kernel (int8_ref__scalar is a kernel under test like the others).
std::vector<Case> model_cases() {
  std::vector<Case> out;
  for (const Shape& s : tbtest::model_shapes())
    for (const tb::Kernel& k : tb::all_kernels()) out.push_back({k.name, s});
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
                                   12, 130, 390,
                                   // TQ1: one, three (odd: a half chunk on AVX-512) and five whole groups of 160
                                   160, 480, 800};
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

// Odd shapes at the token counts of the model shapes (both sides of the driver's 32-token tile, whole tiles
// and one over): rows not a multiple of 4 or 32, K with a tail where the format allows one. 306 rows: in the default
// 64-row tiles the last holds 50 (i2s on AVX-512: 4 groups of 16 rows, the last of them partial).
TEST_P(SmallShapes, OddShapesAtTileEdgeTokenCounts) {
  const tb::Kernel& k = tb::find_kernel(GetParam());
  if (!tb::cpu_supports(k.isa)) GTEST_SKIP() << "this CPU cannot run the " << tb::isa_name(k.isa) << " path";
  std::vector<int64_t> tokens = {1, 31, 33, 64, 128, 129};
  if (tbtest::quick() || tbtest::sanitizer_run()) tokens = {1, 31, 33};
  int tried = 0;
  for (int64_t K : {129, 390, 640}) {
    if (!k.format->check_shape(1, K).empty()) continue;
    for (int64_t N : {1, 7, 33, 97, 306}) {
      const auto w = tbtest::ternary(N, K, uint64_t(N * 1000 + K + 17));
      const tb::PackedWeights p = tb::pack_weights(*k.format, w.data(), N, K, 0.375f);
      for (int64_t T : tokens) {
        const tb::QuantizedActs x = tbtest::random_acts(T, K, uint64_t(T * 131 + K));
        const tbtest::OracleOut want = tbtest::oracle(w, N, K, 0.375f, x);
        for (int threads : {1, 3}) ASSERT_EQ(compare(k, p, x, want, threads), "");
        ++tried;
      }
    }
  }
  EXPECT_GT(tried, 0) << "no odd shape was allowed by " << k.format->name;
}

// Extreme values through the tails: K not a multiple of the SIMD width, an odd number of I2_S blocks.
TEST_P(SmallShapes, ExtremeInputsAtSmallK) {
  const tb::Kernel& k = tb::find_kernel(GetParam());
  if (!tb::cpu_supports(k.isa)) GTEST_SKIP() << "this CPU cannot run the " << tb::isa_name(k.isa) << " path";
  int tried = 0;
  for (int64_t K : {65, 100, 384, 640})
    if (k.format->check_shape(1, K).empty()) {
      EXPECT_EQ(tbtest::check_extremes(k, 9, K, {1, 7}, {1, 3}), "");
      ++tried;
    }
  EXPECT_GT(tried, 0);
}

std::vector<std::string> kernel_names() {
  std::vector<std::string> out;
  for (const tb::Kernel& k : tb::all_kernels()) out.push_back(k.name);
  return out;
}
INSTANTIATE_TEST_SUITE_P(AllKernels, SmallShapes, testing::ValuesIn(kernel_names()),
                         [](const testing::TestParamInfo<std::string>& i) { return i.param; });

// ---- The check bites: deliberately broken variants are reported ----

// Wrappers around a real kernel's gemm (one at a time; the registry's Kernel holds a plain function pointer).
void (*g_inner)(const tb::GemmArgs&) = nullptr;
int64_t g_tokens = 0;  // T of the current run

// Output (t, n) of a tile set to a zero sum: in c, or in y where the kernel writes the floats itself
// (Kernel::writes_y; the epilogue of 0 is 0).
void zero_output(const tb::GemmArgs& a, int64_t t, int64_t n) {
  if (a.y) a.y[size_t(t - a.t0) * a.ldy + size_t(n - a.n0)] = 0.0f;
  else a.c[size_t(t - a.t0) * a.ldc + size_t(n - a.n0)] = 0;
}

// Runs the real kernel, except on the tile that holds the last token: its outputs are left at zero (a
// tiling bug that drops a token tile, e.g. a loop bound of ntb - 1).
void skip_last_token_tile(const tb::GemmArgs& a) {
  if (a.t1 < g_tokens) return g_inner(a);
  for (int64_t t = a.t0; t < a.t1; ++t)
    for (int64_t n = a.n0; n < a.n1; ++n) zero_output(a, t, n);
}

// Runs the real kernel on every tile but zeroes the last token's outputs (an off-by-one at t1).
void zero_last_token(const tb::GemmArgs& a) {
  g_inner(a);
  if (a.t1 == g_tokens)
    for (int64_t n = a.n0; n < a.n1; ++n) zero_output(a, a.t1 - 1, n);
}

// Runs `k` with its gemm replaced by `wrapper` through the driver; returns (int32, float) results.
std::pair<std::vector<int32_t>, std::vector<float>> run_wrapped(const tb::Kernel& k, void (*wrapper)(const tb::GemmArgs&),
                                                                const tb::PackedWeights& p, const tb::QuantizedActs& x,
                                                                int threads) {
  tb::Kernel broken = k;
  broken.gemm = wrapper;
  g_inner = k.gemm;
  g_tokens = x.T;
  tb::PreparedActs prep;
  tb::prepare_activations(broken, x, prep);
  std::vector<int32_t> c(size_t(x.T * p.N), 0x7eadbeef);
  std::vector<float> y(size_t(x.T * p.N), -1.0f);
  tb::run_i32(broken, p, prep, c.data(), threads);
  tb::run_f32(broken, p, prep, y.data(), threads);
  return {c, y};
}

TEST(BrokenVariants, SkippedTokenTileIsReportedEvenWhenTheDriverOracleWouldAgree) {
  // The last token tile holds one token alone, in the kernel's tiles (i2s: 16 tokens on AVX2, 128 on AVX-512, 32 on
  // NEON) and in the oracle's (32): T is one more than the larger, so the first token a dropped tile loses is T - 1.
  const tb::Kernel& ref = tb::find_kernel("int8_ref__scalar");
  const tb::Kernel& k = tb::select_kernel(tb::find_format("i2s"), tb::allowed_isas());
  const int64_t N = 100, K = 256, T = std::max(k.gemm_tokens, ref.gemm_tokens) + 1;
  const auto w = tbtest::ternary(N, K, 5);
  const tb::QuantizedActs x = tbtest::random_acts(T, K, 6);
  const tbtest::OracleOut want = tbtest::oracle(w, N, K, 0.25f, x);
  const tb::PackedWeights pref = tb::pack_weights(*ref.format, w.data(), N, K, 0.25f);
  const tb::PackedWeights pk = tb::pack_weights(*k.format, w.data(), N, K, 0.25f);
  ASSERT_EQ(compare(k, pk, x, want, 2), "") << "the real kernel must pass first";
  for (auto [name, wrapper] : {std::pair{"skip_last_token_tile", &skip_last_token_tile},
                               std::pair{"zero_last_token", &zero_last_token}}) {
    SCOPED_TRACE(name);
    const auto [c, y] = run_wrapped(k, wrapper, pk, x, 2);
    const std::string diff = tbtest::first_mismatch(want, c, y, N, std::string(k.name) + " " + name);
    EXPECT_NE(diff, "");
    EXPECT_NE(diff.find("int32 differs first at token " + std::to_string(T - 1) + ", row 0"), std::string::npos) << diff;
    // A bug in the shared driver or tiling would break an oracle run through that driver the same way:
    // int8_ref__scalar with the same fault agrees with the faulty kernel, so the old check would pass.
    const auto [rc, ry] = run_wrapped(ref, wrapper, pref, x, 2);
    tbtest::OracleOut through_driver{rc, ry};
    EXPECT_EQ(tbtest::first_mismatch(through_driver, c, y, N, name), "");
  }
}

TEST(BrokenVariants, WrongEpilogueIsReported) {
  const int64_t N = 64, K = 384, T = 5;
  const auto w = tbtest::ternary(N, K, 7);
  const tb::QuantizedActs x = tbtest::random_acts(T, K, 8);
  const float s = 0.0123f;
  const tbtest::OracleOut want = tbtest::oracle(w, N, K, s, x);
  const tb::Kernel& k = tb::select_kernel(tb::find_format("i2s"), tb::allowed_isas());
  const tb::PackedWeights p = tb::pack_weights(*k.format, w.data(), N, K, s);
  tb::PreparedActs prep;
  tb::prepare_activations(k, x, prep);
  std::vector<int32_t> c(size_t(T * N));
  tb::run_i32(k, p, prep, c.data(), 1);
  ASSERT_EQ(c, want.c);
  // Epilogues that are wrong (multiplying by a) or only reassociated (acc * (s / a), off by an ulp here
  // and there): neither is the one epilogue, and the float comparison is bit for bit.
  const std::vector<std::pair<const char*, float (*)(int32_t, float, float)>> wrong = {
      {"acc * a * s", [](int32_t acc, float a, float sc) { return static_cast<float>(acc) * a * sc; }},
      {"acc * (s / a)", [](int32_t acc, float a, float sc) { return static_cast<float>(acc) * (sc / a); }},
  };
  for (const auto& [name, f] : wrong) {
    std::vector<float> y(c.size());
    for (int64_t t = 0; t < T; ++t)
      for (int64_t n = 0; n < N; ++n) y[size_t(t * N + n)] = f(c[size_t(t * N + n)], x.a[size_t(t)], s);
    const std::string diff = tbtest::first_mismatch(want, c, y, N, name);
    EXPECT_NE(diff.find("float differs first"), std::string::npos) << name << ": " << diff;
  }
  // The driver's own epilogue passes.
  std::vector<float> y(c.size());
  tb::run_f32(k, p, prep, y.data(), 1);
  EXPECT_EQ(tbtest::first_mismatch(want, c, y, N, "driver"), "");
}

// Several weights on one set of activations in one parallel region (run_f32 with targets, as the runner runs
// q/k/v and gate/up): each target's output equals the oracle bit for bit, for every variant this CPU runs, at
// GEMV and GEMM token counts and 1-3 threads. The targets differ in rows and scale, so outputs written to the
// wrong target, or with another target's scale or row count, fail.
TEST(Grouped, EveryTargetEqualsTheOracle) {
  const int64_t K = 256;
  const std::vector<int64_t> rows = {64, 160, 96};
  const std::vector<float> scales = {0.25f, 0.0625f, 1.5f};
  for (const tb::Kernel& k : tb::all_kernels()) {
    if (!tb::cpu_supports(k.isa)) continue;
    std::vector<std::vector<int8_t>> ws;
    std::vector<tb::PackedWeights> packed;
    for (size_t i = 0; i < rows.size(); ++i) {
      ASSERT_EQ(k.format->check_shape(rows[i], K), "") << k.name;
      ws.push_back(tbtest::ternary(rows[i], K, 40 + i));
      packed.push_back(tb::pack_weights(*k.format, ws.back().data(), rows[i], K, scales[i]));
    }
    for (int64_t T : {1, 5, 33})
      for (int threads : {1, 2, 3}) {
        SCOPED_TRACE(std::string(k.name) + " T=" + std::to_string(T) + " threads=" + std::to_string(threads));
        const tb::QuantizedActs x = tbtest::random_acts(T, K, 50 + uint64_t(T));
        tb::PreparedActs prep;
        tb::prepare_activations(k, x, prep);
        std::vector<std::vector<float>> ys;
        std::vector<tb::RunTarget> targets;
        for (size_t i = 0; i < rows.size(); ++i) ys.emplace_back(size_t(T * rows[i]), -1.0f);
        for (size_t i = 0; i < rows.size(); ++i) targets.push_back({&packed[i], ys[i].data(), nullptr});
        tb::run_f32(k, targets, prep, threads);
        for (size_t i = 0; i < rows.size(); ++i) {
          const tbtest::OracleOut want = tbtest::oracle(ws[i], rows[i], K, scales[i], x);
          ASSERT_EQ(ys[i].size(), want.y.size());
          EXPECT_EQ(0, std::memcmp(ys[i].data(), want.y.data(), ys[i].size() * sizeof(float))) << "target " << i << " (" << rows[i] << " rows, scale " << scales[i] << ")";
        }
      }
  }
}

// The GEMV prefetch distance (tb::set_gemv_prefetch: how far ahead the i2s and tq1 GEMVs fetch their weight
// streams, 0 for none) changes which loop runs but no bit of any result: every variant this CPU runs equals the
// oracle at none, one line, the default and the largest distance (which prefetches far past the end of the
// weights; a prefetch never faults), on GEMV and small-GEMM token counts, shapes with an odd number of I2_S
// blocks and TQ1 groups (the half chunk of the AVX-512 paths), rows not a multiple of 4, 1 and 3 threads.
// Values that are not 0 or a multiple of 64 up to 65536 are refused and leave the distance as it was.
TEST(GemvPrefetch, EveryDistanceEqualsTheOracle) {
  struct Restore {
    ~Restore() { tb::set_gemv_prefetch(tb::kDefaultGemvPrefetch); }
  } restore;
  int tried = 0;
  for (const tb::Kernel& k : tb::all_kernels()) {
    if (!tb::cpu_supports(k.isa)) continue;
    for (int64_t K : {384, 800, 1280, 2560}) {
      if (!k.format->check_shape(1, K).empty()) continue;
      for (int64_t N : {7, 97}) {
        const auto w = tbtest::ternary(N, K, uint64_t(N * 7 + K));
        const tb::PackedWeights p = tb::pack_weights(*k.format, w.data(), N, K, 0.625f);
        for (int64_t T : {1, 3}) {
          const tb::QuantizedActs x = tbtest::random_acts(T, K, uint64_t(T * 11 + K));
          const tbtest::OracleOut want = tbtest::oracle(w, N, K, 0.625f, x);
          for (int64_t pf : {0, 64, 4096, 65536}) {
            tb::set_gemv_prefetch(pf);
            ASSERT_EQ(tb::gemv_prefetch(), pf);
            for (int threads : {1, 3})
              ASSERT_EQ(compare(k, p, x, want, threads), "") << "prefetch " << pf << " bytes";
          }
          ++tried;
        }
      }
    }
  }
  EXPECT_GT(tried, 0);
  tb::set_gemv_prefetch(1024);
  for (int64_t bad : {-64, 100, 65600}) EXPECT_THROW(tb::set_gemv_prefetch(bad), tb::Error) << bad;
  EXPECT_EQ(tb::gemv_prefetch(), 1024);  // a rejected value leaves the distance as it was
}

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
