// Internal: walks one driver tile in micro-tiles of R rows x TT tokens, instantiating smaller
// micro-kernels for the edges. Included by the ISA files only; everything here is in an anonymous
// namespace of the including file, so no instantiation crosses ISA boundaries.
#pragma once
#include <cstdint>

#include "kernels/gemm_args.h"

namespace tb {
namespace detail {
namespace {

// x[i]: the prepared activations of token t + i.
template <int TT>
inline void token_rows(const GemmArgs& g, int64_t t, const uint8_t* (&x)[TT]) {
  for (int i = 0; i < TT; ++i) x[i] = g.x + (t + i) * g.ldx;
}

// Calls M::template run<r, tt>(g, n, rs, t) for every micro-tile of the tile in g: rows n, n + rs, ...
// (r of them) and tokens t .. t + tt - 1.
// GEMM (TT > 1): tokens outer, so the activations of TT tokens stay in L1 while the tile's weight rows
// stream past; rs = 1.
// GEMV (TT == 1): the tile's rows are cut into R runs walked side by side (rs = rows / R): R sequential
// weight streams per thread keep more cache-line fills in flight than one, which is what a cold GEMV
// needs (measured with bench_kernels gemv/.../cold).
template <class M, int R, int TT>
struct TileWalker {
  template <int r, int tt>
  static void edge(const GemmArgs& g, int64_t n, int64_t t, int rr, int ttt) {
    if constexpr (r > 1) {
      if (rr < r) return edge<r - 1, tt>(g, n, t, rr, ttt);
    }
    if constexpr (tt > 1) {
      if (ttt < tt) return edge<r, tt - 1>(g, n, t, rr, ttt);
    }
    M::template run<r, tt>(g, n, 1, t);
  }
  static void walk(const GemmArgs& g) {
    if constexpr (TT == 1) {
      const int64_t q = (g.n1 - g.n0) / R;
      for (int64_t t = g.t0; t < g.t1; ++t) {
        for (int64_t i = 0; i < q; ++i) M::template run<R, 1>(g, g.n0 + i, q, t);
        for (int64_t n = g.n0 + R * q; n < g.n1; ++n) M::template run<1, 1>(g, n, 1, t);
      }
    } else {
      for (int64_t t = g.t0; t < g.t1; t += TT) {
        const int ttt = int(g.t1 - t < TT ? g.t1 - t : TT);
        for (int64_t n = g.n0; n < g.n1; n += R) {
          const int rr = int(g.n1 - n < R ? g.n1 - n : R);
          if (rr == R && ttt == TT) M::template run<R, TT>(g, n, 1, t);
          else edge<R, TT>(g, n, t, rr, ttt);
        }
      }
    }
  }
};

}  // namespace
}  // namespace detail
}  // namespace tb
