// Internal, TL x86 files only (AVX2 and AVX-512 flags): pieces both paths share. In an anonymous
// namespace of each including file, so no instantiation crosses ISA boundaries.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace tb {
namespace detail {
namespace {

// Widens two vectors of int16 row sums into the int32 accumulators of 32 rows.
// v0: rows 0-7 | 16-23, v1: rows 8-15 | 24-31.
inline void add_rows(int32_t* acc, __m256i v0, __m256i v1) {
  __m256i* a = reinterpret_cast<__m256i*>(acc);
  const __m256i r0 = _mm256_cvtepi16_epi32(_mm256_castsi256_si128(v0));
  const __m256i r2 = _mm256_cvtepi16_epi32(_mm256_extracti128_si256(v0, 1));
  const __m256i r1 = _mm256_cvtepi16_epi32(_mm256_castsi256_si128(v1));
  const __m256i r3 = _mm256_cvtepi16_epi32(_mm256_extracti128_si256(v1, 1));
  _mm256_storeu_si256(a + 0, _mm256_add_epi32(_mm256_loadu_si256(a + 0), r0));
  _mm256_storeu_si256(a + 1, _mm256_add_epi32(_mm256_loadu_si256(a + 1), r1));
  _mm256_storeu_si256(a + 2, _mm256_add_epi32(_mm256_loadu_si256(a + 2), r2));
  _mm256_storeu_si256(a + 3, _mm256_add_epi32(_mm256_loadu_si256(a + 3), r3));
}

}  // namespace
}  // namespace detail
}  // namespace tb
