// Activation quantizer, NEON path; bit-identical to quantize_row_scalar.
// vcvtnq_s32_f32 rounds to nearest with ties to even (like nearbyint in the default mode);
// the saturating narrows vqmovn are the clamp to [-128, 127].
// Builtins rather than <cmath>: no inline library function compiled here may reach scalar code.
#include <arm_neon.h>

#include <cfloat>

#include "kernels/quantize_tail.h"
#include "kernels/variants.h"

namespace tb {
namespace detail {

int64_t quantize_row_neon(const float* x, int64_t K, int8_t* q, float* a_out, int32_t* sum_out) {
  float32x4_t vmax = vdupq_n_f32(0.0f);
  uint32x4_t bad = vdupq_n_u32(0);
  const float32x4_t fmax = vdupq_n_f32(FLT_MAX);
  int64_t k = 0;
  for (; k + 4 <= K; k += 4) {
    const float32x4_t v = vabsq_f32(vld1q_f32(x + k));
    bad = vorrq_u32(bad, vmvnq_u32(vcleq_f32(v, fmax)));  // not <= FLT_MAX: Inf or NaN
    vmax = vmaxq_f32(vmax, v);
  }
  if (vmaxvq_u32(bad)) {
    for (int64_t i = 0; i < k; ++i)
      if (!(__builtin_fabsf(x[i]) <= FLT_MAX)) return i;
  }
  float amax = vmaxvq_f32(vmax);
  float a;
  if (const int64_t at = quantize_scale(x, k, K, amax, &a); at >= 0) return at;
  const float32x4_t va = vdupq_n_f32(a);
  int32x4_t vsum = vdupq_n_s32(0);
  k = 0;
  for (; k + 16 <= K; k += 16) {
    const int32x4_t i0 = vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + k), va));
    const int32x4_t i1 = vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + k + 4), va));
    const int32x4_t i2 = vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + k + 8), va));
    const int32x4_t i3 = vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + k + 12), va));
    const int16x8_t h0 = vcombine_s16(vqmovn_s32(i0), vqmovn_s32(i1));
    const int16x8_t h1 = vcombine_s16(vqmovn_s32(i2), vqmovn_s32(i3));
    const int8x16_t b = vcombine_s8(vqmovn_s16(h0), vqmovn_s16(h1));
    vst1q_s8(q + k, b);
    vsum = vpadalq_s16(vsum, vpaddlq_s8(b));
  }
  int32_t s = vaddvq_s32(vsum);
  s = quantize_tail(x, k, K, a, q, s);
  *a_out = a;
  *sum_out = s;
  return -1;
}

}  // namespace detail
}  // namespace tb
