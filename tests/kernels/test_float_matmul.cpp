// Float- and int8-weight matmuls of the LM head and the float baselines.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/float_matmul.h"
#include "tests/kernels/oracle.h"

namespace {

TEST(Fp16, ConversionRoundTripsEveryHalf) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = tb::fp16_to_fp32(uint16_t(h));
    if (std::isnan(f)) continue;
    EXPECT_EQ(tb::fp32_to_fp16(f), h) << h;
  }
  EXPECT_EQ(tb::fp32_to_fp16(1.0f + 1.0f / 4096), 0x3c00);  // a tie rounds to even
  EXPECT_EQ(tb::fp32_to_fp16(65520.0f), 0x7c00);            // overflows to inf
}

// int8 rows: the int32 sums are exact, and the float result is acc / a * scale in that order.
TEST(Int8Rows, ExactSumsAndOneEpilogue) {
  for (int64_t K : {1, 31, 32, 33, 256, 2560}) {
    const int64_t N = 37;
    tbtest::Rng r{static_cast<uint64_t>(K)};
    std::vector<int8_t> W(static_cast<size_t>(N * K)), q(static_cast<size_t>(K));
    std::vector<float> sc(static_cast<size_t>(N));
    for (auto& v : W) v = int8_t(int(r.next() % 255) - 127);
    for (auto& v : q) v = int8_t(int(r.next() % 256) - 128);
    for (auto& v : sc) v = float(r.uniform() + 0.01);
    for (int threads : {1, 2, 3}) {
      std::vector<float> y(static_cast<size_t>(N));
      tb::matmul_i8rows(W.data(), sc.data(), N, K, q.data(), 3.5f, y.data(), threads);
      for (int64_t n = 0; n < N; ++n) {
        int32_t acc = 0;
        for (int64_t k = 0; k < K; ++k) acc += int32_t(W[size_t(n * K + k)]) * q[size_t(k)];
        ASSERT_EQ(y[size_t(n)], float(acc) / 3.5f * sc[size_t(n)]) << "K=" << K << " n=" << n;
      }
    }
  }
}

// Float weights: against a double-precision dot. fp32 sums of K products carry at most ~K * 2^-24 of
// the sum of |products| (much less in practice); the bound is written that way.
TEST(FloatWeights, Fp32AndFp16AgainstDouble) {
  const int64_t N = 19, K = 2560, T = 3;
  tbtest::Rng r(5);
  std::vector<float> W(static_cast<size_t>(N * K)), X(static_cast<size_t>(T * K));
  for (auto& v : W) v = r.normalish();
  for (auto& v : X) v = r.normalish();
  std::vector<uint16_t> W16(W.size());
  for (size_t i = 0; i < W.size(); ++i) W16[i] = tb::fp32_to_fp16(W[i]);
  std::vector<float> y32(static_cast<size_t>(T * N)), y16(static_cast<size_t>(T * N));
  tb::matmul_f32w(W.data(), N, K, X.data(), T, y32.data(), 2);
  tb::matmul_f16w(W16.data(), N, K, X.data(), T, y16.data(), 2);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t n = 0; n < N; ++n) {
      double d32 = 0, d16 = 0, mag = 0;
      for (int64_t k = 0; k < K; ++k) {
        d32 += double(W[size_t(n * K + k)]) * X[size_t(t * K + k)];
        d16 += double(tb::fp16_to_fp32(W16[size_t(n * K + k)])) * X[size_t(t * K + k)];
        mag += std::fabs(double(W[size_t(n * K + k)]) * X[size_t(t * K + k)]);
      }
      const double bound = double(K) * std::ldexp(1.0, -24) * mag;
      EXPECT_NEAR(y32[size_t(t * N + n)], d32, bound);
      EXPECT_NEAR(y16[size_t(t * N + n)], d16, bound);  // fp16 weights are exact in fp32
    }
}

}  // namespace
