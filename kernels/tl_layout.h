// Internal: the packed TL1/TL2 layout (see tl_format.cpp for the one-line shape) and the walk that
// every TL path (scalar, AVX2, AVX-512, NEON) shares. Included by tl_format.cpp and the TL ISA files
// only; everything is in an anonymous namespace of the including file (no instantiation crosses ISA
// boundaries) and uses raw pointers only.
//
// Terms: a group is 32 rows; a unit is the weights of one 32-byte index block per group: 2 pairs
// (TL1, 4 weights) or 2 triples (TL2, 6 weights). Byte r of a unit holds row r: low nibble = index
// of pair/triple A, high nibble = B. TL2 units add 8 sign bytes per group: u32 sign word of A, then
// of B, bit r = row r, stored after the group's index bytes of that K tile with units in pairs:
// A(2p) A(2p+1) B(2p) B(2p+1) (one 64-bit load is an AVX-512 mask for both units), an odd last unit
// A B (tl_sign_at).
// Activation tables (prepared per token): 64 bytes per unit: lo(A)[16] hi(A)[16] lo(B)[16] hi(B)[16],
// the low and high bytes of the int16 table entries; TL2's TL1 tail units follow the TL2 units.
#pragma once
#include <cstdint>
#include <cstring>

#include "kernels/gemm_args.h"

namespace tb {
namespace detail {
namespace {

constexpr int64_t kTlHeaderBytes = 64;
constexpr uint32_t kTlMagic = 0x314c5462;  // "bTL1"

// The first 64 bytes of a packed TL matrix: the tiles it was packed with travel with the weights.
struct TlHeader {
  uint32_t magic, fmt;  // fmt: 1 = TL1, 2 = TL2
  uint32_t BM, BK, bm, reserved;
  int64_t N, K;
  float scale;
};
static_assert(sizeof(TlHeader) <= kTlHeaderBytes, "header fits its 64 bytes");

struct TlGeom {
  int fmt;
  int64_t N, K, BM, BK, bm;
  int64_t groups;      // ceil(N / 32)
  int64_t unit_w;      // weights per main unit: 4 (TL1) or 6 (TL2)
  int64_t unit_b;      // bytes per main unit and group: 32 (TL1) or 40 (TL2)
  int64_t main_units;  // TL1: ceil(K / 4); TL2: floor(K / 6)
  int64_t tail_units;  // TL2 only: TL1 units holding the last K % 6 weights (0..2)
  int64_t upt;         // main units per K tile: BK / unit_w
  int64_t group_bytes; // one group over all of K
};

inline TlGeom tl_geom(int fmt, int64_t N, int64_t K, int64_t BM, int64_t BK, int64_t bm) {
  TlGeom g;
  g.fmt = fmt;
  g.N = N;
  g.K = K;
  g.BM = BM;
  g.BK = BK;
  g.bm = bm;
  g.groups = (N + 31) / 32;
  g.unit_w = fmt == 1 ? 4 : 6;
  g.unit_b = fmt == 1 ? 32 : 40;
  g.main_units = fmt == 1 ? (K + 3) / 4 : K / 6;
  g.tail_units = fmt == 1 ? 0 : (K % 6 + 3) / 4;
  g.upt = BK / g.unit_w;
  g.group_bytes = g.main_units * g.unit_b + g.tail_units * 32;
  return g;
}

inline TlGeom tl_geom(const uint8_t* packed) {
  TlHeader h;
  std::memcpy(&h, packed, sizeof h);
  return tl_geom(int(h.fmt), h.N, h.K, h.BM, h.BK, h.bm);
}

// Offset, from a group's bytes in a K tile of U units, of the sign word of triple h (0 = A, 1 = B) of unit u.
inline int64_t tl_sign_at(int64_t U, int64_t u, int h) {
  const int64_t base = 32 * U + 16 * (u / 2);
  if ((U & 1) && u == U - 1) return base + 4 * h;
  return base + 8 * h + 4 * (u & 1);
}

inline size_t tl_prepared_bytes(int fmt, int64_t K) {
  const TlGeom g = tl_geom(fmt, 1, K, 32, fmt == 1 ? 4 : 6, 32);
  return size_t((g.main_units + g.tail_units) * 64);
}

// Where the bytes of group G (global index) for main K tile j (j == ntiles: the TL2 tail) start.
// Row tile rt holds groups [rt * BM/32, ...); its bytes are K tile by K tile, each K tile group by group.
struct TlTileRef {
  const uint8_t* p;  // this group's index bytes in this K tile (TL2 signs follow after 32 * units)
  int64_t units;
  int64_t next;      // distance to this group's bytes in the next K tile
};
inline TlTileRef tl_tile(const TlGeom& g, const uint8_t* data, int64_t G, int64_t j) {
  const int64_t gpt = g.BM / 32, rt = G / gpt, gi = G - rt * gpt;
  const int64_t gt = (g.groups - rt * gpt) < gpt ? (g.groups - rt * gpt) : gpt;  // groups in this row tile
  const uint8_t* base = data + rt * gpt * g.group_bytes;
  const int64_t ntiles = (g.main_units + g.upt - 1) / g.upt;
  TlTileRef r;
  if (j < ntiles) {
    const int64_t u0 = j * g.upt;
    r.units = g.main_units - u0 < g.upt ? g.main_units - u0 : g.upt;
    r.p = base + u0 * g.unit_b * gt + gi * r.units * g.unit_b;
    r.next = g.upt * g.unit_b * gt;
  } else {
    r.units = g.tail_units;
    r.p = base + g.main_units * g.unit_b * gt + gi * g.tail_units * 32;
    r.next = 0;
  }
  return r;
}

// Walks one driver tile: batches of up to G groups (min(bm / 32, GV) for GEMV; GM for GEMM)
// inside one row tile, TT tokens at a time, K tile by K tile. M::tile<G, TT, kSigned> accumulates one
// K tile of G groups x TT tokens into acc[g][t][row] (int32, natural row order).
template <class M, int GV, int GM, int TTG>
struct TlWalker {
  template <int G, int TT>
  static void batch(const TlGeom& geo, const GemmArgs& a, int64_t G0, int64_t t) {
    int32_t acc[G][TT][32];
    std::memset(acc, 0, sizeof acc);
    const uint8_t* data = a.w + kTlHeaderBytes;
    const int64_t ntiles = (geo.main_units + geo.upt - 1) / geo.upt;
    const uint8_t* tab[TT];
    for (int64_t j = 0; j <= ntiles; ++j) {
      if (j == ntiles && geo.tail_units == 0) break;
      const uint8_t* w[G];
      TlTileRef r = tl_tile(geo, data, G0, j);
      for (int g = 0; g < G; ++g) w[g] = r.p + g * r.units * (j < ntiles ? geo.unit_b : 32);
      const int64_t tab_off = (j < ntiles ? j * geo.upt : geo.main_units) * 64;
      for (int i = 0; i < TT; ++i) tab[i] = a.x + (t + i) * a.ldx + tab_off;
      // GEMV prefetch target: this group's bytes two K tiles ahead (measured best of 1-6 tiles here).
      const int64_t pf = 2 * r.next;
      if (j < ntiles && geo.fmt == 2) M::template tile<G, TT, true>(w, r.units, tab, acc, pf);
      else M::template tile<G, TT, false>(w, r.units, tab, acc, pf);
    }
    for (int i = 0; i < TT; ++i) {
      int32_t* c = a.c + (t + i - a.t0) * int64_t(a.ldc);
      for (int g = 0; g < G; ++g)
        for (int rr = 0; rr < 32; ++rr) {
          const int64_t n = (G0 + g) * 32 + rr;
          if (n >= a.n0 && n < a.n1) c[n - a.n0] = acc[g][i][rr];
        }
    }
  }

  template <int G, int TT>
  static void pick_tt(const TlGeom& geo, const GemmArgs& a, int64_t G0, int64_t t, int tt) {
    if constexpr (TT > 1) {
      if (tt < TT) return pick_tt<G, TT - 1>(geo, a, G0, t, tt);
    }
    batch<G, TT>(geo, a, G0, t);
  }
  template <int G, int TT>
  static void pick(const TlGeom& geo, const GemmArgs& a, int64_t G0, int64_t t, int gb, int tt) {
    if constexpr (G > 1) {
      if (gb < G) return pick<G - 1, TT>(geo, a, G0, t, gb, tt);
    }
    pick_tt<G, TT>(geo, a, G0, t, tt);
  }

  static void walk(const GemmArgs& a) {
    const TlGeom geo = tl_geom(a.w);
    const bool gemv = a.t1 - a.t0 == 1;
    const int64_t gmax = gemv ? (geo.bm / 32 < GV ? geo.bm / 32 : GV) : GM;
    const int ttmax = gemv ? 1 : TTG;
    const int64_t gpt = geo.BM / 32;
    const int64_t g_end = (a.n1 + 31) / 32;
    for (int64_t t = a.t0; t < a.t1; t += ttmax) {
      const int tt = int(a.t1 - t < ttmax ? a.t1 - t : ttmax);
      for (int64_t G0 = a.n0 / 32; G0 < g_end;) {
        const int64_t tile_end = (G0 / gpt + 1) * gpt;
        int64_t gb = gmax;
        if (g_end - G0 < gb) gb = g_end - G0;
        if (tile_end - G0 < gb) gb = tile_end - G0;
        if (gemv) pick<GV, 1>(geo, a, G0, t, int(gb), 1);
        else pick<GM, TTG>(geo, a, G0, t, int(gb), tt);
        G0 += gb;
      }
    }
  }
};

}  // namespace
}  // namespace detail
}  // namespace tb
