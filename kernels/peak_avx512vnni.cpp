// Peak loop, AVX-512 VNNI: 12 independent vpdpbusd accumulators (enough to cover the instruction's
// latency on every core that has it), 64 u8 x s8 multiply-adds each.
#include <immintrin.h>

#include "kernels/variants.h"
#include "kernels/x86_vnni.h"

namespace tb::detail {

int64_t int8_peak_avx512vnni(int64_t iters, const uint8_t* u64, const int8_t* s64) {
  const __m512i u = _mm512_loadu_si512(u64), s = _mm512_loadu_si512(s64);
  __m512i a[12];
  for (__m512i& x : a) x = _mm512_setzero_si512();
  for (int64_t i = 0; i < iters; ++i)
    for (__m512i& x : a) x = dpbusd(x, u, s);
  int64_t total = 0;  // lanes widened before the sum: a long run's total passes 2^31
  alignas(64) int32_t lanes[16];
  for (__m512i& x : a) {
    _mm512_store_si512(lanes, x);
    for (int32_t v : lanes) total += v;
  }
  return total;
}

}  // namespace tb::detail
