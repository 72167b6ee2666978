// Internal: the scalar end of every activation quantizer row (quantize.cpp and each ISA's), so that all of them round
// the values past their last full vector as the scalar row rounds every value: times a, to nearest with ties to even
// (nearbyint in the default rounding mode), clamped to [-128, 127]. `static`: each ISA file compiles its own copy with
// its own flags, none that the linker could pick for another (kernels/variants.h says why that matters).
#pragma once
#include <cstdint>

namespace tb {
namespace detail {

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
