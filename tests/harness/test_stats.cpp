// The Mann-Whitney U test of harness/stats.h against numbers worked out by hand; each derivation sits
// beside its numbers.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "harness/stats.h"

namespace {

using V = std::vector<double>;

TEST(Stats, Median) {
  EXPECT_EQ(tb::median({3, 1, 2}), 2);
  EXPECT_EQ(tb::median({4, 1, 3, 2}), 2.5);
  EXPECT_TRUE(std::isnan(tb::median({})));
}

TEST(Stats, MidranksAverageTies) {
  // 10 11 12 12 12 13 13 14: the 12s hold positions 3, 4, 5 -> rank 4; the 13s positions 6, 7 -> 6.5.
  EXPECT_EQ(tb::midranks({12, 10, 13, 12, 14, 11, 13, 12}), (V{4, 1, 6.5, 4, 8, 2, 6.5, 4}));
}

// The null distribution of U for untied samples: the number of orders with U = u equals the number of
// partitions of u into at most n1 parts, none above n2 (each x contributes the count of y's below it).
// n1 = n2 = 3: u = 0..9 -> 1 1 2 3 3 3 3 2 1 1, C(6,3) = 20 orders in all.
TEST(MannWhitney, ExactNullDistribution3x3) {
  const double counts[] = {1, 1, 2, 3, 3, 3, 3, 2, 1, 1};
  double cum = 0;
  for (int u = 0; u <= 9; ++u) {
    cum += counts[u];
    EXPECT_DOUBLE_EQ(tb::u_exact_cdf(3, 3, u), cum / 20) << "u = " << u;
  }
  EXPECT_EQ(tb::u_exact_cdf(3, 3, -1), 0.0);
}

// n1 = n2 = 5, C(10,5) = 252 orders; u = 0, 1, 2, 3 have 1, 1, 2 ({2}, {1,1}) and 3 ({3}, {2,1}, {1,1,1}) orders.
// Two-sided p for U = 2: 2 * 4/252 = 0.0317; for U = 3: 2 * 7/252 = 0.0556. So U <= 2 is significant at 0.05
// and U = 3 is not: the textbook table's critical value for n1 = n2 = 5, two-sided 0.05, is 2.
TEST(MannWhitney, ExactCriticalValue5x5) {
  EXPECT_DOUBLE_EQ(tb::u_exact_cdf(5, 5, 2), 4.0 / 252);
  EXPECT_DOUBLE_EQ(tb::u_exact_cdf(5, 5, 3), 7.0 / 252);
  // x ranks 1 2 3 5 7 among y's 4 6 8 9 10: U(x) = pairs x > y = 0 + 0 + 0 + 1 + 2 = 3 (R1 = 18, 18 - 15 = 3)
  const tb::MannWhitney u3 = tb::mann_whitney({1, 2, 3, 5, 7}, {4, 6, 8, 9, 10});
  EXPECT_EQ(u3.method, tb::UMethod::exact);
  EXPECT_EQ(u3.u1, 3);
  EXPECT_EQ(u3.u2, 22);
  EXPECT_EQ(u3.u, 3);
  EXPECT_DOUBLE_EQ(u3.p, 14.0 / 252);
  // x = 1 2 3 4 7, y = 5 6 8 9 10: U(x) = 2 (7 beats 5 and 6), p = 8/252
  EXPECT_DOUBLE_EQ(tb::mann_whitney({1, 2, 3, 4, 7}, {5, 6, 8, 9, 10}).p, 8.0 / 252);
}

// Fully separated samples: U = 0; of the C(n1+n2, n1) orders only the two fully separated ones are as
// extreme, so the exact two-sided p is 2 / C(n1+n2, n1), the smallest these sizes allow.
TEST(MannWhitney, FullySeparated) {
  const tb::MannWhitney a = tb::mann_whitney({10, 11, 12}, {20, 21, 22});
  EXPECT_EQ(a.u, 0);
  EXPECT_EQ(a.u2, 9);  // every y above every x
  EXPECT_DOUBLE_EQ(a.p, 2.0 / 20);  // 0.1
  EXPECT_DOUBLE_EQ(a.min_p, 0.1);
  const tb::MannWhitney b = tb::mann_whitney({20, 21, 22, 23, 24}, {10, 11, 12, 13, 14});
  EXPECT_EQ(b.u, 0);
  EXPECT_EQ(b.u1, 25);
  EXPECT_NEAR(b.p, 2.0 / 252, 1e-15);  // 0.00794
  V x, y;  // 20 against 20 (n1 n2 = 400, still exact): 2 / C(40,20) = 2 / 137846528820
  for (int i = 0; i < 20; ++i) x.push_back(i), y.push_back(100 + i);
  const tb::MannWhitney c = tb::mann_whitney(x, y);
  EXPECT_EQ(c.method, tb::UMethod::exact);
  EXPECT_NEAR(c.p / (2.0 / 137846528820.0), 1.0, 1e-12);
}

TEST(MannWhitney, SmallestReachableP) {
  EXPECT_DOUBLE_EQ(tb::min_two_sided_p(3, 3), 0.1);           // 2 / 20
  EXPECT_DOUBLE_EQ(tb::min_two_sided_p(2, 2), 1.0 / 3);       // 2 / C(4,2) = 2 / 6
  EXPECT_DOUBLE_EQ(tb::min_two_sided_p(1, 1), 1.0);           // 2 / 2
  EXPECT_NEAR(tb::min_two_sided_p(5, 5), 2.0 / 252, 1e-15);
  EXPECT_NEAR(tb::min_two_sided_p(3, 4), 2.0 / 35, 1e-15);    // C(7,3) = 35: 0.057, still above 0.05
  EXPECT_NEAR(tb::min_two_sided_p(4, 4), 2.0 / 70, 1e-15);    // 0.029: 4 against 4 can reach 0.05
  EXPECT_EQ(tb::min_two_sided_p(0, 5), 1.0);
}

// Ties: the normal approximation with tie and continuity corrections, computed by hand.
// x = 10 11 12 12 13, y = 12 13 14 15 16. Pooled: 10 11 12 12 12 13 13 14 15 16; midranks of x: 1 2 4 4 6.5,
// R1 = 17.5, U1 = 17.5 - 5*6/2 = 2.5 (pairs: the two x 12s tie the y 12 -> 1, x 13 beats y 12 -> 1, ties y 13 -> 0.5),
// U2 = 25 - 2.5 = 22.5. Mean 25/2 = 12.5. Tie groups t = 3 (12s) and 2 (13s): sum t^3 - t = 24 + 6 = 30.
// Variance 25/12 * (11 - 30/(10*9)) = 25/12 * 32/3 = 22.2222, sd 4.714045.
// z = (|22.5 - 12.5| - 0.5) / 4.714045 = 2.015254; p = erfc(z / sqrt 2) = 0.043878.
TEST(MannWhitney, TiesUseTheNormalApproximation) {
  const tb::MannWhitney r = tb::mann_whitney({10, 11, 12, 12, 13}, {12, 13, 14, 15, 16});
  EXPECT_TRUE(r.ties);
  EXPECT_EQ(r.method, tb::UMethod::normal);
  EXPECT_DOUBLE_EQ(r.u1, 2.5);
  EXPECT_DOUBLE_EQ(r.u2, 22.5);
  EXPECT_DOUBLE_EQ(r.u, 2.5);
  EXPECT_NEAR(r.z, 2.015254, 1e-6);
  EXPECT_NEAR(r.p, 0.043878, 1e-6);
  // The same with the sides swapped: same p, z of the opposite sign.
  const tb::MannWhitney s = tb::mann_whitney({12, 13, 14, 15, 16}, {10, 11, 12, 12, 13});
  EXPECT_NEAR(s.z, -2.015254, 1e-6);
  EXPECT_DOUBLE_EQ(s.p, r.p);
}

// Larger than n1 n2 = 400: the normal approximation without ties. 25 against 25 fully separated: U = 0,
// mean 312.5, variance 625 * 51 / 12 = 2656.25, sd 51.538820, z = (312.5 - 0.5) / 51.538820 = 6.053689,
// p = erfc(6.053689 / sqrt 2) = 1.41566e-9.
TEST(MannWhitney, LargeSamplesUseTheNormalApproximation) {
  V x, y;
  for (int i = 1; i <= 25; ++i) x.push_back(i), y.push_back(25 + i);
  const tb::MannWhitney r = tb::mann_whitney(x, y);
  EXPECT_EQ(r.method, tb::UMethod::normal);
  EXPECT_FALSE(r.ties);
  EXPECT_EQ(r.u, 0);
  EXPECT_NEAR(r.z, 6.053689, 1e-6);
  EXPECT_NEAR(r.p / 1.41566e-9, 1.0, 1e-4);
}

// Every value tied: no evidence either way, p = 1 (the variance is zero). Identical samples: U1 = U2 = n1 n2 / 2.
TEST(MannWhitney, IdenticalSamples) {
  const tb::MannWhitney a = tb::mann_whitney({5, 5, 5, 5}, {5, 5, 5, 5});
  EXPECT_EQ(a.p, 1.0);
  EXPECT_EQ(a.u, 8);
  const V s = {101.5, 99.2, 100.4, 98.7, 100.9, 99.8, 100.1, 101.1, 98.9, 100.6};
  const tb::MannWhitney b = tb::mann_whitney(s, s);  // each value tied with its twin: normal method
  EXPECT_EQ(b.method, tb::UMethod::normal);
  EXPECT_EQ(b.u1, 50);
  EXPECT_EQ(b.p, 1.0);  // |U - mean| - 1/2 < 0: z = 0
}

TEST(MannWhitney, EmptySideIsNoTest) {
  const tb::MannWhitney r = tb::mann_whitney({}, {1, 2, 3});
  EXPECT_EQ(r.method, tb::UMethod::none);
  EXPECT_EQ(r.p, 1.0);
  EXPECT_EQ(r.min_p, 1.0);
}

}  // namespace
