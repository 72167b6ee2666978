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
  // The driver's own row epilogue (set with y): y[i] = epilogue(c[i], a, s) for i < n. A kernel's sub-paths that
  // leave their sums in c (a GEMV, a short tile) hand them to it through apply_epilogue, so that the epilogue of
  // sums in memory exists once, in the driver.
  void (*epilogue_row)(const int32_t* c, int64_t n, float a, float s, float* y) = nullptr;
};

// The epilogue of tokens [t0, t1) of a call whose sums are in g.c (rows [n0, n1)), into g.y through g.epilogue_row;
// nothing when g.y is null. Defined in driver.cpp (baseline ISA: callable from every path's file).
void apply_epilogue(const GemmArgs& g, int64_t t0, int64_t t1);

}  // namespace tb
