// The runner's float operations (model/float_ops.h): every copy this CPU runs gives the baseline copy's bits, on
// lengths with and without vector tails, and the baseline copy computes what the formulas say.
#include "model/float_ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <iterator>
#include <limits>
#include <vector>

#include "base/rng.h"

namespace {

std::vector<float> randoms(size_t n, uint64_t seed, float lo = -3.0f, float hi = 3.0f) {
  tb::SplitMix64 r(seed);
  std::vector<float> v(n);
  for (float& x : v) x = lo + (hi - lo) * float(r.uniform());
  return v;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Lengths: 1, below one 16-lane step, tails of every vector width, and the model's widths (2560, 6912).
const int64_t kLengths[] = {1, 7, 15, 16, 17, 33, 100, 2560, 2565, 6912};

struct Paths : ::testing::Test {
  const tb::FloatOps* ops[3] = {};
  int n = 0;
  void SetUp() override {
    n = tb::float_ops_paths(ops);
    ASSERT_GE(n, 1);
    ASSERT_STREQ(ops[0]->path, "baseline");
  }
};

TEST_F(Paths, Relu2IsTheFormulaOnEveryPath) {
  for (int64_t len : kLengths) {
    std::vector<float> g0 = randoms(size_t(len), 1 + uint64_t(len)), u = randoms(size_t(len), 99);
    // The choices at the edges of g > 0, made on the bits in every copy (float_ops.cpp: relu2_body): relu(NaN) is 0
    // here, as g > 0 is false, whichever its sign; -0, -inf and the smallest subnormals sit beside them.
    const float edges[] = {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN(), -0.0f,
                           0.0f, std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                           std::numeric_limits<float>::denorm_min(), -std::numeric_limits<float>::denorm_min(),
                           std::numeric_limits<float>::max(), -std::numeric_limits<float>::max()};
    for (size_t e = 0; e < std::size(edges) && e < size_t(len); ++e) g0[e * size_t(len) / std::size(edges)] = edges[e];
    std::vector<float> want(static_cast<size_t>(len));
    for (int64_t i = 0; i < len; ++i) {
      const float g = g0[size_t(i)];
      want[size_t(i)] = (g > 0.0f ? g * g : 0.0f) * u[size_t(i)];  // exact: the same two roundings
    }
    for (int p = 0; p < n; ++p) {
      std::vector<float> g = g0;
      ops[p]->relu2_mul(g.data(), u.data(), len);
      EXPECT_TRUE(same_bits(g, want)) << ops[p]->path << " n=" << len;
    }
  }
}

TEST_F(Paths, RopeIsTheFormulaOnEveryPath) {
  for (int64_t d : {2, 16, 64, 128}) {
    const int64_t heads = 5, half = d / 2;
    const std::vector<float> x0 = randoms(size_t(heads * d), 7 + uint64_t(d));
    const std::vector<float> c = randoms(size_t(half), 8, -1, 1), s = randoms(size_t(half), 9, -1, 1);
    std::vector<float> want = x0;
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < half; ++i) {
        const float a = x0[size_t(h * d + i)], b = x0[size_t(h * d + i + half)];
        want[size_t(h * d + i)] = a * c[size_t(i)] - b * s[size_t(i)];
        want[size_t(h * d + i + half)] = a * s[size_t(i)] + b * c[size_t(i)];
      }
    for (int p = 0; p < n; ++p) {
      std::vector<float> x = x0;
      ops[p]->rope(x.data(), c.data(), s.data(), heads, d);
      EXPECT_TRUE(same_bits(x, want)) << ops[p]->path << " d=" << d;
    }
  }
}

TEST_F(Paths, AddAndSiluAreTheSameOnEveryPath) {
  for (int64_t len : kLengths) {
    const std::vector<float> x0 = randoms(size_t(len), 3), a = randoms(size_t(len), 4);
    std::vector<float> want(x0);
    for (int64_t i = 0; i < len; ++i) want[size_t(i)] += a[size_t(i)];
    std::vector<float> silu0 = x0;
    ops[0]->silu_mul(silu0.data(), a.data(), len);
    for (int p = 0; p < n; ++p) {
      std::vector<float> x = x0;
      ops[p]->add(x.data(), a.data(), len);
      EXPECT_TRUE(same_bits(x, want)) << ops[p]->path << " n=" << len;
      x = x0;
      ops[p]->silu_mul(x.data(), a.data(), len);
      EXPECT_TRUE(same_bits(x, silu0)) << ops[p]->path << " n=" << len;
    }
  }
}

TEST_F(Paths, RmsnormAgreesAcrossPathsAndWithTheMath) {
  for (int64_t len : kLengths) {
    const std::vector<float> x = randoms(size_t(len), 5 + uint64_t(len)), w = randoms(size_t(len), 6, 0.5f, 2.0f);
    const float eps = 1e-5f;
    std::vector<float> y0(static_cast<size_t>(len));
    ops[0]->rmsnorm(x.data(), w.data(), len, eps, y0.data());
    for (int p = 1; p < n; ++p) {
      std::vector<float> y(static_cast<size_t>(len));
      ops[p]->rmsnorm(x.data(), w.data(), len, eps, y.data());
      EXPECT_TRUE(same_bits(y, y0)) << ops[p]->path << " n=" << len;
    }
    // Against double precision. The sum of squares runs in 16 lanes of about len/16 terms each, then over the 16
    // lanes: relative error at most (len/16 + 16) u for positive terms (u = 2^-24). sqrt halves it; the division
    // by len, + eps, sqrt, the reciprocal and the two products add at most 6 u more.
    double ss = 0;
    for (float v : x) ss += double(v) * v;
    const double r = 1.0 / std::sqrt(ss / double(len) + eps);
    const double u = std::ldexp(1.0, -24), rel = ((double(len) / 16 + 16) / 2 + 6) * u;
    for (int64_t i = 0; i < len; ++i) {
      const double want = double(x[size_t(i)]) * r * w[size_t(i)];
      EXPECT_NEAR(y0[size_t(i)], want, rel * std::fabs(want) + 1e-30) << "n=" << len << " i=" << i;
    }
  }
}

TEST_F(Paths, AttendAgreesAcrossPathsAndOnePositionReturnsItsValue) {
  const int64_t stride = 3 * 128;  // the cache holds several heads per position
  for (int64_t d : {16, 64, 100, 128}) {
    for (int64_t positions : {1, 2, 9, 33, 47}) {
      const std::vector<float> q = randoms(size_t(d), 11), k = randoms(size_t(positions * stride), 12),
                               v = randoms(size_t(positions * stride), 13);
      std::vector<float> sc(static_cast<size_t>(positions)), o0(static_cast<size_t>(d));
      ops[0]->attend(q.data(), k.data(), v.data(), stride, positions, d, 0.125f, sc.data(), o0.data());
      if (positions == 1) {  // softmax of one score is exactly 1 (exp(0) / exp(0)), so o is v bit for bit
        EXPECT_EQ(0, std::memcmp(o0.data(), v.data(), size_t(d) * sizeof(float))) << "d=" << d;
      }
      for (int p = 1; p < n; ++p) {
        std::vector<float> o(static_cast<size_t>(d));
        ops[p]->attend(q.data(), k.data(), v.data(), stride, positions, d, 0.125f, sc.data(), o.data());
        EXPECT_TRUE(same_bits(o, o0)) << ops[p]->path << " d=" << d << " n=" << positions;
      }
    }
  }
}

// attend_heads: nq query heads over one key/value head, each head exactly attend's result for it alone, on every
// path and for every head count (the paths' own code takes heads four at a time and keys in tiles of 32, 16 or 4:
// the shapes cross those edges), and the baseline's result on every path.
TEST_F(Paths, AttendHeadsIsAttendPerHead) {
  const int64_t stride = 5 * 128;
  for (int64_t d : {16, 100, 128}) {
    for (int64_t positions : {1, 17, 47, 70}) {
      for (int64_t nq : {1, 3, 4, 5}) {
        const std::vector<float> q = randoms(size_t(nq * d), 21), k = randoms(size_t(positions * stride), 22),
                                 v = randoms(size_t(positions * stride), 23);
        std::vector<float> base;
        for (int p = 0; p < n; ++p) {
          std::vector<float> sc(size_t(nq * positions)), o(size_t(nq * d)), one(size_t(nq * d));
          ops[p]->attend_heads(q.data(), nq, k.data(), v.data(), stride, positions, d, 0.125f, sc.data(), o.data());
          for (int64_t h = 0; h < nq; ++h)
            ops[p]->attend(q.data() + h * d, k.data(), v.data(), stride, positions, d, 0.125f, sc.data(),
                           one.data() + h * d);
          EXPECT_TRUE(same_bits(o, one)) << ops[p]->path << " d=" << d << " n=" << positions << " heads=" << nq;
          if (p == 0) base = o;
          else EXPECT_TRUE(same_bits(o, base)) << ops[p]->path << " d=" << d << " n=" << positions << " heads=" << nq;
        }
      }
    }
  }
}

// attend's softmax against the math in double, on every path. Scores exact by construction: q = e_0, k_j[0] =
// -5j/32 (a binary fraction), scale 1, so s_j = -5j/32 (0 down to -19.8: exponents across the exp's range), every
// other product 0. And v_j = e_j, so o_i = p_i, the softmax weight itself, with nothing else added. The float errors,
// bounded: each e^(s_j - max) within 2 ulp (2^-22 relative); their sum in 16 lanes, n/16 + 16 roundings of at most
// 2^-24 of the sum, plus the terms' own 2^-22; the division 2^-24.
TEST_F(Paths, AttendIsTheSoftmaxOfTheScores) {
  const int64_t d = 128, stride = 128;
  for (int64_t positions : {2, 33, 128}) {
    std::vector<float> q(size_t(d), 0.0f), k(size_t(positions * stride), 0.0f), v(size_t(positions * stride), 0.0f);
    q[0] = 1.0f;
    for (int64_t j = 0; j < positions; ++j) {
      k[size_t(j * stride)] = -5.0f * float(j) / 32.0f;
      v[size_t(j * stride + j)] = 1.0f;
    }
    double den = 0;
    for (int64_t j = 0; j < positions; ++j) den += std::exp(double(k[size_t(j * stride)]));
    const double u = std::ldexp(1.0, -24), rel = 2 * 4 * u + (double(positions) / 16 + 16 + 1) * u;
    for (int p = 0; p < n; ++p) {
      std::vector<float> sc(static_cast<size_t>(positions)), o(static_cast<size_t>(d));
      ops[p]->attend(q.data(), k.data(), v.data(), stride, positions, d, 1.0f, sc.data(), o.data());
      for (int64_t i = 0; i < d; ++i) {
        const double want = i < positions ? std::exp(double(k[size_t(i * stride)])) / den : 0.0;
        EXPECT_NEAR(o[size_t(i)], want, want * rel) << ops[p]->path << " n=" << positions << " i=" << i;
      }
    }
  }
}

// The softmax's cut-off (float_ops.cpp: exp_nonpositive): a score more than 87 below the maximum weighs exactly 0,
// one 86 below weighs e^-86 (a normal float, 4.4e-38) within the exp's 2 ulp and the sum's and division's
// roundings, here 2^-21 in all. As above, v_j = e_j makes o_i the weight p_i itself.
TEST_F(Paths, AttendCutsOffScoresMoreThan87BelowTheMaximum) {
  const int64_t d = 16, stride = 16;
  const float scores[] = {0.0f, -100.0f, -86.0f, -87.5f, -std::numeric_limits<float>::infinity()};
  const int64_t positions = int64_t(std::size(scores));
  std::vector<float> q(size_t(d), 0.0f), k(size_t(positions * stride), 0.0f), v(size_t(positions * stride), 0.0f);
  q[0] = 1.0f;
  for (int64_t j = 0; j < positions; ++j) {
    k[size_t(j * stride)] = scores[j];
    v[size_t(j * stride + j)] = 1.0f;
  }
  const double want2 = std::exp(-86.0) / (1.0 + std::exp(-86.0));
  for (int p = 0; p < n; ++p) {
    std::vector<float> sc(static_cast<size_t>(positions)), o(static_cast<size_t>(d));
    ops[p]->attend(q.data(), k.data(), v.data(), stride, positions, d, 1.0f, sc.data(), o.data());
    EXPECT_EQ(o[0], 1.0f) << ops[p]->path;  // e^0 / (1 + e^-86): 1 after rounding
    EXPECT_EQ(o[1], 0.0f) << ops[p]->path;
    EXPECT_NEAR(o[2], want2, want2 * std::ldexp(1.0, -21)) << ops[p]->path;
    EXPECT_EQ(o[3], 0.0f) << ops[p]->path;
    EXPECT_EQ(o[4], 0.0f) << ops[p]->path;
  }
}

}  // namespace
