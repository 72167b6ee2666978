// The roofline's int8 peak loops compute what they claim: each path's sum over its accumulators equals
// the count of 64-byte dot products its PeakLoop::macs_per_iter promises (a loop the compiler
// shortened, or one that skips a NEON remainder block, fails here).
#include <gtest/gtest.h>

#include <random>

#include "kernels/peak.h"

namespace {
using tb::Isa;

TEST(Int8Peak, EveryPathComputesItsDotProducts) {
  std::mt19937 rng(7);
  for (Isa isa : {Isa::scalar, Isa::neon, Isa::avx2, Isa::avx512vnni}) {
    if (!tb::cpu_supports(isa)) continue;
    const tb::PeakLoop& loop = tb::int8_peak_loop(isa);
    // Each iteration is macs_per_iter multiply-adds, i.e. macs_per_iter / 64 passes over the 64 bytes.
    ASSERT_EQ(loop.macs_per_iter % 64, 0) << tb::isa_name(isa);
    uint8_t u[64];
    int8_t s[64];
    for (int b = 0; b < 64; ++b) {  // small values: NEON's int16 stage holds 16 iterations of them
      u[b] = uint8_t(rng() % 4);
      s[b] = int8_t(int(rng() % 7) - 3);
    }
    int64_t dot = 0;
    for (int b = 0; b < 64; ++b) dot += int64_t(u[b]) * s[b];
    ASSERT_NE(dot, 0);
    for (int64_t iters : {1, 15, 16, 17, 33, 1000}) {
      EXPECT_EQ(loop.run(iters, u, s), tb::int8_peak_expected(isa, iters, u, s)) << tb::isa_name(isa) << " iters " << iters;
      // ... and that sum is the promised number of multiply-adds: macs_per_iter / 64 dot products per iteration.
      EXPECT_EQ(tb::int8_peak_expected(isa, iters, u, s), iters * (loop.macs_per_iter / 64) * dot) << tb::isa_name(isa);
    }
  }
}

TEST(Int8Peak, SumsPastTwoToThe31) {
  // Long runs: the sum over accumulator lanes exceeds int32 (a narrow final reduction wrapped here once).
  // The SIMD paths only: the scalar loop sums in int64 from the start (and takes 2^31 scalar MACs to show it).
  uint8_t u[64];
  int8_t s[64];
  for (int b = 0; b < 64; ++b) u[b] = 1, s[b] = 1;
  for (Isa isa : {Isa::neon, Isa::avx2, Isa::avx512vnni}) {
    if (!tb::cpu_supports(isa)) continue;
    const tb::PeakLoop& loop = tb::int8_peak_loop(isa);
    const int64_t iters = (int64_t(1) << 31) / loop.macs_per_iter + 1000;  // each lane stays far below 2^31
    EXPECT_EQ(loop.run(iters, u, s), iters * loop.macs_per_iter) << tb::isa_name(isa);
  }
}

TEST(Int8Peak, MeasuresAPositiveRate) {
  const tb::PeakResult r = tb::measure_int8_peak(Isa::scalar, 1, 0.01, 1);
  EXPECT_GT(r.macs_per_s, 0.0);
  EXPECT_FALSE(r.instructions.empty());
}
}  // namespace
