#include "base/fp16.h"

#include <cmath>
#include <cstring>

namespace tb {
namespace {

float bits_to_f32(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

}  // namespace

float fp16_to_fp32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1F;
  const uint32_t mant = h & 0x3FF;
  if (exp == 0x1F) return bits_to_f32(sign | 0x7F800000u | (mant << 13));  // inf, NaN (payload kept)
  if (exp != 0) return bits_to_f32(sign | ((exp + 112) << 23) | (mant << 13));  // rebias 15 -> 127
  // Zero or subnormal: mant * 2^-24, exact in fp32 (which has far more range).
  const float mag = std::ldexp(float(mant), -24);
  return sign ? -mag : mag;
}

uint16_t fp32_to_fp16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint16_t sign = uint16_t((x >> 16) & 0x8000);
  const uint32_t ax = x & 0x7FFFFFFFu;
  if (ax > 0x7F800000u) return uint16_t(sign | 0x7E00 | ((ax >> 13) & 0x3FF));  // NaN: quiet, top payload
  // 65520 = 65504 + half an fp16 ulp there: the tie rounds to even, which is the next binade -> inf.
  if (ax >= 0x477FF000u) return uint16_t(sign | 0x7C00);
  if (ax >= 0x38800000u) {  // >= 2^-14: an fp16 normal
    // Round the 23-bit mantissa to 10 bits, nearest even: add 0xFFF plus the lowest kept bit. A carry
    // out of the mantissa bumps the exponent, which is the right result (up to 65504, checked above).
    const uint32_t r = ax + 0xFFFu + ((ax >> 13) & 1u);
    return uint16_t(sign | ((r - 0x38000000u) >> 13));  // rebias 127 -> 15 (112 << 23)
  }
  // fp16 subnormal or zero: result = round_even(value / 2^-24). value = m * 2^(e - 150) with m the
  // 24-bit significand, so value / 2^-24 = m >> (126 - e).
  const uint32_t e = ax >> 23;
  if (e < 102) return sign;  // below 2^-25: rounds to zero (also fp32 subnormals)
  const uint32_t m = (ax & 0x7FFFFFu) | 0x800000u;
  const uint32_t shift = 126 - e;  // 14..24
  uint32_t q = m >> shift;
  const uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
  if (rem > half || (rem == half && (q & 1u))) ++q;  // may reach 0x400, the smallest normal: correct
  return uint16_t(sign | q);
}

}  // namespace tb
