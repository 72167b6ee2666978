// Peak loop, AVX2: the i2s kernel's sequence (i2s_avx2.cpp), vpmaddubsw (u8 x s8 pairs to int16) summed in
// int16 by vpaddw over 4 iterations, then one vpmaddwd by ones (to int32) + vpaddd: the multiply ports do one
// vpmaddubsw per 32 multiply-adds plus a quarter of a vpmaddwd, which is what binds a ternary kernel on a core
// without VNNI. 8 products per iteration into 4 int16 accumulators (each lane of one takes 8 pair sums before it
// is widened: ternary codes times int8 stay far inside int16).
#include <immintrin.h>

#include "kernels/variants.h"

namespace tb::detail {

int64_t int8_peak_avx2(int64_t iters, const uint8_t* u64, const int8_t* s64) {
  __m256i u = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(u64));
  __m256i s = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s64));
  __m256i u2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(u64 + 32));
  __m256i s2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s64 + 32));
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i a[2], h[4];  // two int32 sums (their adds are rare) leave room in 16 registers for no spills
  for (__m256i& x : a) x = _mm256_setzero_si256();
  for (__m256i& x : h) x = _mm256_setzero_si256();
  // One iteration: each int16 accumulator takes bytes 0-31 and 32-63. Before each product an empty asm "changes"
  // its inputs: without it the compiler computes maddubs(u, s) and maddubs(u2, s2) once per iteration and adds
  // them to every accumulator (2 multiplies where 8 are counted), or hoists them out of the loop altogether.
  // tests/check_loops_asm.py counts the multiplies in the machine code.
  auto step = [&] {
    for (int j = 0; j < 4; ++j) {
      __asm__("" : "+x"(u), "+x"(s));
      h[j] = _mm256_add_epi16(h[j], _mm256_maddubs_epi16(u, s));
      __asm__("" : "+x"(u2), "+x"(s2));
      h[j] = _mm256_add_epi16(h[j], _mm256_maddubs_epi16(u2, s2));
    }
  };
  auto widen = [&] {
    for (int j = 0; j < 4; ++j) {
      a[j & 1] = _mm256_add_epi32(a[j & 1], _mm256_madd_epi16(h[j], ones));
      h[j] = _mm256_setzero_si256();
    }
  };
  int64_t i = 0;
  for (; i + 4 <= iters; i += 4) {  // four iterations, then widen: no branch inside
    step();
    step();
    step();
    step();
    widen();
  }
  for (; i < iters; ++i) step();
  widen();
  int64_t total = 0;  // lanes widened before the sum: a long run's total passes 2^31
  alignas(32) int32_t lanes[8];
  for (__m256i& x : a) {
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), x);
    for (int32_t v : lanes) total += v;
  }
  return total;
}

}  // namespace tb::detail
