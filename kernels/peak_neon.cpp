// Peak loop, NEON (baseline AArch64, no dot-product extension): the kernels' sequence, smlal/smlal2
// (s8 x s8 to int16) on 8 independent int16 accumulators, widened with sadalp to int32 every 16
// iterations (|16 x 2 x 127 x 127| stays inside int16 only for small inputs: the loop is fed bytes
// in [-1, 1] by measure_int8_peak, as the i2s kernels' codes are); 16 multiply-adds per pair.
#include <arm_neon.h>

#include "kernels/variants.h"

namespace tb::detail {

int64_t int8_peak_neon(int64_t iters, const uint8_t* u64, const int8_t* s64) {
  int8x16_t u[4], s[4];
  for (int j = 0; j < 4; ++j) {
    u[j] = vreinterpretq_s8_u8(vld1q_u8(u64 + 16 * j));
    s[j] = vld1q_s8(s64 + 16 * j);
  }
  int32x4_t acc[8];
  for (int32x4_t& x : acc) x = vdupq_n_s32(0);
  for (int64_t i = 0; i < iters; i += 16) {
    const int64_t n = iters - i < 16 ? iters - i : 16;
    int16x8_t a[8];
    for (int16x8_t& x : a) x = vdupq_n_s16(0);
    for (int64_t k = 0; k < n; ++k) {
      for (int j = 0; j < 8; ++j) {
        // Before each chain an empty asm "changes" its input: accumulators j and j + 4 see the same bytes, and
        // without it the compiler keeps one of them and counts it twice (8 multiplies where 16 are credited, a
        // ceiling 2x too high); it also keeps the products in the loop. tests/check_loops_asm.py checks.
        __asm__("" : "+w"(u[j & 3]));
        a[j] = vmlal_s8(a[j], vget_low_s8(u[j & 3]), vget_low_s8(s[j & 3]));
        a[j] = vmlal_high_s8(a[j], u[j & 3], s[j & 3]);
      }
    }
    for (int j = 0; j < 8; ++j) acc[j] = vpadalq_s16(acc[j], a[j]);
  }
  int64_t total = 0;
  for (int32x4_t& x : acc) total += vaddlvq_s32(x);  // widening: a long run's total passes 2^31
  return total;
}

}  // namespace tb::detail
