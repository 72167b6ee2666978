// base/fp16.h: every half converts exactly and comes back; rounding to nearest even at every midpoint;
// agreement with the compiler's _Float16 where it has one. (Moved from test_gguf.cpp with the conversion.)
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>

#include "base/fp16.h"

namespace {

TEST(Fp16, EveryHalfConvertsAndComesBack) {
  EXPECT_EQ(tb::fp16_to_fp32(0x3C00), 1.0f);
  EXPECT_EQ(tb::fp16_to_fp32(0xC000), -2.0f);
  EXPECT_EQ(tb::fp16_to_fp32(0x7BFF), 65504.0f);
  EXPECT_EQ(tb::fp16_to_fp32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(tb::fp16_to_fp32(0x03FF), std::ldexp(1023.0f, -24));
  EXPECT_EQ(tb::fp16_to_fp32(0x0400), std::ldexp(1.0f, -14));  // smallest normal
  EXPECT_TRUE(std::isinf(tb::fp16_to_fp32(0x7C00)) && tb::fp16_to_fp32(0x7C00) > 0);
  EXPECT_TRUE(std::isinf(tb::fp16_to_fp32(0xFC00)) && tb::fp16_to_fp32(0xFC00) < 0);
  EXPECT_TRUE(std::signbit(tb::fp16_to_fp32(0x8000)) && tb::fp16_to_fp32(0x8000) == 0.0f);
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = tb::fp16_to_fp32(uint16_t(h));
    const uint16_t back = tb::fp32_to_fp16(f);
    if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF)) {  // NaN stays NaN, same sign
      ASSERT_TRUE(std::isnan(f)) << h;
      ASSERT_EQ(back & 0x7C00, 0x7C00) << h;
      ASSERT_NE(back & 0x3FF, 0) << h;
      ASSERT_EQ(back & 0x8000, h & 0x8000) << h;
    } else {
      ASSERT_EQ(back, h) << "half 0x" << std::hex << h;
    }
  }
}

TEST(Fp16, RoundsToNearestEvenAtEveryMidpoint) {
  // Between consecutive finite halves h and h+1 (same sign) the exact midpoint is an fp32 value; it must
  // round to the even one, and one fp32 ulp either side to the nearer one. Covers subnormals, the
  // normal/subnormal boundary and the carry into the next binade.
  for (uint32_t sign : {0u, 0x8000u}) {
    for (uint32_t h = 0; h < 0x7BFF; ++h) {
      const float lo = tb::fp16_to_fp32(uint16_t(sign | h)), hi = tb::fp16_to_fp32(uint16_t(sign | (h + 1)));
      const float mid = (lo + hi) / 2;  // exact: halves have 11 significant bits
      const uint16_t even = uint16_t(sign | ((h & 1) ? h + 1 : h));
      ASSERT_EQ(tb::fp32_to_fp16(mid), even) << "midpoint above half 0x" << std::hex << h;
      ASSERT_EQ(tb::fp32_to_fp16(std::nextafter(mid, lo)), sign | h) << std::hex << h;
      ASSERT_EQ(tb::fp32_to_fp16(std::nextafter(mid, hi)), sign | (h + 1)) << std::hex << h;
    }
  }
  // Overflow: 65520 (= 65504 + half an ulp) ties to even, which is infinity; just below stays 65504.
  EXPECT_EQ(tb::fp32_to_fp16(65520.0f), 0x7C00);
  EXPECT_EQ(tb::fp32_to_fp16(std::nextafter(65520.0f, 0.0f)), 0x7BFF);
  EXPECT_EQ(tb::fp32_to_fp16(-1e30f), 0xFC00);
  EXPECT_EQ(tb::fp32_to_fp16(std::numeric_limits<float>::infinity()), 0x7C00);
  // Underflow: half the smallest subnormal ties to zero; anything above rounds up to it.
  EXPECT_EQ(tb::fp32_to_fp16(std::ldexp(1.0f, -25)), 0x0000);
  EXPECT_EQ(tb::fp32_to_fp16(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  EXPECT_EQ(tb::fp32_to_fp16(-std::ldexp(1.0f, -30)), 0x8000);
  EXPECT_EQ(tb::fp32_to_fp16(std::numeric_limits<float>::denorm_min()), 0x0000);
  EXPECT_EQ(tb::fp32_to_fp16(std::nanf("")) & 0x7E00, 0x7E00);
}

// _Float16 in C++: GCC 12 has it on x86-64 only (GCC 13 and clang elsewhere).
#if defined(__FLT16_MAX__) && (defined(__x86_64__) || defined(__clang__) || __GNUC__ >= 13)
TEST(Fp16, AgreesWithTheCompilersFloat16) {
  std::mt19937 rng(7);
  for (int i = 0; i < 2000000; ++i) {
    const uint32_t bits = rng();
    float f;
    std::memcpy(&f, &bits, 4);
    if (std::isnan(f)) continue;
    const _Float16 h = static_cast<_Float16>(f);
    uint16_t hb;
    std::memcpy(&hb, &h, 2);
    ASSERT_EQ(tb::fp32_to_fp16(f), hb) << "float bits 0x" << std::hex << bits;
  }
}
#endif

}  // namespace
