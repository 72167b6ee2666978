// Internal, AVX-512 VNNI files only. acc += groups of 4 (unsigned u8 x signed s8) products.
// GCC 12 register-allocates the vpdpbusd builtin badly (a register copy, or a stack spill, per
// accumulate when accumulators live in arrays); the tied "+v" asm operand gives the plain
// accumulate-in-place that clang emits from the intrinsic.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace tb {
namespace detail {
namespace {

inline __attribute__((always_inline)) __m512i dpbusd(__m512i acc, __m512i u8, __m512i s8) {
#if defined(__GNUC__) && !defined(__clang__)
  __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u8), "v"(s8));
  return acc;
#else
  return _mm512_dpbusd_epi32(acc, u8, s8);
#endif
}

// The accumulators of an R x TT micro-tile, zeroed.
template <int R, int TT>
inline __attribute__((always_inline)) void zero_tile(__m512i (&acc)[R][TT]) {
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int i = 0; i < TT; ++i) acc[r][i] = _mm512_setzero_si512();
}

// Horizontal sums of four int32 vectors at once: {sum(a), sum(b), sum(c), sum(d)}. About a third of
// the instructions of four separate reductions, which matters in micro-tiles with short K.
inline __attribute__((always_inline)) __m128i reduce4(__m512i a, __m512i b, __m512i c, __m512i d) {
  const __m512i ab = _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));  // a b a b
  const __m512i cd = _mm512_add_epi32(_mm512_unpacklo_epi32(c, d), _mm512_unpackhi_epi32(c, d));  // c d c d
  const __m512i abcd = _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd));
  const __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(abcd), _mm512_extracti64x4_epi64(abcd, 1));
  return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

// s[r] = sum of the lanes of acc[r], four rows at a time.
template <int R>
inline __attribute__((always_inline)) void lane_sums(const __m512i (&acc)[R], int32_t (&s)[R]) {
  int r = 0;
  for (; r + 4 <= R; r += 4)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(s + r), reduce4(acc[r], acc[r + 1], acc[r + 2], acc[r + 3]));
  for (; r < R; ++r) s[r] = _mm512_reduce_add_epi32(acc[r]);
}

}  // namespace
}  // namespace detail
}  // namespace tb
