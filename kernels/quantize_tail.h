// Internal: the scalar ends of every activation quantizer row (quantize.cpp and each ISA's), so that all of them scan
// and round the values past their last full vectors as the scalar row does every value. Rounding: times a, to nearest
// with ties to even (nearbyint in the default rounding mode), clamped to [-128, 127]. `static`: each ISA file compiles
// its own copy with its own flags, none that the linker could pick for another (kernels/variants.h says why).
#pragma once
#include <cfloat>
#include <cstdint>

namespace tb {
namespace detail {

// The end of the scan for the largest |x|: values [k, K) join amax. Returns the index of the first non-finite one (Inf
// or NaN), else -1 with the row's scale 127 / amax (amax at least 1e-5) in *a.
static inline int64_t quantize_scale(const float* x, int64_t k, int64_t K, float amax, float* a) {
  for (; k < K; ++k) {
    const float v = __builtin_fabsf(x[k]);
    if (!(v <= FLT_MAX)) return k;
    amax = v > amax ? v : amax;
  }
  if (amax < 1e-5f) amax = 1e-5f;
  *a = 127.0f / amax;
  return -1;
}

// Values [k, K) of x into q; returns s plus their int8 sum.
static inline int32_t quantize_tail(const float* x, int64_t k, int64_t K, float a, int8_t* q, int32_t s) {
  for (; k < K; ++k) {
    float r = __builtin_nearbyintf(x[k] * a);
    r = r > 127.0f ? 127.0f : (r < -128.0f ? -128.0f : r);
    q[k] = static_cast<int8_t>(r);
    s += q[k];
  }
  return s;
}

}  // namespace detail
}  // namespace tb
