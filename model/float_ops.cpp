// One body per operation, compiled three times (baseline, AVX2, AVX-512) through always_inline: see float_ops.h for
// why the copies agree bit for bit. The bodies are written so that GCC vectorizes them at any width: __restrict on
// every pointer that cannot overlap (without it GCC 12 kept the gated ReLU^2 of a 2B4T prefill scalar, and RoPE,
// whose old loop walked the heads innermost, 2.5 KiB apart).
#include "model/float_ops.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/cpu_features.h"

#define TB_INLINE inline __attribute__((always_inline))

namespace tb {
namespace {

// A float dot product in 16 independent lanes, summed in a fixed order: it vectorizes on any target (one scalar
// chain of dependent adds kept prefill attention scores at ~3 GFLOP/s, a quarter of a 2B4T prefill token's time),
// and the result depends only on the inputs, never on threads or vector width.
TB_INLINE float dot16(const float* __restrict a, const float* __restrict b, int64_t n) {
  float acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) acc[j] += a[i + j] * b[i + j];
  float s = 0.0f;
  for (int j = 0; j < 16; ++j) s += acc[j];
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

TB_INLINE void rmsnorm_body(const float* __restrict x, const float* __restrict w, int64_t n, float eps,
                            float* __restrict y) {
  // Any fixed summation order will do: the comparison with the reference (harness/crosscheck.h) counts the flips
  // that rounding differences cause and holds everything else to bounds that do not depend on it.
  const float ss = dot16(x, x, n);
  const float r = 1.0f / std::sqrt(ss / float(n) + eps);
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * r * w[i];
}

// Choices made on the bits. GCC 12 keeps a select on a float compare (c ? a : b) as a branch below AVX-512
// ("control flow in loop"), so the loop around it stayed scalar, with a branch per element, on SSE2, AVX2 and
// NEON: the gated ReLU^2 took 1.8 ms of a 2B4T decode token on a Zen 5's AVX2 path, against 0.2 ms on its
// AVX-512 path. The same choice made with an all-ones or all-zero mask on the bits vectorizes at every width and
// picks the same values.
TB_INLINE uint32_t bits_of(float x) {
  uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}
TB_INLINE float float_of(uint32_t b) {
  float x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}
TB_INLINE uint32_t mask_if(bool c) { return 0u - uint32_t(c); }

TB_INLINE void relu2_body(float* __restrict g, const float* __restrict u, int64_t n) {
  const uint32_t inf = bits_of(INFINITY);
  for (int64_t i = 0; i < n; ++i) {
    // r = g > 0 ? g : 0 (NaN -> 0: g > 0 is false). g > 0 exactly when its bits less one are below those of +inf:
    // +0 wraps to the top, negatives and NaNs are above.
    const uint32_t b = bits_of(g[i]);
    const float r = float_of(b & mask_if(b - 1u < inf));
    g[i] = r * r * u[i];
  }
}

TB_INLINE void silu_body(float* __restrict g, const float* __restrict u, int64_t n) {
  for (int64_t i = 0; i < n; ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

TB_INLINE void rope_body(float* x, const float* __restrict c, const float* __restrict s, int64_t nheads, int64_t d) {
  const int64_t half = d / 2;
  for (int64_t h = 0; h < nheads; ++h) {
    float* __restrict lo = x + h * d;  // dimensions [0, half) and [half, d) of a head do not overlap
    float* __restrict hi = lo + half;
    for (int64_t i = 0; i < half; ++i) {
      const float a = lo[i], b = hi[i];
      lo[i] = a * c[i] - b * s[i];
      hi[i] = a * s[i] + b * c[i];
    }
  }
}

TB_INLINE void add_body(float* __restrict x, const float* __restrict a, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] += a[i];
}

// e^x for the softmax's x = score - max <= 0, within 2 ulp of the exact value, in plain float operations that
// vectorize at any width (std::exp is a library call per element: a 2B4T prefill spent 0.5 ms of its 7.4 ms per
// token in it). x = n ln2 + r with n = round(x / ln2) (the 1.5 * 2^23 trick) and |r| <= ln2 / 2; e^r by its Taylor
// series to r^7 (truncation below 6e-9 relative); 2^n put in the exponent bits. Below -87, e^x < 2^-125: 0 (the
// softmax of a score 87 below the maximum). NaN stays NaN. The same operations on every path: identical results.
TB_INLINE float exp_nonpositive(float x) {
  // below = x < -87 (false for NaN), on the bits (see bits_of): x in (-87, -inf] in float order is one interval of
  // bit patterns, 0xC2AE0001 .. 0xFF800000.
  const uint32_t b = bits_of(x), m87 = bits_of(-87.0f);
  const uint32_t below = mask_if(b - (m87 + 1u) < bits_of(-INFINITY) - m87);
  const float xc = float_of((b & ~below) | (m87 & below));
  const float magic = 12582912.0f;  // 1.5 * 2^23: t's low mantissa bits hold round(xc / ln2)
  const float t = xc * 1.44269504088896341f + magic;
  const float n = t - magic;
  const uint32_t ni = bits_of(t) - 0x4B400000u;  // less the bits of magic: ni = n, in [-126, 0] (two's complement)
  const float r = (xc - n * 0.693145751953125f) - n * 1.42860676533018704e-06f;  // ln2 in two parts
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const float two_n = float_of((ni + 127u) << 23);  // unsigned: a NaN input gives any ni, never UB
  return float_of(bits_of(p * two_n) & ~below);
}

// The sum of n floats in 16 lanes, in a fixed order (as dot16).
TB_INLINE float sum16(const float* __restrict a, int64_t n) {
  float acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) acc[j] += a[i + j];
  float s = 0.0f;
  for (int j = 0; j < 16; ++j) s += acc[j];
  for (; i < n; ++i) s += a[i];
  return s;
}

TB_INLINE void attend_body(const float* q, const float* k, const float* v, int64_t stride, int64_t n, int64_t d,
                           float scale, float* __restrict sc, float* __restrict o) {
  float mx = -INFINITY;
  for (int64_t j = 0; j < n; ++j) {
    sc[j] = dot16(q, k + j * stride, d) * scale;
    mx = std::max(mx, sc[j]);
  }
  for (int64_t j = 0; j < n; ++j) sc[j] = exp_nonpositive(sc[j] - mx);
  const float den = sum16(sc, n);
  for (int64_t j = 0; j < n; ++j) sc[j] /= den;
  // o = sum_j p_j v_j, added in j order. Four positions per pass over o: one load and one store of o per four
  // products instead of per one (o's store-to-load chain was most of the time), the same additions in the same order.
  for (int64_t i = 0; i < d; ++i) o[i] = 0.0f;
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const float p0 = sc[j], p1 = sc[j + 1], p2 = sc[j + 2], p3 = sc[j + 3];
    const float* __restrict v0 = v + j * stride;
    const float* __restrict v1 = v0 + stride;
    const float* __restrict v2 = v1 + stride;
    const float* __restrict v3 = v2 + stride;
    for (int64_t i = 0; i < d; ++i) o[i] = (((o[i] + p0 * v0[i]) + p1 * v1[i]) + p2 * v2[i]) + p3 * v3[i];
  }
  for (; j < n; ++j) {
    const float p = sc[j];
    const float* __restrict vv = v + j * stride;
    for (int64_t i = 0; i < d; ++i) o[i] += p * vv[i];
  }
}

// The copies. TB_COPY(suffix, attribute) defines the six entry points of one target.
#define TB_COPY(sfx, attr)                                                                                         \
  attr void rmsnorm_##sfx(const float* x, const float* w, int64_t n, float eps, float* y) {                       \
    rmsnorm_body(x, w, n, eps, y);                                                                                 \
  }                                                                                                                \
  attr void relu2_##sfx(float* g, const float* u, int64_t n) { relu2_body(g, u, n); }                              \
  attr void silu_##sfx(float* g, const float* u, int64_t n) { silu_body(g, u, n); }                                \
  attr void rope_##sfx(float* x, const float* c, const float* s, int64_t nh, int64_t d) { rope_body(x, c, s, nh, d); } \
  attr void add_##sfx(float* x, const float* a, int64_t n) { add_body(x, a, n); }                                  \
  attr void attend_##sfx(const float* q, const float* k, const float* v, int64_t stride, int64_t n, int64_t d,     \
                         float scale, float* sc, float* o) {                                                       \
    attend_body(q, k, v, stride, n, d, scale, sc, o);                                                              \
  }

TB_COPY(base, )
const FloatOps kBase = {"baseline", rmsnorm_base, relu2_base, silu_base, rope_base, add_base, attend_base};

#if defined(__x86_64__) && defined(__GNUC__)
// Plain "avx2" and "avx512f": neither brings FMA into the code (no fma target; -ffp-contract=off besides).
TB_COPY(avx2, __attribute__((target("avx2"))))
TB_COPY(avx512, __attribute__((target("avx512f"))))
const FloatOps kAvx2 = {"avx2", rmsnorm_avx2, relu2_avx2, silu_avx2, rope_avx2, add_avx2, attend_avx2};
const FloatOps kAvx512 = {"avx512", rmsnorm_avx512, relu2_avx512, silu_avx512, rope_avx512, add_avx512, attend_avx512};
#endif

}  // namespace

const FloatOps& float_ops() {
#if defined(__x86_64__) && defined(__GNUC__)
  const uint32_t a = allowed_isas();
  if (a & uint32_t(Isa::avx512vnni)) return kAvx512;
  if (a & uint32_t(Isa::avx2)) return kAvx2;
#endif
  return kBase;  // AArch64: the baseline already has NEON, which the compiler uses
}

int float_ops_paths(const FloatOps* out[3]) {
  int n = 0;
  out[n++] = &kBase;
#if defined(__x86_64__) && defined(__GNUC__)
  if (cpu_supports(Isa::avx2)) out[n++] = &kAvx2;
  if (cpu_supports(Isa::avx512vnni)) out[n++] = &kAvx512;
#endif
  return n;
}

}  // namespace tb
