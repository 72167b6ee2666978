// Float- and int8-weight matmuls of the LM head and the float baselines.
#include <gtest/gtest.h>

#include <cmath>

#include "base/error.h"
#include "kernels/cpu_features.h"
#include "kernels/float_matmul.h"
#include "tests/kernels/oracle.h"

namespace {

// A row function's variant where the build has it, nullptr where it does not.
#ifdef TB_HAVE_X86_KERNELS
#define TB_X86(f) &f
#else
#define TB_X86(f) nullptr
#endif
#ifdef TB_HAVE_NEON_KERNELS
#define TB_NEON(f) &f
#else
#define TB_NEON(f) nullptr
#endif

// The variants of a row function that this build has and this CPU runs, named by their path.
template <class Fn>
std::vector<std::pair<const char*, Fn>> runnable(Fn scalar, Fn avx2, Fn avx512vnni, Fn neon) {
  const std::pair<tb::Isa, Fn> all[] = {
      {tb::Isa::scalar, scalar}, {tb::Isa::avx2, avx2}, {tb::Isa::avx512vnni, avx512vnni}, {tb::Isa::neon, neon}};
  std::vector<std::pair<const char*, Fn>> out;
  for (const auto& [isa, f] : all)
    if (f && tb::cpu_supports(isa)) out.push_back({tb::isa_name(isa), f});
  return out;
}

TEST(Fp16, ConversionRoundTripsEveryHalf) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = tb::fp16_to_fp32(uint16_t(h));
    if (std::isnan(f)) continue;
    EXPECT_EQ(tb::fp32_to_fp16(f), h) << h;
  }
  EXPECT_EQ(tb::fp32_to_fp16(1.0f + 1.0f / 4096), 0x3c00);  // a tie rounds to even
  EXPECT_EQ(tb::fp32_to_fp16(65520.0f), 0x7c00);            // overflows to inf
}

// int8 rows, every path this CPU runs: exact int32 sums for ranges starting mid-group of four (as a thread's may),
// K with and without tails of the 16-, 32- and 64-byte steps, and the extremes (-127 weights x -128 activations).
TEST(Int8Rows, EveryPathSumsExactly) {
  using Fn = void (*)(const int8_t*, int64_t, const int8_t*, int64_t, int64_t, int32_t*);
  const auto paths = runnable<Fn>(&tb::detail::dot_rows_i8_scalar, TB_X86(tb::detail::dot_rows_i8_avx2),
                                  TB_X86(tb::detail::dot_rows_i8_avx512vnni), TB_NEON(tb::detail::dot_rows_i8_neon));
  for (int64_t K : {1, 15, 16, 17, 31, 33, 63, 64, 65, 2560, 2593}) {
    const int64_t N = 23;
    tbtest::Rng r{static_cast<uint64_t>(K) + 3};
    std::vector<int8_t> W(static_cast<size_t>(N * K)), q(static_cast<size_t>(K));
    for (auto& v : W) v = int8_t(int(r.next() % 255) - 127);
    for (auto& v : q) v = int8_t(int(r.next() % 256) - 128);
    for (int64_t i = 0; i < K; ++i) W[size_t(5 * K + i)] = -127, q[size_t(i)] = i % 3 ? q[size_t(i)] : int8_t(-128);
    for (const auto& [name, fn] : paths)
      for (int64_t n0 : {0, 1, 3}) {
        std::vector<int32_t> acc(static_cast<size_t>(N - n0), -1);
        fn(W.data(), K, q.data(), n0, N, acc.data());
        for (int64_t n = n0; n < N; ++n) {
          int32_t want = 0;
          for (int64_t k = 0; k < K; ++k) want += int32_t(W[size_t(n * K + k)]) * q[size_t(k)];
          ASSERT_EQ(acc[size_t(n - n0)], want) << name << " K=" << K << " n=" << n << " n0=" << n0;
        }
      }
  }
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

// Every fp16 path this CPU runs (scalar, AVX2, AVX-512), each within the same bound of a double dot, on K
// that leave tails (K % 32 != 0) and N that leaves rows outside the groups of four; and the dispatched
// matmul gives bitwise the same logits for any thread count (rows never depend on a thread's range).
TEST(FloatWeights, EveryFp16PathAndThreadCount) {
  using Fn = void (*)(const uint16_t*, int64_t, const float*, int64_t, int64_t, float*);
  const auto paths = runnable<Fn>(&tb::detail::dot_rows_f16_scalar, TB_X86(tb::detail::dot_rows_f16_avx2),
                                  TB_X86(tb::detail::dot_rows_f16_avx512), TB_NEON(tb::detail::dot_rows_f16_neon));
  for (int64_t K : {15, 31, 33, 2560, 2593}) {
    const int64_t N = 23;
    tbtest::Rng r{static_cast<uint64_t>(K) + 11};
    std::vector<uint16_t> W(static_cast<size_t>(N * K));
    std::vector<float> x(static_cast<size_t>(K));
    for (auto& v : W) v = tb::fp32_to_fp16(r.normalish());
    for (auto& v : x) v = r.normalish();
    for (const auto& [name, fn] : paths)
      for (int64_t n0 : {0, 1, 3}) {  // a range starting mid-group, as a thread's may
        std::vector<float> y(static_cast<size_t>(N), -1.0f);
        fn(W.data(), K, x.data(), n0, N, y.data());
        for (int64_t n = n0; n < N; ++n) {
          double d = 0, mag = 0;
          for (int64_t k = 0; k < K; ++k) {
            const double p = double(tb::fp16_to_fp32(W[size_t(n * K + k)])) * x[size_t(k)];
            d += p;
            mag += std::fabs(p);
          }
          ASSERT_NEAR(y[size_t(n)], d, double(K) * std::ldexp(1.0, -24) * mag) << name << " K=" << K << " n=" << n;
        }
      }
    std::vector<float> y1(static_cast<size_t>(N)), yt(static_cast<size_t>(N));
    tb::matmul_f16w(W.data(), N, K, x.data(), 1, y1.data(), 1);
    for (int threads : {2, 3, 5}) {
      tb::matmul_f16w(W.data(), N, K, x.data(), 1, yt.data(), threads);
      for (int64_t n = 0; n < N; ++n) ASSERT_EQ(y1[size_t(n)], yt[size_t(n)]) << "threads=" << threads << " n=" << n;
    }
  }
}

// The AVX-512 fp16 path converts with vcvtph2ps: every finite half (subnormals included) must come out as
// its exact float, alone in its vector or beside a subnormal. Row n holds half n in column 0 and, in the
// second pass, the smallest subnormal in column 1; x = (1, 0, 0, ...).
TEST(FloatWeights, Fp16Avx512ConvertsEveryHalfExactly) {
#ifdef TB_HAVE_X86_KERNELS
  if (!tb::cpu_supports(tb::Isa::avx512vnni)) GTEST_SKIP() << "no AVX-512 here";
  const int64_t K = 32;
  std::vector<uint16_t> halves;
  for (uint32_t h = 0; h < 65536; ++h)
    if (((h >> 10) & 0x1f) != 0x1f) halves.push_back(uint16_t(h));  // finite only: 0 x inf would be NaN
  const int64_t N = int64_t(halves.size());
  std::vector<float> x(static_cast<size_t>(K), 0.0f);
  x[0] = 1.0f;
  for (bool with_subnormal : {false, true}) {
    std::vector<uint16_t> W(static_cast<size_t>(N * K), 0);
    for (int64_t n = 0; n < N; ++n) {
      W[size_t(n * K)] = halves[size_t(n)];
      if (with_subnormal) W[size_t(n * K + 1)] = 0x0001;
    }
    std::vector<float> y(static_cast<size_t>(N));
    tb::detail::dot_rows_f16_avx512(W.data(), K, x.data(), 0, N, y.data());
    for (int64_t n = 0; n < N; ++n)
      ASSERT_EQ(y[size_t(n)], tb::fp16_to_fp32(halves[size_t(n)])) << std::hex << halves[size_t(n)] << " with_subnormal=" << with_subnormal;
  }
#else
  GTEST_SKIP() << "x86 only";
#endif
}

// Dispatch by name: with each path forced (TERNBENCH_ISA / harness --isa), matmul_f16w runs that path's
// rows, bit for bit.
TEST(FloatWeights, ForcedPathIsTheOneThatRuns) {
  using Fn = void (*)(const uint16_t*, int64_t, const float*, int64_t, int64_t, float*);
  const auto paths = runnable<Fn>(&tb::detail::dot_rows_f16_scalar, TB_X86(tb::detail::dot_rows_f16_avx2),
                                  TB_X86(tb::detail::dot_rows_f16_avx512), TB_NEON(tb::detail::dot_rows_f16_neon));
  const int64_t N = 13, K = 2593;
  tbtest::Rng r(3);
  std::vector<uint16_t> W(static_cast<size_t>(N * K));
  std::vector<float> x(static_cast<size_t>(K));
  for (auto& v : W) v = tb::fp32_to_fp16(r.normalish());
  for (auto& v : x) v = r.normalish();
  for (const auto& [name, fn] : paths) {
    std::vector<float> want(static_cast<size_t>(N)), got(static_cast<size_t>(N));
    fn(W.data(), K, x.data(), 0, N, want.data());
    tb::set_forced_isa(name);
    tb::matmul_f16w(W.data(), N, K, x.data(), 1, got.data(), 2);
    tb::set_forced_isa("");
    for (int64_t n = 0; n < N; ++n) ASSERT_EQ(got[size_t(n)], want[size_t(n)]) << name << " n=" << n;
  }
}

// The row walk (tb::set_row_streams: four runs side by side, or one stream in order) changes no bit of any head
// result, on every path and thread count: each row is summed in the same order wherever it sits. N = 29 leaves a
// range that is neither a multiple of 4 nor of the 3-row calls of the one-stream walk.
TEST(FloatWeights, RowWalkChangesNoResult) {
  const int64_t N = 29, K = 2593;
  tbtest::Rng r(17);
  std::vector<float> W32(static_cast<size_t>(N * K)), x(static_cast<size_t>(K));
  std::vector<uint16_t> W16(W32.size());
  std::vector<int8_t> W8(W32.size()), q(static_cast<size_t>(K));
  std::vector<float> scale(static_cast<size_t>(N));
  for (size_t i = 0; i < W32.size(); ++i) {
    W32[i] = r.normalish();
    W16[i] = tb::fp32_to_fp16(r.normalish());
    W8[i] = int8_t(int(r.next() % 255) - 127);
  }
  for (size_t k = 0; k < x.size(); ++k) {
    x[k] = r.normalish();
    q[k] = int8_t(int(r.next() % 256) - 128);
  }
  for (int64_t n = 0; n < N; ++n) scale[size_t(n)] = 0.01f * float(n + 1);
  // Every path this CPU runs, forced by name; the default walk (four) is restored whatever happens.
  struct Restore {
    ~Restore() {
      tb::set_row_streams(4);
      tb::set_forced_isa("");
    }
  } restore;
  for (const tb::Isa isa : {tb::Isa::scalar, tb::Isa::avx2, tb::Isa::avx512vnni, tb::Isa::neon}) {
    if (!tb::cpu_supports(isa)) continue;
    tb::set_forced_isa(tb::isa_name(isa));
    for (int threads : {1, 2, 3}) {
      std::vector<float> y[2][3];
      for (int s = 0; s < 2; ++s) {
        tb::set_row_streams(s == 0 ? 4 : 1);
        ASSERT_EQ(tb::row_streams(), s == 0 ? 4 : 1);
        for (auto& v : y[s]) v.assign(static_cast<size_t>(N), -1.0f);
        tb::matmul_f32w(W32.data(), N, K, x.data(), 1, y[s][0].data(), threads);
        tb::matmul_f16w(W16.data(), N, K, x.data(), 1, y[s][1].data(), threads);
        tb::matmul_i8rows(W8.data(), scale.data(), N, K, q.data(), 127.0f, y[s][2].data(), threads);
      }
      for (int m = 0; m < 3; ++m)
        for (int64_t n = 0; n < N; ++n)
          ASSERT_EQ(y[0][m][size_t(n)], y[1][m][size_t(n)])
              << tb::isa_name(isa) << " matmul " << m << " threads=" << threads << " n=" << n;
    }
  }
  tb::set_row_streams(1);
  EXPECT_THROW(tb::set_row_streams(2), tb::Error);
  EXPECT_EQ(tb::row_streams(), 1);  // a rejected value leaves the walk as it was
}

}  // namespace
