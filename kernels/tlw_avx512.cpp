// TLW on AVX-512 (F/BW; vpermw is AVX-512BW): layout and tables in tlw_format.cpp. One vpermw looks up the sums
// of one group of three weights for 32 rows of a block (the block's index word in one register, the token's table
// in the other); vpaddw adds them into int16 row sums, 28 words (84 lookups) at a time, which are then widened into
// the int32 results. A GEMM register tile is up to 4 blocks (128 rows) x 6 tokens: 24 accumulators, and each table
// load serves 4 lookups; a GEMV tile is 16 blocks (512 rows, 16 weight streams) with a word's three tables in
// registers. vpermw reads only bits 0-4 of each index, so the word's three indices are used by shifting it right by 5
// twice. On a Zen 4 the 4 x 6 tile runs about 2.7e9 lookups/s from L1, 260 GMAC/s against 234 for a vpdpbusd loop
// (1.1x); a loop mixing vpermw and vpdpbusd ran slower than either alone there, so they compete for the same pipes.
#include <immintrin.h>

#include "kernels/gemm_args.h"
#include "kernels/variants.h"

namespace tb {
namespace detail {
namespace {

constexpr int64_t kChunk = 28;  // words per int16 run: 84 lookups x 384 = 32256 <= 32767
constexpr int kMaxRb = 4, kMaxTt = 6, kGemvRb = 16;

// Stores (first chunk) or adds the 32 int16 row sums of a block into the int32 results c[0..31] (m: valid rows).
inline void flush(__m512i a, int32_t* c, __mmask32 m, bool first) {
  const __mmask16 m0 = __mmask16(m & 0xFFFFu), m1 = __mmask16(m >> 16);
  __m512i lo = _mm512_cvtepi16_epi32(_mm512_castsi512_si256(a));
  __m512i hi = _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(a, 1));
  if (!first) {
    lo = _mm512_add_epi32(lo, _mm512_maskz_loadu_epi32(m0, c));
    hi = _mm512_add_epi32(hi, _mm512_maskz_loadu_epi32(m1, c + 16));
  }
  _mm512_mask_storeu_epi32(c, m0, lo);
  _mm512_mask_storeu_epi32(c + 16, m1, hi);
}

// acc + the table's entries at idx. One asm statement, so that the compiler keeps each lookup beside its add instead
// of hoisting all of a step's lookups (GCC 12 does, and spills the accumulators of a 4 x 6 tile).
inline __m512i lookup_add(__m512i acc, __m512i idx, __m512i tab) {
  __m512i tmp;
  __asm__("vpermw %[t], %[i], %[x]\n\tvpaddw %[x], %[a], %[a]" : [a] "+v"(acc), [x] "=&v"(tmp) : [i] "v"(idx), [t] "v"(tab));
  return acc;
}

struct Tile {
  const uint8_t* w;   // index words of the tile's first block
  int64_t J;          // words per row (block stride J * 64 bytes)
  const uint8_t* x;   // tables of the tile's first token
  size_t ldx;
  int32_t* c;         // result of the tile's first row and token
  size_t ldc;
  __mmask32 m[kGemvRb];
};

// Words [j0, j1) (at most kChunk) of RB blocks x TT tokens.
template <int RB, int TT>
__attribute__((noinline)) void tile(const Tile& s, int64_t j0, int64_t j1, bool first) {
  __m512i acc[RB][TT];
#pragma GCC unroll 8
  for (int r = 0; r < RB; ++r)
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) acc[r][t] = _mm512_setzero_si512();
  for (int64_t j = j0; j < j1; ++j) {
    __m512i idx[RB];
#pragma GCC unroll 8
    for (int r = 0; r < RB; ++r) idx[r] = _mm512_loadu_si512(s.w + (r * s.J + j) * 64);
#ifdef TLW_PF
    if (TT == 1)
#pragma GCC unroll 8
      for (int r = 0; r < RB; ++r) _mm_prefetch(reinterpret_cast<const char*>(s.w + (r * s.J + j) * 64 + TLW_PF), _MM_HINT_T0);
#endif
#pragma GCC unroll 3
    for (int g = 0; g < 3; ++g) {
#pragma GCC unroll 8
      for (int t = 0; t < TT; ++t) {
        const __m512i tab = _mm512_loadu_si512(s.x + t * s.ldx + (3 * j + g) * 64);
#pragma GCC unroll 8
        for (int r = 0; r < RB; ++r) acc[r][t] = lookup_add(acc[r][t], idx[r], tab);
      }
      if (g < 2)
#pragma GCC unroll 8
        for (int r = 0; r < RB; ++r) idx[r] = _mm512_srli_epi16(idx[r], 5);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < RB; ++r)
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) flush(acc[r][t], s.c + t * s.ldc + 32 * r, s.m[r], first);
}

// GEMV: words [j0, j1) of RB blocks for one token, the three tables of a word in registers and each block's word
// loaded, looked up and shifted in turn (RB accumulators, few other live registers: RB can be 16).
template <int RB>
__attribute__((noinline)) void gemv_tile(const Tile& s, int64_t j0, int64_t j1, bool first) {
  __m512i acc[RB];
#pragma GCC unroll 16
  for (int r = 0; r < RB; ++r) acc[r] = _mm512_setzero_si512();
  for (int64_t j = j0; j < j1; ++j) {
    const __m512i t0 = _mm512_loadu_si512(s.x + (3 * j) * 64), t1 = _mm512_loadu_si512(s.x + (3 * j + 1) * 64),
                  t2 = _mm512_loadu_si512(s.x + (3 * j + 2) * 64);
#pragma GCC unroll 16
    for (int r = 0; r < RB; ++r) {
      __m512i idx = _mm512_loadu_si512(s.w + (r * s.J + j) * 64);
      acc[r] = lookup_add(acc[r], idx, t0);
      idx = _mm512_srli_epi16(idx, 5);
      acc[r] = lookup_add(acc[r], idx, t1);
      idx = _mm512_srli_epi16(idx, 5);
      acc[r] = lookup_add(acc[r], idx, t2);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < RB; ++r) flush(acc[r], s.c + 32 * r, s.m[r], first);
}

template <int RB>
void tile_tt(const Tile& s, int tt, int64_t j0, int64_t j1, bool first) {
  switch (tt) {
    case 1: return tile<RB, 1>(s, j0, j1, first);
    case 2: return tile<RB, 2>(s, j0, j1, first);
    case 3: return tile<RB, 3>(s, j0, j1, first);
    case 4: return tile<RB, 4>(s, j0, j1, first);
    case 5: return tile<RB, 5>(s, j0, j1, first);
    default: return tile<RB, 6>(s, j0, j1, first);
  }
}

void tile_any(const Tile& s, int rb, int tt, int64_t j0, int64_t j1, bool first) {
  switch (rb) {
    case 1: return tile_tt<1>(s, tt, j0, j1, first);
    case 2: return tile_tt<2>(s, tt, j0, j1, first);
    case 3: return tile_tt<3>(s, tt, j0, j1, first);
    default: return tile_tt<4>(s, tt, j0, j1, first);
  }
}

}  // namespace

// Rows [n0, n1) with n0 a multiple of 32 (the registry's row multiple). GEMV: each group of 16 blocks runs all its
// words before the next (16 sequential weight streams; 4 left the cold 6912 x 2560 GEMV 1.4x slower on a Zen 4). GEMM: each chunk of 28 words runs over every block and token
// of the call before the next chunk, so the chunk's tables (16 tokens x 5.25 KiB) stay in L2 for all the rows.
void tlw_gemm_avx512(const GemmArgs& a) {
  const int64_t J = tlw_words(a.K), b0 = a.n0 / 32, b1 = (a.n1 + 31) / 32, T = a.t1 - a.t0;
  const int tiles_t = int((T + kMaxTt - 1) / kMaxTt);
  auto setup = [&](int64_t b, int rb, int64_t t, Tile& s) {
    s.w = a.w + b * J * 64;
    s.J = J;
    s.x = a.x + t * a.ldx;
    s.ldx = a.ldx;
    s.c = a.c + (t - a.t0) * int64_t(a.ldc) + (32 * b - a.n0);
    s.ldc = a.ldc;
    for (int r = 0; r < rb; ++r) {
      const int64_t rows = a.n1 - 32 * (b + r);
      s.m[r] = rows >= 32 ? __mmask32(0xFFFFFFFFu) : __mmask32((1u << rows) - 1u);
    }
  };
  // Tokens in near-equal tiles of at most kMaxTt.
  auto token_tile = [&](int i, int64_t& t, int& tt) {
    t = a.t0 + T * i / tiles_t;
    tt = int(a.t0 + T * (i + 1) / tiles_t - t);
  };
  if (T == 1) {
    for (int64_t b = b0; b < b1; b += kGemvRb) {
      const int rb = int(b1 - b < kGemvRb ? b1 - b : kGemvRb);
      Tile s;
      setup(b, rb, a.t0, s);
      for (int64_t j0 = 0; j0 < J; j0 += kChunk) {
        const int64_t j1 = j0 + kChunk < J ? j0 + kChunk : J;
        if (rb == kGemvRb) gemv_tile<kGemvRb>(s, j0, j1, j0 == 0);
        else
          for (int r = 0; r < rb; r += kMaxRb) {  // the last blocks of the rows: up to 4 at a time
            Tile p = s;
            p.w += r * J * 64;
            p.c += 32 * r;
            for (int i = 0; i < kMaxRb && r + i < rb; ++i) p.m[i] = s.m[r + i];
            tile_any(p, rb - r < kMaxRb ? rb - r : kMaxRb, 1, j0, j1, j0 == 0);
          }
      }
    }
    return;
  }
  for (int64_t j0 = 0; j0 < J; j0 += kChunk) {
    const int64_t j1 = j0 + kChunk < J ? j0 + kChunk : J;
    for (int64_t b = b0; b < b1; b += kMaxRb) {
      const int rb = int(b1 - b < kMaxRb ? b1 - b : kMaxRb);
      for (int i = 0; i < tiles_t; ++i) {
        int64_t t;
        int tt;
        token_tile(i, t, tt);
        Tile s;
        setup(b, rb, t, s);
        tile_any(s, rb, tt, j0, j1, j0 == 0);
      }
    }
  }
}

// The tables of tlw_prepare, 32 entries per vector: entry e = (d0(e) - 1) x0 + (d1(e) - 1) x1 + (d2(e) - 1) x2 for
// e < 27 (d_i: base-3 digits), 0 above; int16 products and sums of |x| <= 128 are exact.
void tlw_prepare_avx512(const int8_t* q, int64_t K, uint8_t* out) {
  alignas(64) int16_t c[3][32];
  for (int e = 0; e < 32; ++e) {
    c[0][e] = int16_t(e < 27 ? e % 3 - 1 : 0);
    c[1][e] = int16_t(e < 27 ? e / 3 % 3 - 1 : 0);
    c[2][e] = int16_t(e < 27 ? e / 9 - 1 : 0);
  }
  const __m512i c0 = _mm512_load_si512(c[0]), c1 = _mm512_load_si512(c[1]), c2 = _mm512_load_si512(c[2]);
  const int64_t G = 3 * tlw_words(K);
  for (int64_t g = 0; g < G; ++g) {
    const int64_t k = 3 * g;
    const int x0 = k < K ? q[k] : 0, x1 = k + 1 < K ? q[k + 1] : 0, x2 = k + 2 < K ? q[k + 2] : 0;
    const __m512i t = _mm512_add_epi16(
        _mm512_add_epi16(_mm512_mullo_epi16(c0, _mm512_set1_epi16(int16_t(x0))),
                         _mm512_mullo_epi16(c1, _mm512_set1_epi16(int16_t(x1)))),
        _mm512_mullo_epi16(c2, _mm512_set1_epi16(int16_t(x2))));
    _mm512_storeu_si512(out + 64 * g, t);
  }
}

}  // namespace detail
}  // namespace tb
