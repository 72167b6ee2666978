// Internal, AVX2 files only: small helpers shared by the AVX2 kernels (one copy of each).
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace tb {
namespace detail {
namespace {

// Sum of the eight int32 lanes.
inline int32_t hsum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

}  // namespace
}  // namespace detail
}  // namespace tb
