// Float- and int8-weight rows on NEON (AArch64): the LM head and the float baselines. Four rows at a time, from
// the four quarters of the range (the head GEMV is a bandwidth problem), four float32x4 accumulators per row (sixteen FMA
// chains); a leftover row is summed in exactly the same order, so a row's result does not depend on where a
// thread's range starts. fp16 weights are widened with fcvtl (AArch64 baseline).
#include <arm_neon.h>

#include "kernels/float_matmul.h"

namespace tb {
namespace detail {
namespace {

inline float32x4_t load4(const float* p) { return vld1q_f32(p); }
inline float32x4_t load4(const uint16_t* p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))); }
inline float load1(const float* p) { return *p; }
inline float load1(const uint16_t* p) { return fp16_to_fp32(*p); }

template <class Wt>
inline float row_dot(const Wt* w, const float* x, int64_t K16, int64_t K) {
  float32x4_t a0 = vdupq_n_f32(0), a1 = a0, a2 = a0, a3 = a0;
  for (int64_t k = 0; k < K16; k += 16) {
    a0 = vfmaq_f32(a0, load4(w + k), vld1q_f32(x + k));
    a1 = vfmaq_f32(a1, load4(w + k + 4), vld1q_f32(x + k + 4));
    a2 = vfmaq_f32(a2, load4(w + k + 8), vld1q_f32(x + k + 8));
    a3 = vfmaq_f32(a3, load4(w + k + 12), vld1q_f32(x + k + 12));
  }
  float s = vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)));
  for (int64_t k = K16; k < K; ++k) s += load1(w + k) * x[k];
  return s;
}

// Four rows at a time, one from each quarter of the range: four long sequential streams (as on x86, where four
// adjacent rows left the fp16 head at 0.6-0.75 of the read bandwidth; not measured on an ARM core here).
template <class Wt>
void dot_rows(const Wt* W, int64_t K, const float* x, int64_t n0, int64_t n1, float* y) {
  const int64_t K16 = K / 16 * 16;
  const int64_t q = (n1 - n0) / 4;
  for (int64_t j = 0; j < q; ++j) {
    const Wt* wr[4];
    for (int r = 0; r < 4; ++r) wr[r] = W + (n0 + r * q + j) * K;
    float32x4_t a[4][4];
    for (int r = 0; r < 4; ++r)
      for (int i = 0; i < 4; ++i) a[r][i] = vdupq_n_f32(0);
    for (int64_t k = 0; k < K16; k += 16) {
      const float32x4_t x0 = vld1q_f32(x + k), x1 = vld1q_f32(x + k + 4), x2 = vld1q_f32(x + k + 8),
                        x3 = vld1q_f32(x + k + 12);
      for (int r = 0; r < 4; ++r) {
        const Wt* w = wr[r] + k;
        __builtin_prefetch(w + 512);
        a[r][0] = vfmaq_f32(a[r][0], load4(w), x0);
        a[r][1] = vfmaq_f32(a[r][1], load4(w + 4), x1);
        a[r][2] = vfmaq_f32(a[r][2], load4(w + 8), x2);
        a[r][3] = vfmaq_f32(a[r][3], load4(w + 12), x3);
      }
    }
    for (int r = 0; r < 4; ++r) {
      float s = vaddvq_f32(vaddq_f32(vaddq_f32(a[r][0], a[r][1]), vaddq_f32(a[r][2], a[r][3])));
      for (int64_t k = K16; k < K; ++k) s += load1(wr[r] + k) * x[k];
      y[n0 + r * q + j] = s;
    }
  }
  for (int64_t n = n0 + 4 * q; n < n1; ++n) y[n] = row_dot(W + n * K, x, K16, K);
}

}  // namespace

void dot_rows_f32_neon(const float* W, int64_t K, const float* x, int64_t n0, int64_t n1, float* y) {
  dot_rows(W, K, x, n0, n1, y);
}
void dot_rows_f16_neon(const uint16_t* W, int64_t K, const float* x, int64_t n0, int64_t n1, float* y) {
  dot_rows(W, K, x, n0, n1, y);
}

// int8 rows x int8 activations: vmull_s8 / vmlal_high_s8 into int16 (two products per lane per 16 weights,
// |2 * 128 * 127| < 32767), vpadalq widens to int32 every 16 weights. Exact int32 sums.
void dot_rows_i8_neon(const int8_t* W, int64_t K, const int8_t* q, int64_t n0, int64_t n1, int32_t* acc) {
  const int64_t K16 = K / 16 * 16;
  for (int64_t n = n0; n < n1; ++n) {
    const int8_t* w = W + n * K;
    int32x4_t a = vdupq_n_s32(0);
    for (int64_t k = 0; k < K16; k += 16) {
      __builtin_prefetch(w + k + 1024);
      const int8x16_t wv = vld1q_s8(w + k), xv = vld1q_s8(q + k);
      int16x8_t p = vmull_s8(vget_low_s8(wv), vget_low_s8(xv));
      p = vmlal_high_s8(p, wv, xv);
      a = vpadalq_s16(a, p);
    }
    int32_t s = vaddvq_s32(a);
    for (int64_t k = K16; k < K; ++k) s += int32_t(w[k]) * q[k];
    acc[n - n0] = s;
  }
}

}  // namespace detail
}  // namespace tb
