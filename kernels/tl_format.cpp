// Formats TL1 and TL2 (docs/reference.md §2.3, §2.4, lookup tables), their activation tables and the scalar path.
// packed: 64-byte header (tiles, N, K, scale) | row tiles of BM rows (N padded to 32) | per row tile, K tiles of BK weights | per K tile, 32-row groups | per group, units: 32 index bytes (row r: lo nibble A, hi nibble B) [+ TL2: 8 sign bytes per unit after the group's index bytes, units paired: A A' B B']
// TL1: pair (w0, w1) -> index 3 (w0 + 1) + (w1 + 1); units of 2 pairs; K padded to 4 with zeros.
// TL2: triple -> v = 9 w0 + 3 w1 + w2, index |v|, sign bit (v < 0); units of 2 triples; the last
//      K % 6 weights (padded to 4 or 8) are TL1 units after the last K tile.
// Reading of docs/reference.md §2.4 chosen here: the TL2 region is every whole triple of K (the last K tile may
// be shorter than BK) and only K % 6 < 6 weights use the TL1 table; so the tables depend on K alone
// (the prepare hook sees only K) and fewer weights pay 2 bits than with a BK-sized TL1 tail.
// Tables: int16 entries split into a low-byte and a high-byte table, looked up by byte shuffles and
// rejoined. int16 bounds per K tile (one entry per pair or triple and row): TL1 |entry| <= 2 * 128 = 256
// (w = -1, q = -128 twice gives +256) -> BK <= 252 (126 pairs, |sum| <= 32256; 128 pairs could reach
// 32768); TL2 |entry| <= 3 * 128 = 384 -> BK <= 252 (84 triples, |sum| <= 32256). tl_tiles_check
// enforces both; the extreme-input tests hit them.
// Negative TL2 entries are applied as ~lo, ~hi (= -e - 1) plus a per-row count of negatives.
#include <algorithm>
#include <cstring>
#include <string>

#include "kernels/kernel.h"
#include "kernels/tl_layout.h"
#include "kernels/tl_tiles.h"
#include "kernels/variants.h"

namespace tb {
namespace detail {
namespace {

const char* fmt_name(int fmt) { return fmt == 1 ? "tl1" : "tl2"; }

template <int F>
std::string tl_check(int64_t N, int64_t K) {
  const std::string bad = tl_tiles_check(fmt_name(F), tl_tiles_for(fmt_name(F), N, K));
  if (!bad.empty()) return "the tiles configured for this shape are invalid: " + bad;
  return "";
}

template <int F>
size_t tl_bytes(int64_t N, int64_t K) {
  const TlGeom g = tl_geom(F, N, K, 32, F == 1 ? 4 : 6, 32);
  return size_t(kTlHeaderBytes + g.groups * g.group_bytes);
}

inline int tl1_index(int w0, int w1) { return 3 * (w0 + 1) + (w1 + 1); }

template <int F>
void tl_pack(const int8_t* w, int64_t N, int64_t K, float scale, uint8_t* out) {
  const TlTiles t = tl_tiles_for(fmt_name(F), N, K);
  TlHeader h{};
  h.magic = kTlMagic;
  h.fmt = F;
  h.BM = uint32_t(t.BM);
  h.BK = uint32_t(t.BK);
  h.bm = uint32_t(t.bm);
  h.N = N;
  h.K = K;
  h.scale = scale;
  std::memcpy(out, &h, sizeof h);
  const TlGeom g = tl_geom(F, N, K, t.BM, t.BK, t.bm);
  uint8_t* data = out + kTlHeaderBytes;
  const int64_t ntiles = (g.main_units + g.upt - 1) / g.upt;
  auto wt = [&](int64_t n, int64_t k) -> int { return (n < N && k < K) ? w[n * K + k] : 0; };
  for (int64_t G = 0; G < g.groups; ++G)
    for (int64_t j = 0; j <= ntiles; ++j) {
      if (j == ntiles && g.tail_units == 0) break;
      const TlTileRef r = tl_tile(g, data, G, j);
      uint8_t* p = const_cast<uint8_t*>(r.p);
      const bool tl2 = F == 2 && j < ntiles;
      const int64_t k0 = j < ntiles ? j * g.upt * g.unit_w : g.main_units * 6;
      for (int64_t u = 0; u < r.units; ++u)
        for (int rr = 0; rr < 32; ++rr) {
          const int64_t n = G * 32 + rr;
          int idx[2];
          for (int h2 = 0; h2 < 2; ++h2) {
            if (tl2) {
              const int64_t k = k0 + 6 * u + 3 * h2;
              const int v = 9 * wt(n, k) + 3 * wt(n, k + 1) + wt(n, k + 2);
              idx[h2] = v < 0 ? -v : v;
              if (v < 0) p[tl_sign_at(r.units, u, h2) + rr / 8] |= uint8_t(1u << (rr % 8));
            } else {
              const int64_t k = k0 + 4 * u + 2 * h2;
              idx[h2] = tl1_index(wt(n, k), wt(n, k + 1));
            }
          }
          p[32 * u + rr] = uint8_t(idx[0] | (idx[1] << 4));
        }
    }
}

template <int F>
void tl_unpack(const uint8_t* p, int64_t N, int64_t K, int8_t* w) {
  const TlGeom g = tl_geom(p);
  if (g.N != N || g.K != K || int(g.fmt) != F)
    throw Error(std::string(fmt_name(F)) + " data was packed for another shape or format");
  const uint8_t* data = p + kTlHeaderBytes;
  const int64_t ntiles = (g.main_units + g.upt - 1) / g.upt;
  for (int64_t G = 0; G < g.groups; ++G)
    for (int64_t j = 0; j <= ntiles; ++j) {
      if (j == ntiles && g.tail_units == 0) break;
      const TlTileRef r = tl_tile(g, data, G, j);
      const bool tl2 = F == 2 && j < ntiles;
      const int64_t k0 = j < ntiles ? j * g.upt * g.unit_w : g.main_units * 6;
      for (int64_t u = 0; u < r.units; ++u)
        for (int rr = 0; rr < 32; ++rr) {
          const int64_t n = G * 32 + rr;
          if (n >= N) continue;
          for (int h2 = 0; h2 < 2; ++h2) {
            const int idx = (r.p[32 * u + rr] >> (4 * h2)) & 15;
            int d[3];
            int nd;
            int64_t k;
            if (tl2) {
              if (idx > 13) throw Error("TL2 data looks corrupt: index " + std::to_string(idx));
              const bool neg = (r.p[tl_sign_at(r.units, u, h2) + rr / 8] >> (rr % 8)) & 1;
              const int v = neg ? -idx : idx;
              d[0] = (v + 13) / 9 - 1;
              d[1] = (v + 13) / 3 % 3 - 1;
              d[2] = (v + 13) % 3 - 1;
              nd = 3;
              k = k0 + 6 * u + 3 * h2;
            } else {
              if (idx > 8) throw Error("TL1 data looks corrupt: index " + std::to_string(idx));
              d[0] = idx / 3 - 1;
              d[1] = idx % 3 - 1;
              nd = 2;
              k = k0 + 4 * u + 2 * h2;
            }
            for (int i = 0; i < nd; ++i)
              if (k + i < K) w[n * K + k + i] = int8_t(d[i]);
          }
        }
    }
}

// One 16-entry int16 table as its low bytes (out[0..15]) and high bytes (out[16..31]).
inline void put_table(const int (&e)[16], uint8_t* out) {
  for (int i = 0; i < 16; ++i) {
    const uint16_t v = uint16_t(int16_t(e[i]));
    out[i] = uint8_t(v & 0xFF);
    out[16 + i] = uint8_t(v >> 8);
  }
}
inline void tl1_table(int q0, int q1, uint8_t* out) {
  int e[16] = {0};
  for (int i = 0; i < 9; ++i) e[i] = (i / 3 - 1) * q0 + (i % 3 - 1) * q1;
  put_table(e, out);
}
inline void tl2_table(int b0, int b1, int b2, uint8_t* out) {
  const int e[16] = {0,       b2,           b1 - b2, b1,      b1 + b2,      b0 - b1 - b2, b0 - b1,      b0 - b1 + b2,
                     b0 - b2, b0,           b0 + b2, b0 + b1 - b2, b0 + b1, b0 + b1 + b2, 0,       0};
  put_table(e, out);
}

}  // namespace

size_t tl1_prepared_bytes(int64_t K) { return tl_prepared_bytes(1, K); }
size_t tl2_prepared_bytes(int64_t K) { return tl_prepared_bytes(2, K); }

// Table construction, the activation-side work of TL (timed apart: bench_kernels prep/...).
void tl1_prepare(const int8_t* q, int64_t K, uint8_t* out) {
  auto at = [&](int64_t k) -> int { return k < K ? q[k] : 0; };
  for (int64_t u = 0; u < (K + 3) / 4; ++u) {
    tl1_table(at(4 * u), at(4 * u + 1), out + 64 * u);
    tl1_table(at(4 * u + 2), at(4 * u + 3), out + 64 * u + 32);
  }
}

void tl2_prepare(const int8_t* q, int64_t K, uint8_t* out) {
  const int64_t mu = K / 6;
  for (int64_t u = 0; u < mu; ++u) {
    const int8_t* b = q + 6 * u;
    tl2_table(b[0], b[1], b[2], out + 64 * u);
    tl2_table(b[3], b[4], b[5], out + 64 * u + 32);
  }
  if (K % 6) tl1_prepare(q + 6 * mu, K % 6, out + 64 * mu);
}

const Format kFormatTL1 = {"tl1",
                           "TL1 (bitnet.cpp): 4-bit index per 2 weights, int16 tables as lo/hi byte tables, "
                           "lossless; tiles BM x BK per shape (harness/tiles.h: tuned per CPU, cached)",
                           2.0,
                           "any N, K (rows padded to 32, K to 4)",
                           &tl_check<1>,
                           &tl_bytes<1>,
                           &tl_pack<1>,
                           &tl_unpack<1>,
                           /*oracle=*/false,
                           /*lookup_tiled=*/true,
                           /*lookup=*/true};
const Format kFormatTL2 = {"tl2",
                           "TL2 (bitnet.cpp): 4-bit |index| + sign per 3 weights, mirrored int16 tables, "
                           "lossless; K % 6 tail via TL1 tables",
                           5.0 / 3.0,
                           "any N, K (rows padded to 32; K % 6 weights as TL1, padded to 4)",
                           &tl_check<2>,
                           &tl_bytes<2>,
                           &tl_pack<2>,
                           &tl_unpack<2>,
                           /*oracle=*/false,
                           /*lookup_tiled=*/true,
                           /*lookup=*/true};

namespace {

// Portable path: the same tables, looked up byte by byte and rejoined, accumulated in int32.
struct TlScalar {
  template <int G, int TT, bool kSigned>
  static void tile(const uint8_t* const (&w)[G], int64_t U, const uint8_t* const (&tab)[TT],
                   int32_t (&acc)[G][TT][32], int64_t) {
    for (int g = 0; g < G; ++g)
      for (int64_t u = 0; u < U; ++u) {
        uint32_t sa = 0, sb = 0;
        if (kSigned) {
          std::memcpy(&sa, w[g] + tl_sign_at(U, u, 0), 4);
          std::memcpy(&sb, w[g] + tl_sign_at(U, u, 1), 4);
        }
        for (int r = 0; r < 32; ++r) {
          const int ia = w[g][32 * u + r] & 15, ib = w[g][32 * u + r] >> 4;
          for (int i = 0; i < TT; ++i) {
            const uint8_t* t = tab[i] + 64 * u;
            const int ea = int16_t(uint16_t(t[ia] | (t[16 + ia] << 8)));
            const int eb = int16_t(uint16_t(t[32 + ib] | (t[48 + ib] << 8)));
            acc[g][i][r] += ((sa >> r) & 1 ? -ea : ea) + ((sb >> r) & 1 ? -eb : eb);
          }
        }
      }
  }
};

}  // namespace

void tl_gemm_scalar(const GemmArgs& a) { TlWalker<TlScalar, 2, 1, 4>::walk(a); }

}  // namespace detail

TlBytes tl_bytes_breakdown(const std::string& format, int64_t N, int64_t K) {
  const int fmt = format == "tl1" ? 1 : 2;
  const detail::TlGeom g = detail::tl_geom(fmt, N, K, 32, fmt == 1 ? 4 : 6, 32);
  TlBytes b;
  b.total = fmt == 1 ? detail::tl_bytes<1>(N, K) : detail::tl_bytes<2>(N, K);
  b.header = double(detail::kTlHeaderBytes);
  const int64_t nibbles = fmt == 1 ? (K + 1) / 2 : 2 * g.main_units + (K % 6 + 1) / 2;  // holding real weights
  b.index = double(N) * double(nibbles) / 2.0;
  b.sign = fmt == 2 ? double(N) * double(2 * g.main_units) / 8.0 : 0.0;
  b.pad = double(b.total) - b.header - b.index - b.sign;
  return b;
}

}  // namespace tb
