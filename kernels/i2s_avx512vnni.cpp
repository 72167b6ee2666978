// I2_S on AVX-512 VNNI (layout: see i2s_format.cpp).
// One 64-byte load holds two 128-weight blocks. Activations are prepared per token so that the
// 64 activations matching one 2-bit field of both blocks are contiguous:
// prepared: per token, round_up(K, 256) bytes; chunk p (256 weights), field j, block h, byte i holds
//           q[256p + 128h + 32j + i] at 256p + 64j + 32h + i; a missing odd last block reads zeros.
// vpdpbusd multiplies unsigned codes by signed activations and adds groups of 4 into int32 lanes
// directly, so there are no int16 partial sums to bound.
#include <immintrin.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "kernels/simd_tile.h"
#include "kernels/x86_vnni.h"
#include "kernels/variants.h"

namespace tb {
namespace detail {

size_t i2s_avx512_prepared_bytes(int64_t K) { return size_t((K + 255) / 256 * 256); }

void i2s_avx512_prepare(const int8_t* q, int64_t K, uint8_t* out) {
  const int64_t nblk = K / 128;
  std::memset(out, 0, i2s_avx512_prepared_bytes(K));
  for (int64_t b = 0; b < nblk; ++b) {
    const int64_t p = b / 2, h = b % 2;
    for (int j = 0; j < 4; ++j) std::memcpy(out + 256 * p + 64 * j + 32 * h, q + 128 * b + 32 * j, 32);
  }
}

namespace {

inline __m512i load_chunk(const uint8_t* p, bool half) {
  // The last chunk of a row with an odd number of blocks has only 32 bytes: never read past them.
  return half ? _mm512_maskz_loadu_epi8(__mmask64(0xFFFFFFFFull), p) : _mm512_loadu_si512(p);
}

// GEMV: fields are isolated by masking in place (no shift): field j contributes 4^(3-j) * c * q, so
// each field keeps its own accumulator and is shifted back (exactly: every lane is a multiple of
// 4^(3-j)) at the end. Bound: 4 products of 128 * 128 per lane per chunk, 27 chunks at K = 6912:
// 1.8e6, far inside int32.
struct I2sVnniGemv {
  template <int R, bool kHalf>
  static inline __attribute__((always_inline)) void step(const uint8_t* w, int64_t stride, const uint8_t* x, int64_t pf,
                                                         __m512i (&a0)[R], __m512i (&a1)[R], __m512i (&a2)[R],
                                                         __m512i (&a3)[R]) {
    const __m512i m0 = _mm512_set1_epi8(char(0xC0)), m1 = _mm512_set1_epi8(0x30), m2 = _mm512_set1_epi8(0x0C),
                  m3 = _mm512_set1_epi8(0x03);
    const __m512i x0 = _mm512_load_si512(x), x1 = _mm512_load_si512(x + 64), x2 = _mm512_load_si512(x + 128),
                  x3 = _mm512_load_si512(x + 192);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512i wv = load_chunk(w + r * stride, kHalf);
      if (!kHalf && pf) _mm_prefetch(reinterpret_cast<const char*>(w + r * stride) + pf, _MM_HINT_T0);
      a0[r] = dpbusd(a0[r], _mm512_and_si512(wv, m0), x0);
      a1[r] = dpbusd(a1[r], _mm512_and_si512(wv, m1), x1);
      a2[r] = dpbusd(a2[r], _mm512_and_si512(wv, m2), x2);
      a3[r] = dpbusd(a3[r], _mm512_and_si512(wv, m3), x3);
    }
  }

  template <int R, int TT>
  static void run(const GemmArgs& g, int64_t n, int64_t rs, int64_t t) {
    static_assert(TT == 1, "GEMV micro-kernel");
    const int64_t rb = g.K / 4, nfull = g.K / 256;
    const bool odd = (g.K / 128) % 2 != 0;
    const uint8_t* w = g.w + n * rb;
    const uint8_t* x = g.x + t * g.ldx;
    __m512i a0[R], a1[R], a2[R], a3[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) a0[r] = a1[r] = a2[r] = a3[r] = _mm512_setzero_si512();
    for (int64_t p = 0; p < nfull; ++p) step<R, false>(w + 64 * p, rs * rb, x + 256 * p, g.prefetch, a0, a1, a2, a3);
    if (odd) step<R, true>(w + 64 * nfull, rs * rb, x + 256 * nfull, g.prefetch, a0, a1, a2, a3);
    int32_t* c = g.c + (t - g.t0) * int64_t(g.ldc) + (n - g.n0);
    __m512i v[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      v[r] = _mm512_add_epi32(_mm512_srai_epi32(a0[r], 6), _mm512_srai_epi32(a1[r], 4));
      v[r] = _mm512_add_epi32(v[r], _mm512_add_epi32(_mm512_srai_epi32(a2[r], 2), a3[r]));
    }
    int32_t s[R];
    lane_sums<R>(v, s);
    for (int r = 0; r < R; ++r) c[r * rs] = s[r] - g.xsum[t];
  }
};

// Short GEMMs (calls of fewer than kLaneGemmTokens tokens): each row's 2-bit field is shifted down and masked once
// per micro-tile and reused by TT tokens; a horizontal sum per row and token ends the micro-tile.
struct I2sVnniShortGemm {
  template <int R, int TT, int J, bool kHalf>
  static inline __attribute__((always_inline)) void field(const uint8_t* w, int64_t stride,
                                                          const uint8_t* const (&x)[TT], __m512i (&acc)[R][TT]) {
    const __m512i m3 = _mm512_set1_epi8(3);
    __m512i cw[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512i v = load_chunk(w + r * stride, kHalf);
      cw[r] = _mm512_and_si512(J == 3 ? v : _mm512_srli_epi16(v, 6 - 2 * J), m3);
    }
#pragma GCC unroll 8
    for (int i = 0; i < TT; ++i) {
      const __m512i xv = _mm512_load_si512(x[i] + 64 * J);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) acc[r][i] = dpbusd(acc[r][i], cw[r], xv);
    }
  }

  template <int R, int TT, bool kHalf>
  static inline __attribute__((always_inline)) void chunk(const uint8_t* w, int64_t stride, const uint8_t* const (&x)[TT],
                                                          __m512i (&acc)[R][TT]) {
    field<R, TT, 0, kHalf>(w, stride, x, acc);
    field<R, TT, 1, kHalf>(w, stride, x, acc);
    field<R, TT, 2, kHalf>(w, stride, x, acc);
    field<R, TT, 3, kHalf>(w, stride, x, acc);
  }

  template <int R, int TT>
  static void run(const GemmArgs& g, int64_t n, int64_t rs, int64_t t) {
    const int64_t rb = g.K / 4, nfull = g.K / 256, stride = rs * rb;
    const bool odd = (g.K / 128) % 2 != 0;
    const uint8_t* w = g.w + n * rb;
    __m512i acc[R][TT];
    zero_tile(acc);
    const uint8_t* x[TT];
    token_rows(g, t, x);
    for (int64_t p = 0; p < nfull; ++p) {
      const uint8_t* xp[TT];
#pragma GCC unroll 8
      for (int i = 0; i < TT; ++i) xp[i] = x[i] + 256 * p;
      chunk<R, TT, false>(w + 64 * p, stride, xp, acc);
    }
    if (odd) {
      const uint8_t* xp[TT];
      for (int i = 0; i < TT; ++i) xp[i] = x[i] + 256 * nfull;
      chunk<R, TT, true>(w + 64 * nfull, stride, xp, acc);
    }
    for (int i = 0; i < TT; ++i) {
      int32_t* c = g.c + (t + i - g.t0) * int64_t(g.ldc) + (n - g.n0);
      __m512i v[R];
      for (int r = 0; r < R; ++r) v[r] = acc[r][i];
      int32_t s[R];
      lane_sums<R>(v, s);
      for (int r = 0; r < R; ++r) c[r * rs] = s[r] - g.xsum[t + i];
    }
  }
};

// GEMM (prefill): rows in the lanes. A call unpacks the codes of its rows once (during its first token block), one byte
// per weight in {0, 1, 2}, interleaved by 16 rows: dword d of row r (the codes of prepared activation bytes 4d .. 4d +
// 3) goes to lane r of vector d, so one vpdpbusd with a broadcast of a token's activation dword d adds 4 products to
// each of 16 rows' sums, and the sums need no horizontal reduction at the end. The unpacking is a 16 x 16 dword
// transpose of 16 rows' packed bytes (64 shuffles per 4096 codes), then a shift and a mask per field, spread over the
// call's tokens (the driver gives this kernel tiles of 64 rows x 128 tokens). The micro-kernel of RV x 16 rows x TT
// tokens is then loads and vpdpbusd only: per dword of K, RV code vectors, TT broadcasts and RV x TT vpdpbusd.
// Codes of a set of RV groups of 16 rows: [d][v][16 rows][4 bytes]; rows past the call's end are zero codes.
// Measured on a Xeon VM (family 6, model 207; 1 thread, through the driver, 128 tokens): 316-319 GMAC/s at
// 2560 x 2560 and 326-328 at 2560 x 6912, 0.9 of the path's vpdpbusd ceiling there (356), against 239-259 for
// I2sVnniShortGemm, whose shifts and masks share the vpdpbusd ports and whose horizontal sums end every micro-tile.
// Micro-tiles of 3 x 16 rows x 8 tokens, 2 x 12 or 1 x 24 ran 150-220 (GCC 12 keeps fewer token pointers in
// registers); driver tiles of 64 rows x 64 tokens ran 291-299, 64 x 256 and 128 x 128 no faster than 64 x 128.
// Unpacking and running K in slices of 1, 2 or 4 chunks of 256 (the codes in L1, the sums kept in g.c between
// slices) was slower: 2B4T pp128 at 1 thread 108-113, 114-120 and 118 t/s against 121-122 unsliced.
// Tried on 2026-12-07 evening, on that Xeon (2B4T pp128, 1 thread, interleaved with the kept code), none kept:
// 3 x 16 rows x 8 tokens with 96-row driver tiles, 133.0-134.2 against 134.2-137.7 t/s; a software prefetch of the
// codes 6 dwords ahead, no change; the codes stored non-temporally, 87-89 against 130-131 (they are read back from
// memory); the next chunk's code lines or I2_S bytes fetched ahead in the unpacking, 1-3% slower.
constexpr int kRV = 4, kTT = 6;
// Calls of fewer tokens take I2sVnniShortGemm, as the unpacking would cost more than it saves: at 32 tokens both ran
// 245 GMAC/s on that Xeon, at 16 the short GEMM 244 against 195, at 8 222 against 133.
constexpr int64_t kLaneGemmTokens = 32;

// A thread's unpacked codes (grown as needed, freed when the thread ends).
struct CodeSlab {
  uint8_t* p = nullptr;
  size_t cap = 0;
  uint8_t* reserve(size_t bytes) {
    if (bytes > cap) {
      std::free(p);
      p = static_cast<uint8_t*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
      if (!p) {
        std::fputs("i2s__avx512vnni: out of memory for the unpacked codes of a GEMM tile\n", stderr);
        std::abort();
      }
      cap = bytes;
    }
    return p;
  }
  ~CodeSlab() { std::free(p); }
};
thread_local CodeSlab tls_codes;

// 16 x 16 transpose of dwords: out[c] holds dword c of in[0], ..., in[15].
inline void transpose16(const __m512i (&in)[16], __m512i (&out)[16]) {
  __m512i t[16], u[16];
  for (int k = 0; k < 8; ++k) {
    t[2 * k] = _mm512_unpacklo_epi32(in[2 * k], in[2 * k + 1]);
    t[2 * k + 1] = _mm512_unpackhi_epi32(in[2 * k], in[2 * k + 1]);
  }
  // u[4a + c], lane L: dword 4L + c of rows 4a .. 4a + 3.
  for (int a = 0; a < 4; ++a) {
    u[4 * a] = _mm512_unpacklo_epi64(t[4 * a], t[4 * a + 2]);
    u[4 * a + 1] = _mm512_unpackhi_epi64(t[4 * a], t[4 * a + 2]);
    u[4 * a + 2] = _mm512_unpacklo_epi64(t[4 * a + 1], t[4 * a + 3]);
    u[4 * a + 3] = _mm512_unpackhi_epi64(t[4 * a + 1], t[4 * a + 3]);
  }
  for (int c = 0; c < 4; ++c) {
    const __m512i s0 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x88), s1 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xDD);
    const __m512i s2 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x88), s3 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xDD);
    out[c] = _mm512_shuffle_i32x4(s0, s2, 0x88);
    out[8 + c] = _mm512_shuffle_i32x4(s0, s2, 0xDD);
    out[4 + c] = _mm512_shuffle_i32x4(s1, s3, 0x88);
    out[12 + c] = _mm512_shuffle_i32x4(s1, s3, 0xDD);
  }
}

// Chunk p (256 codes per row) of rows [n, n + 16) (those below n1) into lane group v of a set of RV groups at o
// (RV x 64 bytes per dword). Chunk p's dword e holds bytes 4e .. 4e + 3 of the chunk, whose field j is the codes of
// prepared activation bytes 256p + 64j + 4e .. + 3: dword d = 64p + 16j + e.
template <int RV>
__attribute__((noinline)) void unpack_chunk(const GemmArgs& g, int64_t n, int64_t n1, uint8_t* o, int64_t p) {
  const int64_t rb = g.K / 4, nfull = g.K / 256;
  const __m512i m3 = _mm512_set1_epi8(3);
  __m512i in[16], tr[16];
  for (int r = 0; r < 16; ++r)
    in[r] = n + r < n1 ? load_chunk(g.w + (n + r) * rb + 64 * p, p == nfull) : _mm512_setzero_si512();
  transpose16(in, tr);
  for (int e = 0; e < 16; ++e) {
    uint8_t* q = o + (64 * p + e) * (RV * 64);
    _mm512_store_si512(q, _mm512_and_si512(_mm512_srli_epi16(tr[e], 6), m3));
    _mm512_store_si512(q + 16 * RV * 64, _mm512_and_si512(_mm512_srli_epi16(tr[e], 4), m3));
    _mm512_store_si512(q + 32 * RV * 64, _mm512_and_si512(_mm512_srli_epi16(tr[e], 2), m3));
    _mm512_store_si512(q + 48 * RV * 64, _mm512_and_si512(tr[e], m3));
  }
}

// The I2_S bytes of the rows a thread will most likely unpack next, fetched into L2 one line per 16 dwords of the
// micro-kernel's loop while the current set runs: the next set of the call, or after the call's last set the rows
// just past the call (the driver deals prefill tiles out guided: runs of consecutive row tiles per thread, shorter
// towards the end). A set holds K / 4 lines and its token loop K / 4 / 16 x ceil(tokens / 6) prefetch slots, so at
// 32 tokens and more every line is asked for before the set ends.
// 2B4T pp128, 1 thread, 3 interleaved rounds on that Xeon: 114.7-116.5 t/s against 111.5-114.4 without (the weights
// stream from memory, 0.5 GB per pass). All the lines at once before each 6 tokens did as well, but stalled on the
// fill buffers (perf: 43% of the walk's samples on the prefetch loop).
struct NextRows {
  const char* p;
  const char* end;
  void one() {
    if (p < end) {
      _mm_prefetch(p, _MM_HINT_T1);
      p += 64;
    }
  }
};

// A tile computed into g.c as int32 sums, then (when g.y is set) the driver's epilogue from there into g.y.
template <void (*F)(const GemmArgs&)>
void with_epilogue(const GemmArgs& g) {
  F(g);
  apply_epilogue(g, g.t0, g.t1);
}
inline void short_gemm(const GemmArgs& g) { with_epilogue<TileWalker<I2sVnniShortGemm, 4, 6>::walk>(g); }

struct I2sVnniLaneGemm {
  // Rows [n, n + 16 RV) (those below g.n1) x tokens [t, t + TT); cs: the set's codes.
  // kUnpack (a set's first token block): the codes are unpacked on the way, chunk p + 1's group v (16 rows) in the
  // 16 dwords 64p + 16v .. of chunk p, so that the stores of the codes (64 lines per group and chunk, to a buffer
  // that lives in L2) drain while vpdpbusd runs. Unpacked all before the set's first token block, they stalled on
  // the store queue: 2B4T pp128 on that Xeon, 1 thread, ran 9% faster in a test that stored them all to one L1 line
  // (wrong codes), the time of the whole unpacking then being 7.5% of the samples.
  template <int RV, int TT, bool kUnpack>
  static void run(const GemmArgs& g, uint8_t* cs, int64_t n, int64_t t, NextRows& next) {
    const int64_t nd = (g.K + 255) / 256 * 64, nch = nd / 64;
    // The tile's outputs: token i's rows [n, r1) at out + i * ld (floats in y, or int32 sums in c).
    const int64_t r1 = n + 16 * RV < g.n1 ? n + 16 * RV : g.n1;
    char* const out = g.y ? reinterpret_cast<char*>(g.y + (t - g.t0) * int64_t(g.ldy) + (n - g.n0))
                          : reinterpret_cast<char*>(g.c + (t - g.t0) * int64_t(g.ldc) + (n - g.n0));
    const int64_t ld = 4 * int64_t(g.y ? g.ldy : g.ldc), row_bytes = 4 * (r1 - n);
    __m512i acc[RV][TT];
    zero_tile(acc);
    const uint8_t* x[TT];
    token_rows(g, t, x);
    const int64_t nb = nd / 16;
    if constexpr (kUnpack)
      for (int v = 0; v < RV; ++v) unpack_chunk<RV>(g, n + 16 * v, g.n1, cs + 64 * v, 0);
    for (int64_t b = 0; b < nb; ++b) {
      next.one();
      if constexpr (kUnpack) {
        const int64_t p = b / 4 + 1;
        const int v = int(b % 4);
        if (v < RV && p < nch) unpack_chunk<RV>(g, n + 16 * v, g.n1, cs + 64 * v, p);
      }
      // The outputs' lines, one token's per block of the last TT blocks, asked for while the sums are still being
      // made: the tile writes them at the end, a few hundred cycles later (they are not in cache: a prefill's y is
      // tokens x N floats, 3.5 MB for 128 x 6912). Stored cold, they stalled the store queue: the stores and the
      // epilogue were 6% of this function's samples (2B4T pp128 on that Xeon, 1 thread).
      if (const int64_t i = b - (nb - TT); i >= 0) {
        const char* p = out + i * ld;
        for (int64_t o = 0; o < row_bytes + 63; o += 64) _mm_prefetch(p + o, _MM_HINT_T0);
      }
      for (int64_t d = 16 * b; d < 16 * b + 16; ++d) {
        __m512i w[RV];
#pragma GCC unroll 8
        for (int v = 0; v < RV; ++v) w[v] = _mm512_load_si512(cs + (d * RV + v) * 64);
#pragma GCC unroll 8
        for (int i = 0; i < TT; ++i) {
          int32_t xd;
          __builtin_memcpy(&xd, x[i] + 4 * d, 4);
          const __m512i xv = _mm512_set1_epi32(xd);
#pragma GCC unroll 8
          for (int v = 0; v < RV; ++v) acc[v][i] = dpbusd(acc[v][i], w[v], xv);
        }
      }
    }
    // The arguments in locals: the stores below could alias g's fields, and the compiler reloaded them per vector.
    const int32_t* const xsum = g.xsum + t;
    const bool to_y = g.y != nullptr;
    const float* const a = to_y ? g.a + t : nullptr;  // a is set only with y
    const __m512 s = _mm512_set1_ps(g.s);
#pragma GCC unroll 8
    for (int v = 0; v < RV; ++v) {
      const int64_t left = (r1 - n) - 16 * v;
      if (left <= 0) break;
      const __mmask16 m = left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
#pragma GCC unroll 8
      for (int i = 0; i < TT; ++i) {
        const __m512i sum = _mm512_sub_epi32(acc[v][i], _mm512_set1_epi32(xsum[i]));
        char* const o = out + i * ld + 64 * v;
        if (to_y) {
          // The epilogue (kernel.h: acc / a * s, in float, in that order) on 16 rows at once: the same conversion,
          // division and product per lane, so the same floats as the driver's. Here the divisions overlap the next
          // micro-tile's vpdpbusd; the driver's pass after the call read and wrote the tile once more (3-4% of a
          // 2B4T prefill).
          const __m512 f = _mm512_mul_ps(_mm512_div_ps(_mm512_cvtepi32_ps(sum), _mm512_set1_ps(a[i])), s);
          _mm512_mask_storeu_ps(o, m, f);
        } else {
          _mm512_mask_storeu_epi32(o, m, sum);
        }
      }
    }
  }

  // A set of RV groups: every token of the call, kTT at a time; the first block also unpacks the set's codes.
  template <int RV>
  static void set(const GemmArgs& g, int64_t n, uint8_t* cs) {
    const int64_t rb = g.K / 4, after = n + 16 * RV;  // rows [r0, r1) next
    const int64_t r0 = after < g.n1 ? after : g.n1;
    int64_t r1 = after < g.n1 ? (after + 16 * RV < g.n1 ? after + 16 * RV : g.n1) : g.n1 + (g.n1 - g.n0);
    if (r1 > g.N) r1 = g.N;
    NextRows next{reinterpret_cast<const char*>(g.w + r0 * rb), reinterpret_cast<const char*>(g.w + (r1 > r0 ? r1 : r0) * rb)};
    // The tokens in blocks of near-equal size, at most kTT: 128 tokens as 18 x 6 + 4 x 5, not 21 x 6 + 2. The
    // micro-kernel of 2 tokens loads RV code vectors per 2 x RV vpdpbusd and reloads them from L2 each time (2B4T
    // pp128 on that Xeon, 1 thread: 2.3% of the time for 1.6% of the tokens); one of 5 tokens runs nearly as fast
    // as one of 6.
    const int64_t T = g.t1 - g.t0, nb = (T + kTT - 1) / kTT, small = T / nb, big = T % nb;
    int64_t t = g.t0;
    for (int64_t b = 0; b < nb; ++b) {
      const int tt = int(b < big ? small + 1 : small);
      if (b == 0) {
        if (tt == kTT) run<RV, kTT, true>(g, cs, n, t, next);
        else edge<RV, kTT, true>(g, cs, n, t, tt, next);
      } else {
        if (tt == kTT) run<RV, kTT, false>(g, cs, n, t, next);
        else edge<RV, kTT, false>(g, cs, n, t, tt, next);
      }
      t += tt;
    }
  }

  template <int RV, int TT, bool kUnpack>
  static void edge(const GemmArgs& g, uint8_t* cs, int64_t n, int64_t t, int tt, NextRows& next) {
    if constexpr (TT > 1) {
      if (tt < TT) return edge<RV, TT - 1, kUnpack>(g, cs, n, t, tt, next);
    }
    run<RV, TT, kUnpack>(g, cs, n, t, next);
  }

  // The call's rows in sets of up to kRV groups of 16 (rows past the call's end are zero codes), so that a call of
  // few rows (many threads on a short prefill, the last row tile of a matrix) wastes no vpdpbusd on padding; a set of
  // 16 rows or fewer takes I2sVnniShortGemm instead: one group's micro-tile (1 code vector, 6 broadcasts, 6 vpdpbusd
  // per dword) ran 178-180 GMAC/s on that Xeon, the short GEMM 244, two groups 310. Each set is unpacked and then run
  // over all the call's tokens, so its codes are read again from L1 or L2 while they are there.
  static void walk(const GemmArgs& g) {
    const int64_t nd = (g.K + 255) / 256 * 64;
    uint8_t* cs = tls_codes.reserve(size_t(nd * kRV * 64));
    static_assert(kRV == 4, "the sets below take 1 .. 4 groups");
    for (int64_t n = g.n0; n < g.n1; n += 16 * kRV) {
      const int groups = int(((g.n1 - n < 16 * kRV ? g.n1 - n : 16 * kRV) + 15) / 16);
      if (groups == 4) set<4>(g, n, cs);
      else if (groups == 3) set<3>(g, n, cs);
      else if (groups == 2) set<2>(g, n, cs);
      else {
        GemmArgs h = g;
        h.n0 = n;
        h.c = g.c + (n - g.n0);
        h.y = g.y ? g.y + (n - g.n0) : nullptr;
        short_gemm(h);
      }
    }
  }
};

}  // namespace

void i2s_gemm_avx512vnni(const GemmArgs& g) {
  if (g.t1 - g.t0 == 1 && !g.y) TileWalker<I2sVnniGemv, 4, 1>::walk(g);
  else if (g.t1 - g.t0 == 1) with_epilogue<TileWalker<I2sVnniGemv, 4, 1>::walk>(g);
  else if (g.t1 - g.t0 < kLaneGemmTokens || g.n1 - g.n0 <= 16) short_gemm(g);
  else I2sVnniLaneGemm::walk(g);
}

}  // namespace detail
}  // namespace tb
