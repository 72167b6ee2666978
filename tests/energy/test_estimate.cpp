// The operation-count estimate: [A3] Table 1's six energies from the model configs alone.
#include <gtest/gtest.h>

#include <cmath>

#include "energy/estimate.h"
#include "base/error.h"
#include "model/config.h"
#include "tests/error_of.h"

namespace {

using namespace tb::energy;

TEST(Estimate, ReproducesA3TableOne) {
  // docs/reference.md §6.3: [A3] Table 1, energy (estimated), J, 512-token sequence, 7 nm.
  const std::pair<const char*, double> published[] = {{"2B4T", 0.028},         {"llama3.2-1B", 0.258},
                                                      {"gemma3-1B", 0.186},    {"qwen2.5-1.5B", 0.347},
                                                      {"smollm2-1.7B", 0.425}, {"minicpm-2B", 0.649}};
  for (const auto& [name, joules] : published) {
    const Estimate e(tb::load_model_config(name));
    const double j = e.sequence(512).total_j();
    // To the published precision: three decimals.
    EXPECT_EQ(std::lround(j * 1000), std::lround(joules * 1000)) << name << ": " << j << " J";
    EXPECT_LT(std::fabs(j - joules), 0.0005) << name;
    EXPECT_EQ(a3_published_energy_j(name).value(), joules);
  }
  EXPECT_FALSE(a3_published_energy_j("tiny").has_value());
}

TEST(Estimate, CountsFor2B4T) {
  const Estimate e(tb::load_model_config("2B4T"));
  EXPECT_TRUE(e.ternary());
  // Per layer: q 2560x2560, k and v 640x2560, o 2560x2560, gate and up 6912x2560, down 2560x6912.
  EXPECT_EQ(e.linear_weights(), int64_t(30) * (2560 * 2560 * 2 + 2 * 640 * 2560 + 3 * 6912 * 2560));
  EXPECT_EQ(e.linear_weights(), 2084044800);
  // Sum of (in + out) over the 7 projections: 5120 + 3200 + 3200 + 5120 + 3 x 9472 = 45056 per layer.
  EXPECT_EQ(e.activation_io(), int64_t(30) * 45056);
  const EstimateBreakdown b = e.sequence(512);
  EXPECT_DOUBLE_EQ(b.weight_ops, 512.0 * 2084044800.0);
  EXPECT_DOUBLE_EQ(b.scale_muls, 512.0 * 30 * 45056);
  EXPECT_DOUBLE_EQ(b.attention_macs, 2.0 * 512 * 512 * 20 * 128 * 30);
  EXPECT_NEAR(b.linear_j, 512 * 2084044800.0 * 0.007e-12 + 512 * 1351680.0 * 0.07e-12, 1e-15);
  EXPECT_NEAR(b.attention_j, 2.0 * 512 * 512 * 20 * 128 * 30 * 0.5e-12, 1e-15);
  // Attention dominates 2B4T's estimate; the linear part dominates the fp16 models'.
  EXPECT_GT(b.attention_j, b.linear_j);
  const EstimateBreakdown l = Estimate(tb::load_model_config("llama3.2-1B")).sequence(512);
  EXPECT_GT(l.linear_j, 10 * l.attention_j);
  EXPECT_EQ(l.scale_muls, 0.0);
}

TEST(Estimate, PerTokenFiguresAddUpToTheSequence) {
  const Estimate e(tb::load_model_config("2B4T"));
  // [A3]'s reading: each of the 512 tokens attends all 512 positions, so every token costs the same,
  // and one decode token at position 512 (511 before it) costs what an average prefill token costs.
  const double seq = e.sequence(512).total_j();
  EXPECT_NEAR(e.tokens(1, 511).total_j() * 512, seq, seq * 1e-12);
  // Prefill in two chunks does not equal one pass in this reading (chunk 1 does not see chunk 2),
  // but it does under causal counting, where token i attends i positions.
  EXPECT_LT(e.tokens(200, 0).total_j() + e.tokens(312, 200).total_j(), seq);
  EstimateOptions causal;
  causal.causal = true;
  const Estimate c(tb::load_model_config("2B4T"), causal);
  EXPECT_NEAR(c.tokens(200, 0).total_j() + c.tokens(312, 200).total_j(), c.sequence(512).total_j(), seq * 1e-12);
  double by_token = 0;
  for (int i = 0; i < 512; ++i) by_token += c.tokens(1, i).total_j();
  EXPECT_NEAR(by_token, c.sequence(512).total_j(), seq * 1e-12);
  // Causal attention over 512 tokens: 512 x 513 / 2 positions instead of 512 x 512.
  EXPECT_DOUBLE_EQ(c.sequence(512).attention_macs, e.sequence(512).attention_macs * 513.0 / 1024.0);
  EXPECT_DOUBLE_EQ(c.sequence(512).linear_j, e.sequence(512).linear_j);
}

TEST(Estimate, OtherTablesAndArithmetic) {
  const tb::ModelConfig llama = tb::load_model_config("llama3.2-1B");
  EstimateOptions o45;
  o45.ops = op_energies("45nm");
  const EstimateBreakdown a = Estimate(llama).sequence(512), b = Estimate(llama, o45).sequence(512);
  EXPECT_NEAR(b.linear_j / a.linear_j, (0.4 + 1.1) / (0.16 + 0.34), 1e-12);
  const Estimate t45(tb::load_model_config("2B4T"), o45);
  EXPECT_NEAR(t45.sequence(512).linear_j, 512 * 2084044800.0 * 0.03e-12 + 512 * 1351680.0 * 0.2e-12, 1e-15);
  // The same 2B4T shapes priced as an fp16 model.
  EstimateOptions fp16;
  fp16.linear = LinearArith::fp16;
  const Estimate f(tb::load_model_config("2B4T"), fp16);
  EXPECT_FALSE(f.ternary());
  EXPECT_NEAR(f.sequence(512).linear_j, 512 * 2084044800.0 * 0.5e-12, 1e-15);
  EXPECT_EQ(tbtest::error_of([&] { op_energies("5nm"); }),
            "unknown process node '5nm' for the energy estimate: use 7nm ([A3]) or 45nm (BitNet paper)");
  EXPECT_THROW(Estimate(llama).tokens(-1, 0), tb::Error);
}

TEST(Estimate, MeterIsAlwaysAvailableAndLabelled) {
  EstimateMeter m(tb::load_model_config("2B4T"));
  EXPECT_TRUE(m.available());
  EXPECT_TRUE(m.is_estimate());
  EXPECT_EQ(m.primary_domain(), "estimate");
  EXPECT_EQ(m.title(), "operation-count estimate (2B4T, ternary linear layers (INT8 adds), 7nm op energies, "
                       "[A3] reading: every token attends all positions)");
  EXPECT_THROW(m.read(), tb::Error);
  m.start();
  m.add_work({true, 512, 0});
  EXPECT_DOUBLE_EQ(m.read().at("estimate"), m.estimate().sequence(512).total_j());
}

}  // namespace
