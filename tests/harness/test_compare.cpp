// `harness compare`'s pairing and verdicts (harness/compare.h) on rows built here; the command line itself is
// run by test_cli.py on tests/data/compare.
#include <gtest/gtest.h>

#include <sstream>

#include "harness/compare.h"
#include "base/error.h"

namespace {

using V = std::vector<double>;

tb::json row(const V& samples, const std::string& kernel = "i2s__avx2", int threads = 1, const std::string& host = "box",
             const std::string& commit = "aaaa1111", const std::string& test = "tg") {
  tb::json r = {{"schema", tb::kResultSchema}, {"engine", "ternbench"}, {"engine_commit", commit},
                {"machine", {{"host", host}, {"cpu", "Test CPU"}, {"isa", "avx2"}}}, {"model", "tiny"}, {"n_layers", 2},
                {"model_layers", 2}, {"kernel", kernel}, {"head", "fp16"}, {"threads", threads}, {"pin", "none"},
                {"test", test}, {"n_prompt", test == "pp" ? 8 : 0}, {"n_gen", test == "pp" ? 0 : 4}};
  if (!samples.empty()) r["samples_ts"] = samples;
  return r;
}

V scaled(const V& v, double f) {
  V o;
  for (double x : v) o.push_back(x * f);
  return o;
}

// Ten repetitions with a few percent of spread, as a quiet machine gives.
const V kTen = {501.2, 498.7, 503.9, 497.1, 500.4, 502.6, 499.3, 504.8, 496.5, 500.9};

tb::Comparison one_pair(const V& before, const V& after, tb::CompareOptions o = {}) {
  tb::Comparison c = tb::compare_rows({row(before)}, {row(after)}, o);
  EXPECT_EQ(c.pairs.size(), 1u);
  EXPECT_TRUE(c.unmatched.empty());
  return c;
}

TEST(Compare, IdenticalInputsAreNoSignificantChange) {
  const tb::Comparison c = one_pair(kTen, kTen);
  EXPECT_EQ(c.pairs[0].verdict, tb::Verdict::no_change);
  EXPECT_EQ(c.pairs[0].mw.p, 1.0);
  EXPECT_EQ(c.pairs[0].ratio, 1.0);
}

TEST(Compare, ShiftedSampleIsFoundWithItsDirection) {
  // 5% more tokens/s: every after value above every before value (504.8 < 496.5 * 1.05), U = 0, exact p = 2 / C(20,10)
  const tb::Comparison up = one_pair(kTen, scaled(kTen, 1.05));
  EXPECT_EQ(up.pairs[0].verdict, tb::Verdict::faster);
  EXPECT_EQ(up.pairs[0].mw.method, tb::UMethod::exact);
  EXPECT_NEAR(up.pairs[0].mw.p, 2.0 / 184756, 1e-15);
  EXPECT_NEAR(up.pairs[0].ratio, 1.05, 1e-12);
  const tb::Comparison down = one_pair(kTen, scaled(kTen, 0.95));
  EXPECT_EQ(down.pairs[0].verdict, tb::Verdict::slower);
  // A 1% shift inside 1.7% of spread: U = 9 of 100 pairs, exact p = 0.0010500 (all C(20,10) orders counted by a
  // separate brute-force script: 194 of 184756 are as extreme).
  const tb::Comparison small = one_pair(kTen, scaled(kTen, 1.01));
  EXPECT_EQ(small.pairs[0].mw.u, 9);
  EXPECT_NEAR(small.pairs[0].mw.p, 0.00105003, 1e-8);
  EXPECT_EQ(small.pairs[0].verdict, tb::Verdict::faster);
}

TEST(Compare, NoisyOverlappingSampleIsNoSignificantChange) {
  // The same machine on another day: values interleave with before's (U = 45 of 100; exact p = 0.73936, brute force).
  const V after = {500.7, 496.3, 503.0, 499.6, 501.9, 497.8, 505.2, 498.6, 502.1, 494.9};
  const tb::Comparison c = one_pair(kTen, after);
  EXPECT_EQ(c.pairs[0].verdict, tb::Verdict::no_change);
  EXPECT_EQ(c.pairs[0].mw.u, 45);
  EXPECT_NEAR(c.pairs[0].mw.p, 0.7393644, 1e-7);
}

TEST(Compare, TooFewSamplesIsItsOwnVerdict) {
  // 3 against 3, fully separated and 20% faster: p = 0.1, the smallest possible, and still above alpha.
  const tb::Comparison c = one_pair({100, 101, 102}, {120, 121, 122});
  EXPECT_EQ(c.pairs[0].verdict, tb::Verdict::too_few);
  EXPECT_DOUBLE_EQ(c.pairs[0].mw.min_p, 0.1);
  EXPECT_STREQ(tb::verdict_name(c.pairs[0].verdict), "too few samples");
  // At alpha 0.2 the same samples can be tested: min p 0.1 < 0.2, and p = 0.1 < 0.2.
  tb::CompareOptions loose;
  loose.alpha = 0.2;
  EXPECT_EQ(one_pair({100, 101, 102}, {120, 121, 122}, loose).pairs[0].verdict, tb::Verdict::faster);
  // 4 against 4: min p = 2/70 = 0.029, so a full separation is significant.
  EXPECT_EQ(one_pair({100, 101, 102, 103}, {120, 121, 122, 123}).pairs[0].verdict, tb::Verdict::faster);
  // Ties in 3 against 3: the normal approximation says p = 0.0469 (variance 9/12 * (7 - 48/30) = 4.05,
  // z = 4 / 2.0125 = 1.988), below the 0.1 no order of six values can beat; the floor decides.
  const tb::Comparison t = one_pair({100, 100, 100}, {120, 120, 120});
  EXPECT_NEAR(t.pairs[0].mw.p, 0.046854, 1e-6);
  EXPECT_EQ(t.pairs[0].verdict, tb::Verdict::too_few);
}

TEST(Compare, RepeatedRunsArePooled) {
  const V first(kTen.begin(), kTen.begin() + 5), second(kTen.begin() + 5, kTen.end());
  const tb::Comparison c = tb::compare_rows({row(first), row(second)}, {row(scaled(kTen, 1.05))}, {});
  ASSERT_EQ(c.pairs.size(), 1u);
  EXPECT_EQ(c.pairs[0].before.rows, 2);
  EXPECT_EQ(c.pairs[0].before.samples.size(), 10u);
  EXPECT_EQ(c.pairs[0].after.rows, 1);
  EXPECT_EQ(c.pairs[0].verdict, tb::Verdict::faster);
  EXPECT_DOUBLE_EQ(c.pairs[0].before.median_ts, (500.4 + 500.9) / 2);
}

TEST(Compare, UnmatchedRowsAreListed) {
  const tb::Comparison c = tb::compare_rows({row(kTen), row(kTen, "tl2__avx2")}, {row(kTen), row(kTen, "i2s__avx2", 2)}, {});
  ASSERT_EQ(c.pairs.size(), 1u);
  ASSERT_EQ(c.unmatched.size(), 2u);
  EXPECT_TRUE(c.unmatched[0].before);
  EXPECT_EQ(c.unmatched[0].group.key["kernel"], "tl2__avx2");
  EXPECT_FALSE(c.unmatched[1].before);
  EXPECT_EQ(c.unmatched[1].group.key["threads"], 2);
  const std::string md = tb::render_comparison(c, "md", {"b.jsonl", "a.jsonl"});
  EXPECT_NE(md.find("Only before, not paired: 1 row"), std::string::npos) << md;
  EXPECT_NE(md.find("| tl2__avx2 |"), std::string::npos) << md;
  EXPECT_NE(md.find("Only after, not paired: 1 row"), std::string::npos) << md;
  EXPECT_NE(md.find("1 row only before, 1 only after"), std::string::npos) << md;
}

TEST(Compare, DifferentMachinesArePairedOnlyWhenAsked) {
  const std::vector<tb::json> before = {row(kTen, "i2s__avx2", 1, "laptop")}, after = {row(scaled(kTen, 2), "i2s__avx2", 1, "server")};
  const tb::Comparison strict = tb::compare_rows(before, after, {});
  EXPECT_TRUE(strict.pairs.empty());
  ASSERT_EQ(strict.unmatched.size(), 2u);
  EXPECT_TRUE(strict.unmatched[0].on_another_machine);
  EXPECT_TRUE(strict.unmatched[1].on_another_machine);
  // The same host with another ISA path (a forced --isa scalar run) is another machine too.
  tb::json scalar = row(kTen);
  scalar["machine"]["isa"] = "scalar";
  EXPECT_TRUE(tb::compare_rows({row(kTen)}, {scalar}, {}).pairs.empty());
  tb::CompareOptions any;
  any.any_machine = true;
  const tb::Comparison loose = tb::compare_rows(before, after, any);
  ASSERT_EQ(loose.pairs.size(), 1u);
  EXPECT_EQ(loose.pairs[0].verdict, tb::Verdict::faster);
  EXPECT_NE(tb::render_comparison(loose, "md", {"b", "a"}).find("laptop (avx2) -> server (avx2)"), std::string::npos);
}

TEST(Compare, FailAboveCatchesOnlySignificantRegressionsBeyondIt) {
  tb::CompareOptions o;
  o.fail_above_pct = 5;
  EXPECT_TRUE(one_pair(kTen, scaled(kTen, 0.90), o).pairs[0].fails);    // 10% slower, significant
  EXPECT_FALSE(one_pair(kTen, scaled(kTen, 0.97), o).pairs[0].fails);   // 3% slower, significant, within 5%
  EXPECT_FALSE(one_pair(kTen, scaled(kTen, 1.10), o).pairs[0].fails);   // faster
  EXPECT_FALSE(one_pair({100, 101, 102}, {50, 51, 52}, o).pairs[0].fails);  // 50% slower but too few samples
  o.fail_above_pct = -1;                                                // no --fail-above
  EXPECT_FALSE(one_pair(kTen, scaled(kTen, 0.5), o).pairs[0].fails);
  o.fail_above_pct = 5;
  const tb::Comparison c = tb::compare_rows({row(kTen), row(kTen, "tl2__avx2")},
                                            {row(scaled(kTen, 0.9)), row(scaled(kTen, 0.8), "tl2__avx2")}, o);
  EXPECT_EQ(c.failed(), 2);
}

TEST(Compare, RowsWithoutSamplesAreSaidAndNotTested) {
  const tb::Comparison c = tb::compare_rows({row({})}, {row(kTen)}, {});
  ASSERT_EQ(c.pairs.size(), 1u);
  EXPECT_EQ(c.pairs[0].before.rows_without_samples, 1);
  EXPECT_EQ(c.pairs[0].mw.method, tb::UMethod::none);
  EXPECT_EQ(c.pairs[0].verdict, tb::Verdict::too_few);
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("before: 1 row has no samples_ts"), std::string::npos) << c.warnings[0];
}

TEST(Compare, RowsOfOddShapeDoNotThrow) {
  tb::json odd = {{"schema", tb::kResultSchema}, {"threads", "four"}, {"machine", 7}, {"samples_ts", {1, "x", 2, 3}}};
  const tb::Comparison c = tb::compare_rows({odd}, {odd}, {});
  ASSERT_EQ(c.pairs.size(), 1u);
  EXPECT_EQ(c.pairs[0].before.samples.size(), 3u);
  for (const char* mode : {"md", "csv", "json"}) EXPECT_NO_THROW(tb::render_comparison(c, mode, {"b", "a"}));
}

TEST(Compare, SplitByCommitPrefix) {
  const std::vector<tb::json> rows = {row(kTen, "i2s__avx2", 1, "box", "5e1f0c2a9b7d"), row(kTen, "i2s__avx2", 1, "box", "c04a7e913d28"),
                                      row(kTen, "i2s__avx2", 1, "box", "77aa00bb11cc-dirty")};
  std::vector<tb::json> b, a;
  std::vector<std::string> others;
  tb::split_by_commit(rows, "5e1f", "c04a7e", &b, &a, &others);
  EXPECT_EQ(b.size(), 1u);
  EXPECT_EQ(a.size(), 1u);
  EXPECT_EQ(others, std::vector<std::string>{"77aa00bb11cc-dirty"});
  auto error = [&](const std::string& before, const std::string& after) {
    std::vector<tb::json> x, y;
    std::vector<std::string> z;
    try {
      tb::split_by_commit(rows, before, after, &x, &y, &z);
    } catch (const tb::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error("5e1f", "ffff").find("--after 'ffff' selects no row"), std::string::npos);
  EXPECT_NE(error("5e1f", "ffff").find("c04a7e913d28"), std::string::npos);  // the commits there are named
  EXPECT_NE(error("5e", "5e1f").find("matches both"), std::string::npos);
}

TEST(Compare, ParsePercent) {
  EXPECT_EQ(tb::parse_percent("5%"), 5);
  EXPECT_EQ(tb::parse_percent("2.5 %"), 2.5);
  EXPECT_EQ(tb::parse_percent("0"), 0);
  for (const char* bad : {"", "%", "five", "5%%", "-3%", "inf"}) EXPECT_THROW(tb::parse_percent(bad), tb::Error) << bad;
}

TEST(Compare, CsvAndJsonCarryEveryRow) {
  const tb::Comparison c = tb::compare_rows({row(kTen), row(kTen, "tl2__avx2")}, {row(scaled(kTen, 1.05)), row(kTen, "i2s__avx2", 2)}, {});
  std::stringstream csv(tb::render_comparison(c, "csv", {"b", "a"}));
  std::vector<std::string> lines;
  for (std::string l; std::getline(csv, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 4u);  // header, one pair, two unmatched
  auto cells = [](const std::string& l) { return std::count(l.begin(), l.end(), ',') + 1; };
  for (const std::string& l : lines) EXPECT_EQ(cells(l), cells(lines[0])) << l;
  EXPECT_EQ(lines[1].rfind("paired,", 0), 0u);
  EXPECT_NE(lines[1].find(",exact,faster,false"), std::string::npos) << lines[1];
  EXPECT_EQ(lines[2].rfind("only_before,", 0), 0u);
  EXPECT_EQ(lines[3].rfind("only_after,", 0), 0u);
  const tb::json j = tb::json::parse(tb::render_comparison(c, "json", {"b", "a"}));
  ASSERT_EQ(j["pairs"].size(), 1u);
  EXPECT_EQ(j["pairs"][0]["verdict"], "faster");
  EXPECT_EQ(j["pairs"][0]["u"], 0);
  EXPECT_EQ(j["pairs"][0]["u_after"], 100);
  EXPECT_EQ(j["unmatched"].size(), 2u);
  EXPECT_EQ(j["summary"]["faster"], 1);
  EXPECT_EQ(j["summary"]["slower"], 0);
  EXPECT_THROW(tb::render_comparison(c, "xml", {"b", "a"}), tb::Error);
}

}  // namespace
