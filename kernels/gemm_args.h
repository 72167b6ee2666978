// The arguments of one kernel call. Kept apart from kernel.h so that ISA-flagged files include no
// STL or inline code that a scalar caller could end up linking.
#pragma once
#include <cstddef>
#include <cstdint>

namespace tb {

// Arguments of one kernel call: rows [n0, n1) of the output, tokens [t0, t1).
struct GemmArgs {
  const uint8_t* w;      // packed weights of the whole matrix
  int64_t N, K;
  const uint8_t* x;      // prepared activations; token t starts at x + t * ldx
  size_t ldx;
  const int32_t* xsum;   // sum(q) per token
  int32_t* c;            // exact int32 results of the tile: c[(t - t0) * ldc + (n - n0)]
  size_t ldc;
  int64_t n0, n1, t0, t1;
  // Software prefetch distance of a GEMV's weight streams in bytes (0: none), for the kernels that prefetch
  // (i2s and tq1 on AVX2 and AVX-512): set_gemv_prefetch in kernel.h. Never changes a result.
  int64_t prefetch = 0;
  // The float epilogue, for a kernel whose Kernel::writes_y is set (the driver sets these only then): when y is not
  // null the kernel writes y[(t - t0) * ldy + (n - n0)] = epilogue(exact sum, a[t], s) (kernel.h: acc / a * s, in
  // float, in that order) for its tile in place of c, which it may use as scratch.
  float* y = nullptr;
  size_t ldy = 0;
  const float* a = nullptr;
  float s = 0.0f;
};

}  // namespace tb
