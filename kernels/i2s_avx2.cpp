// I2_S on AVX2 (layout: see i2s_format.cpp). GEMV and short GEMMs multiply: per 32-byte block and row, one load,
// then for each of the four 2-bit fields a shift and a mask give 32 codes c in {0,1,2} for 32 consecutive
// activations; maddubs(c, q) makes int16 pairs bounded by 2*2*128 = 512 (no saturation), madd widens to int32, and
// the result is sum(c*q) - sum(q). GEMMs of whole 16-token runs (prefill) look up instead (I2sLookup below): signed
// sums from tables, no multiply and no sum(q) correction.
#include <immintrin.h>

#include "kernels/simd_tile.h"
#include "kernels/variants.h"
#include "kernels/x86_avx2.h"

namespace tb {
namespace detail {
namespace {

// GEMV (one token). Per block of 128 weights and row: one load and one 16-bit shift by 4 put the four 2-bit fields
// in reach of two masks, 3 (bits 1..0) and 12 (bits 3..2):
//   (w >> 4) & 12 = 4 * c[g]      (bits 7..6)      (w >> 4) & 3 = c[32+g]   (bits 5..4)
//   w & 12        = 4 * c[64+g]   (bits 3..2)      w & 3        = c[96+g]   (bits 1..0)
// (the shift moves the next byte's bits into bits 7..4 of each byte; both masks drop them). Products of the
// fields scaled by 4 go to one int16 accumulator (hs), the others to a second (hu); after kGroup blocks
// hs / 4 (exact: every term is a multiple of 4) joins hu and one madd widens them. Per 128 multiply-adds:
// 1 shift, 4 ands, 4 maddubs, 4 int16 adds, against 3 shifts, 4 ands, 4 maddubs, 3 adds, 1 madd and 1 add
// before: 13 instructions instead of 16, and the multiply units do a madd per 8 blocks instead of per block.
// (On a Zen 5 VM's AVX2 path the two run equally fast within its noise; llvm-mca's Zen 1 model gives 21 cycles
// per 512 multiply-adds against 22.5, where the multiply units bind.)
// int16 bounds, for any int8 input q in [-128, 127]: a maddubs lane of scaled codes (0, 4, 8) is at most
// 2 * 8 * 128 = 2048 in magnitude (no saturation); hs gains two such lanes per block, so 8 blocks stay within
// [-32768, 32512] (BitExact.ExtremeInputs reaches -32768; 9 blocks fail it); hu gains two lanes of at most 512,
// 8192 in 8 blocks; hu + hs / 4 is within 16384.
struct I2sAvx2Gemv {
  static constexpr int64_t kGroup = 8;

  template <int R, int TT>
  static void run(const GemmArgs& g, int64_t n, int64_t rs, int64_t t) {
    static_assert(TT == 1, "GEMV micro-kernel");
    const int64_t rb = g.K / 4, nblk = g.K / 128;
    const uint8_t* w = g.w + n * rb;
    const int8_t* x = reinterpret_cast<const int8_t*>(g.x + t * g.ldx);
    const __m256i m3 = _mm256_set1_epi8(3), m12 = _mm256_set1_epi8(12), ones = _mm256_set1_epi16(1);
    __m256i acc[R];
    for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_si256();
    for (int64_t b0 = 0; b0 < nblk; b0 += kGroup) {
      const int64_t b1 = b0 + kGroup < nblk ? b0 + kGroup : nblk;
      __m256i hu[R], hs[R];
      for (int r = 0; r < R; ++r) hu[r] = hs[r] = _mm256_setzero_si256();
      for (int64_t b = b0; b < b1; ++b) {
        const __m256i* xv = reinterpret_cast<const __m256i*>(x + 128 * b);
        for (int r = 0; r < R; ++r) {
          const uint8_t* wp = w + r * rs * rb + 32 * b;
          const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp));
          // GEMV streams weights from memory: fetch ahead, as far as set_gemv_prefetch says (0: not at all).
          if (g.prefetch) _mm_prefetch(reinterpret_cast<const char*>(wp) + g.prefetch, _MM_HINT_T0);
          const __m256i hi = _mm256_srli_epi16(lo, 4);
          hs[r] = _mm256_add_epi16(hs[r], _mm256_maddubs_epi16(_mm256_and_si256(hi, m12), _mm256_loadu_si256(xv)));
          hu[r] = _mm256_add_epi16(hu[r], _mm256_maddubs_epi16(_mm256_and_si256(hi, m3), _mm256_loadu_si256(xv + 1)));
          hs[r] = _mm256_add_epi16(hs[r], _mm256_maddubs_epi16(_mm256_and_si256(lo, m12), _mm256_loadu_si256(xv + 2)));
          hu[r] = _mm256_add_epi16(hu[r], _mm256_maddubs_epi16(_mm256_and_si256(lo, m3), _mm256_loadu_si256(xv + 3)));
        }
      }
      for (int r = 0; r < R; ++r)
        acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(_mm256_add_epi16(hu[r], _mm256_srai_epi16(hs[r], 2)), ones));
    }
    int32_t* c = g.c + (t - g.t0) * int64_t(g.ldc) + (n - g.n0);
    for (int r = 0; r < R; ++r) c[r * rs] = hsum(acc[r]) - g.xsum[t];
  }
};

// GEMM (prefill): a micro-tile of R rows x TT tokens. Per block and field, the R rows' codes are made once and
// each token's 32 activations are loaded once for R products, so loads stay well under the multiplies. The
// products are summed in int16 over kGroup blocks before one madd per accumulator widens them, so the multiply
// units do a maddubs per 32 multiply-adds and nearly nothing else.
// int16 bound: a maddubs lane is c0*q0 + c1*q1 with c in {0,1,2} and q in [-128, 127], so |lane| <= 512; one
// block adds 4 of them per accumulator lane (2048), kGroup = 8 blocks 16384 < 32767. Exact for any int8 input.
struct I2sAvx2Gemm {
  static constexpr int64_t kGroup = 8;

  template <int R, int TT>
  static void run(const GemmArgs& g, int64_t n, int64_t rs, int64_t t) {
    const int64_t rb = g.K / 4, nblk = g.K / 128;
    const uint8_t* w = g.w + n * rb;
    const int8_t* x[TT];
    for (int i = 0; i < TT; ++i) x[i] = reinterpret_cast<const int8_t*>(g.x + (t + i) * g.ldx);
    const __m256i m3 = _mm256_set1_epi8(3), ones = _mm256_set1_epi16(1);
    __m256i acc[R][TT];
    for (int r = 0; r < R; ++r)
      for (int i = 0; i < TT; ++i) acc[r][i] = _mm256_setzero_si256();
    for (int64_t b0 = 0; b0 < nblk; b0 += kGroup) {
      const int64_t b1 = b0 + kGroup < nblk ? b0 + kGroup : nblk;
      __m256i h[R][TT];
      for (int r = 0; r < R; ++r)
        for (int i = 0; i < TT; ++i) h[r][i] = _mm256_setzero_si256();
      for (int64_t b = b0; b < b1; ++b) {
        for (int j = 0; j < 4; ++j) {
          __m256i c[R];
          for (int r = 0; r < R; ++r) {
            const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + r * rs * rb + 32 * b));
            c[r] = _mm256_and_si256(j == 3 ? wv : _mm256_srli_epi16(wv, 6 - 2 * j), m3);
          }
          for (int i = 0; i < TT; ++i) {
            const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i] + 128 * b + 32 * j));
            for (int r = 0; r < R; ++r) {
              h[r][i] = _mm256_add_epi16(h[r][i], _mm256_maddubs_epi16(c[r], xv));
              // Keeps each accumulator in a register, added in order: without it GCC reassociates the adds of
              // all four fields into trees whose partial sums spill to the stack.
              __asm__("" : "+x"(h[r][i]));
            }
          }
        }
      }
      for (int r = 0; r < R; ++r)
        for (int i = 0; i < TT; ++i) acc[r][i] = _mm256_add_epi32(acc[r][i], _mm256_madd_epi16(h[r][i], ones));
    }
    for (int i = 0; i < TT; ++i) {
      int32_t* c = g.c + (t + i - g.t0) * int64_t(g.ldc) + (n - g.n0);
      for (int r = 0; r < R; ++r) c[r * rs] = hsum(acc[r][i]) - g.xsum[t + i];
    }
  }
};

// GEMM by table lookup (prefill, 16 tokens at a time): no multiplies at all. An I2_S byte holds the codes of
// four weights of a row (columns g, 32+g, 64+g, 96+g of a block), so the byte itself indexes a table of the 81
// possible sums (c0-1)x[g] + (c1-1)x[32+g] + (c2-1)x[64+g] + (c3-1)x[96+g]; one entry is a vector of those sums
// for 16 tokens (int16, |sum| <= 4 x 128 = 512). Per row and byte one 256-bit load-and-add does 4 x 16 = 64
// multiply-adds, against 32 for a vpmaddubsw, and uses no multiply unit. The tables of 8 bytes (8 bytes of a row)
// are built in L1 and then serve every row of the call, so their cost (about 100 adds and 81 stores per
// byte) is spread over the call's rows: the driver gives this kernel up to 2560 rows x 16 tokens per call
// (registry.cpp). Each row's 16 int16 sums run over at most kRun = 7 chunks of 8 bytes (56 x 512 = 28672 <=
// 32767), then are widened into int32 sums; the results are exact for any int8 input and need no sum(q)
// correction (the tables hold the signed weights). Only the 81 valid byte values are written (the others stay zero);
// a byte with a code 11, which unpack and the loaders reject, would read a wrong entry, inside this struct.
// Measured on a Zen 4 VM (its AVX2 path, 1 thread, 2560 x 2560 x 128 through the driver): 177 GMAC/s, against
// 145 for the vpmaddubsw tiles above and 154 for the path's vpmaddubsw ceiling; building the tables took 7% of it
// and the activations' transposes 1%. Chunks of 4 bytes (157) or 16 (135, tables beyond L1), 512 rows per pass
// (168), and offsets precomputed per row (132: more loads) were all slower. Up to 2048 rows a pass, not 1024, on a
// Xeon VM (family 6, model 207; its AVX2 path): the tables' cost spread over 1.5-2x the rows, 4-6% faster at 2B4T's
// 2560 x 2560, 6912 x 2560 and 2560 x 6912 (bench_kernels gemm128 warm, 1 and 2 threads), 2B4T pp128 56 -> 58 t/s at
// 1 thread and 110 -> 115 at 2 (4096 rows: no faster at 6912 x 2560, and 3/8 MiB of scratch a thread). Up to 2560, not
// 2048, there: 2B4T's 2560-row matrices in one pass instead of two of 1280 (the driver's near-equal tiles), bench_kernels
// gemm128 warm (two interleaved rounds, medians of 3) 2560 x 2560 5.92-5.95 -> 5.62 ms at 1 thread and 3.02-3.29 ->
// 2.78-2.94 at 2, 2560 x 6912 16.4-16.6 -> 15.5 and 8.25-8.70 -> 7.93-7.97, 6912 x 2560 (tiles of 1728 either way)
// 1-2% faster; 290 KiB of scratch a thread.
struct I2sLookup {
  static constexpr int kTok = 16;       // tokens per table entry (int16 lanes of a 256-bit vector)
  static constexpr int kBytes = 8;      // table bytes per chunk
  static constexpr int kRun = 7;        // chunks per int16 run
  static constexpr int kMaxRows = 2560; // rows per pass (the scratch below)
  static constexpr int kStride = 176;   // entries per table: valid bytes are <= 0xAA = 170; 176 x 32 B skews tables
  alignas(64) int16_t tab[kBytes][kStride][kTok];
  alignas(64) int16_t xt[128][kTok];    // one block's activations, column-major over the 16 tokens
  alignas(64) int16_t acc16[kMaxRows][kTok];
  alignas(64) int32_t acc32[kMaxRows][kTok];
};

static thread_local I2sLookup tls_lookup;

inline __m256i ld(const void* p) { return _mm256_load_si256(reinterpret_cast<const __m256i*>(p)); }
inline void st(void* p, __m256i v) { _mm256_store_si256(reinterpret_cast<__m256i*>(p), v); }

// The tables of bytes [8h, 8h + 8) of the block whose activations are in s.xt.
void build_tables(I2sLookup& s, int h) {
  for (int i = 0; i < I2sLookup::kBytes; ++i) {
    const int g = 8 * h + i;
    const __m256i x0 = ld(s.xt[g]), x1 = ld(s.xt[32 + g]), x2 = ld(s.xt[64 + g]), x3 = ld(s.xt[96 + g]);
    const __m256i z = _mm256_setzero_si256();
    const __m256i a[3] = {_mm256_sub_epi16(z, x0), z, x0}, b[3] = {_mm256_sub_epi16(z, x1), z, x1};
    const __m256i c[3] = {_mm256_sub_epi16(z, x2), z, x2}, d[3] = {_mm256_sub_epi16(z, x3), z, x3};
    __m256i q[9];
    for (int c2 = 0; c2 < 3; ++c2)
      for (int c3 = 0; c3 < 3; ++c3) q[3 * c2 + c3] = _mm256_add_epi16(c[c2], d[c3]);
    for (int c0 = 0; c0 < 3; ++c0)
      for (int c1 = 0; c1 < 3; ++c1) {
        const __m256i p = _mm256_add_epi16(a[c0], b[c1]);
        int16_t(*t)[I2sLookup::kTok] = s.tab[i] + (c0 << 6 | c1 << 4);
        for (int c2 = 0; c2 < 3; ++c2)
          for (int c3 = 0; c3 < 3; ++c3) st(t[c2 << 2 | c3], _mm256_add_epi16(p, q[3 * c2 + c3]));
      }
  }
}

// One round of a 16 x 16 byte transpose: out[k] and out[k + 8] interleave the low and the high W-bit lanes of in[2k]
// and in[2k + 1].
template <int W>
inline void unpack_round(const __m128i* in, __m128i* out) {
  for (int k = 0; k < 8; ++k) {
    const __m128i x = in[2 * k], y = in[2 * k + 1];
    if constexpr (W == 8) out[k] = _mm_unpacklo_epi8(x, y), out[k + 8] = _mm_unpackhi_epi8(x, y);
    else if constexpr (W == 16) out[k] = _mm_unpacklo_epi16(x, y), out[k + 8] = _mm_unpackhi_epi16(x, y);
    else if constexpr (W == 32) out[k] = _mm_unpacklo_epi32(x, y), out[k + 8] = _mm_unpackhi_epi32(x, y);
    else out[k] = _mm_unpacklo_epi64(x, y), out[k + 8] = _mm_unpackhi_epi64(x, y);
  }
}

// The activations of columns [k0, k0 + 128) of tokens [t, t + tt) into s.xt, one 16-token int16 vector per column
// (lanes of missing tokens are zero): 16 x 16 byte transposes in four rounds of unpacks, which leave column
// bitrev4(r) in register r, then sign extension.
void load_block(I2sLookup& s, const GemmArgs& g, int64_t t, int tt, int64_t k0) {
  static constexpr int kBitrev4[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};
  for (int c0 = 0; c0 < 128; c0 += 16) {
    __m128i a[16], b[16];
    for (int i = 0; i < 16; ++i)
      a[i] = i < tt ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(g.x + (t + i) * g.ldx + k0 + c0)) : _mm_setzero_si128();
    unpack_round<8>(a, b);
    unpack_round<16>(b, a);
    unpack_round<32>(a, b);
    unpack_round<64>(b, a);
    for (int r = 0; r < 16; ++r) st(s.xt[c0 + kBitrev4[r]], _mm256_cvtepi8_epi16(a[r]));
  }
}

// One chunk (8 bytes per row) over rows [0, rows): first starts the int16 run, last ends it into acc32. Not inlined:
// inside lookup_pass GCC 12 kept the eight tables' bases on the stack and reloaded them per row.
template <bool kFirst, bool kLast>
__attribute__((noinline)) void chunk(I2sLookup& s, const uint8_t* w, int64_t rb, int rows, bool first_run) {
  const char* t = reinterpret_cast<const char*>(s.tab);
  constexpr int64_t ts = int64_t(sizeof(s.tab[0]));
  for (int r = 0; r < rows; ++r) {
    const uint8_t* v = w + r * rb;
    // Each row's 8 bytes are in a line of their own (rows are K / 4 bytes apart): fetch 16 rows ahead.
    _mm_prefetch(reinterpret_cast<const char*>(w + (r + 16) * rb), _MM_HINT_T0);
    __m256i a = kFirst ? _mm256_setzero_si256() : ld(s.acc16[r]);
    // A byte load per lookup (movzx from memory, a shift by 5, the load-and-add at a constant displacement from the
    // tables' base): about 30 instructions per row and chunk against 50 for one 64-bit load and a shift and a mask
    // per byte. On the Xeon VM's AVX2 path (bench_kernels gemm128 warm, 1 thread) 1-2% faster at every 2B4T shape;
    // the loads, not the instructions, bind.
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) a = _mm256_add_epi16(a, ld(t + i * ts + int64_t(v[i]) * 32));
    if (kLast) {
      __m256i lo = _mm256_cvtepi16_epi32(_mm256_castsi256_si128(a));
      __m256i hi = _mm256_cvtepi16_epi32(_mm256_extracti128_si256(a, 1));
      if (!first_run) {
        lo = _mm256_add_epi32(lo, ld(s.acc32[r]));
        hi = _mm256_add_epi32(hi, ld(s.acc32[r] + 8));
      }
      st(s.acc32[r], lo);
      st(s.acc32[r] + 8, hi);
    } else {
      st(s.acc16[r], a);
    }
  }
}

// The float epilogue (kernel.h: acc / a * s, in float, in that order) of eight sums: the same conversion, division
// and product per lane as the driver's, so the same floats.
inline __m256 epilogue8(__m256i sum, float a, float s) {
  return _mm256_mul_ps(_mm256_div_ps(_mm256_cvtepi32_ps(sum), _mm256_set1_ps(a)), _mm256_set1_ps(s));
}

// A mask of the first m (1 .. 8) dword lanes.
inline __m256i first_lanes(int64_t m) {
  alignas(32) static constexpr int32_t kLanes[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kLanes + 8 - (m < 8 ? m : 8)));
}

// 8 x 8 transpose of dwords: out[i] lane j = in[j] lane i.
inline void transpose8(const __m256 (&in)[8], __m256 (&out)[8]) {
  __m256 t[8], u[8];
  for (int k = 0; k < 4; ++k) {
    t[2 * k] = _mm256_unpacklo_ps(in[2 * k], in[2 * k + 1]);      // lanes 0, 1 (4, 5) of rows 2k, 2k + 1
    t[2 * k + 1] = _mm256_unpackhi_ps(in[2 * k], in[2 * k + 1]);  // lanes 2, 3 (6, 7)
  }
  for (int k = 0; k < 2; ++k) {  // u[4k + c], each 128-bit half: lane c (4 + c) of rows 4k .. 4k + 3
    u[4 * k] = _mm256_shuffle_ps(t[4 * k], t[4 * k + 2], 0x44);
    u[4 * k + 1] = _mm256_shuffle_ps(t[4 * k], t[4 * k + 2], 0xEE);
    u[4 * k + 2] = _mm256_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0x44);
    u[4 * k + 3] = _mm256_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0xEE);
  }
  for (int c = 0; c < 4; ++c) {
    out[c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x20);
    out[4 + c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x31);
  }
}

// A pass's sums (s.acc32: row-major, 16 tokens a row) into the call's output, token-major: the epilogue's floats into
// g.y when it is set (Kernel::writes_y), else the int32 sums into g.c. Eight rows x eight tokens at a time through a
// transpose; the last rows % 8 with a masked store (the rows of s.acc32 past `rows` are read, never written out).
// Before, a scalar copy walked the rows once per token (16 passes over up to 128 KiB, beyond L1) and the driver's
// epilogue read the copy once more: on the Xeon VM's AVX2 path, 2B4T pp128, 1 thread, 2% and 2.2% of the time.
// With this write-out (two interleaved rounds there): 59.3-59.5 t/s against 57.4-58.1 at 1 thread, 115.0-116.7
// against 113.2-113.5 (medians) at 2.
void write_out(const GemmArgs& g, const I2sLookup& s, int64_t n, int rows, int64_t t, int tt) {
  for (int r = 0; r < rows; r += 8) {
    const __m256i mask = first_lanes(rows - r);
    for (int h = 0; h < 2 && 8 * h < tt; ++h) {
      __m256 in[8], out[8];
      for (int j = 0; j < 8; ++j) in[j] = _mm256_castsi256_ps(ld(s.acc32[r + j] + 8 * h));
      transpose8(in, out);
      const int ni = tt - 8 * h < 8 ? tt - 8 * h : 8;
      for (int i = 0; i < ni; ++i) {
        const int64_t tok = t + 8 * h + i;
        const __m256i sum = _mm256_castps_si256(out[i]);
        if (g.y) {
          float* y = g.y + (tok - g.t0) * int64_t(g.ldy) + (n - g.n0) + r;
          _mm256_maskstore_ps(y, mask, epilogue8(sum, g.a[tok], g.s));
        } else {
          int32_t* c = g.c + (tok - g.t0) * int64_t(g.ldc) + (n - g.n0) + r;
          _mm256_maskstore_epi32(reinterpret_cast<int*>(c), mask, sum);
        }
      }
    }
  }
}

// Rows [n, n + rows) (rows <= kMaxRows) x tokens [t, t + tt) (tt <= 16).
void lookup_pass(const GemmArgs& g, int64_t n, int rows, int64_t t, int tt) {
  I2sLookup& s = tls_lookup;
  const int64_t rb = g.K / 4, nblk = g.K / 128, chunks = 4 * nblk;
  const uint8_t* w = g.w + n * rb;
  int64_t run = 0;  // chunks in the current int16 run
  bool first_run = true;
  for (int64_t b = 0; b < nblk; ++b) {
    load_block(s, g, t, tt, 128 * b);
    for (int h = 0; h < 4; ++h) {
      build_tables(s, h);
      const int64_t ci = 4 * b + h;
      const bool first = run == 0, last = run == I2sLookup::kRun - 1 || ci == chunks - 1;
      const uint8_t* wc = w + 32 * b + 8 * h;
      if (first && last) chunk<true, true>(s, wc, rb, rows, first_run);
      else if (first) chunk<true, false>(s, wc, rb, rows, first_run);
      else if (last) chunk<false, true>(s, wc, rb, rows, first_run);
      else chunk<false, false>(s, wc, rb, rows, first_run);
      if (last) {
        run = 0;
        first_run = false;
      } else {
        ++run;
      }
    }
  }
  write_out(g, s, n, rows, t, tt);
}

}  // namespace

void i2s_gemm_avx2(const GemmArgs& g) {
  // GEMV: 3 rows at a time. Their 6 int16 and 3 int32 accumulators, the two masks and the madd's ones leave room
  // for the loop's temporaries in 16 registers; with 4 rows GCC 12 spilled four accumulators to the stack
  // (a store and a reload per block).
  if (g.t1 - g.t0 == 1) {
    TileWalker<I2sAvx2Gemv, 3, 1>::walk(g);
    return apply_epilogue(g, g.t0, g.t1);
  }
  // GEMM: 16 tokens at a time, by table lookups when there are at least kI2sAvx2LookupTokens of them (a table entry
  // holds 16 tokens' sums whether or not all are there) and kI2sAvx2LookupRows rows (the driver shrinks row tiles
  // for short prefills on many threads), else by vpmaddubsw in tiles of 2 rows x 4 tokens: 8 int16
  // accumulators + 2 code registers + 1 activation + the mask fit in 16 registers, and 4 tokens' activations at
  // K = 6912 (27 KiB) stay inside a 32 KiB L1 (Zen 1). Measured (bench_kernels gemm128 warm, 1 thread, Zen 5 on its
  // AVX2 path, ms at 2560x2560): 2x4 5.5, 2x3 5.8, 2x5 5.8, 3x3 5.9, 2x6 6.2, 3x4 6.3, 4x2 7.7.
  for (int64_t t = g.t0; t < g.t1; t += I2sLookup::kTok) {
    const int tt = int(g.t1 - t < I2sLookup::kTok ? g.t1 - t : I2sLookup::kTok);
    if (tt >= kI2sAvx2LookupTokens && g.n1 - g.n0 >= kI2sAvx2LookupRows) {
      for (int64_t n = g.n0; n < g.n1; n += I2sLookup::kMaxRows)
        lookup_pass(g, n, int(g.n1 - n < I2sLookup::kMaxRows ? g.n1 - n : I2sLookup::kMaxRows), t, tt);
    } else {
      GemmArgs h = g;
      h.t0 = t;
      h.t1 = t + tt;
      h.c = g.c + (t - g.t0) * int64_t(g.ldc);
      TileWalker<I2sAvx2Gemm, 2, 4>::walk(h);
      apply_epilogue(g, t, t + tt);
    }
  }
}

}  // namespace detail
}  // namespace tb
