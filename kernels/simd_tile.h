// Internal: walks one driver tile in micro-tiles of R rows x TT tokens, instantiating smaller
// micro-kernels for the edges. Included by the ISA files only; everything here is in an anonymous
// namespace of the including file, so no instantiation crosses ISA boundaries.
#pragma once
#include <cstdint>

#include "kernels/kernel.h"

namespace tb {
namespace detail {
namespace {

// Calls M::template run<r, tt>(g, n, t) for every micro-tile of the tile in g; tokens outer so the
// activations of TT tokens stay in L1 while the tile's weight rows stream past.
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
    M::template run<r, tt>(g, n, t);
  }
  static void walk(const GemmArgs& g) {
    for (int64_t t = g.t0; t < g.t1; t += TT) {
      const int ttt = int(g.t1 - t < TT ? g.t1 - t : TT);
      for (int64_t n = g.n0; n < g.n1; n += R) {
        const int rr = int(g.n1 - n < R ? g.n1 - n : R);
        if (rr == R && ttt == TT) M::template run<R, TT>(g, n, t);
        else edge<R, TT>(g, n, t, rr, ttt);
      }
    }
  }
};

}  // namespace
}  // namespace detail
}  // namespace tb
