// I2_S on AVX2 (layout: see i2s_format.cpp). Per 32-byte block and row: one load, then for each of the
// four 2-bit fields a shift and a mask give 32 codes c in {0,1,2} for 32 consecutive activations.
// maddubs(c, q) makes int16 pairs bounded by 2*2*128 = 512 (no saturation), madd widens to int32.
// Result = sum(c*q) - sum(q).
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

}  // namespace

void i2s_gemm_avx2(const GemmArgs& g) {
  // GEMV: 3 rows at a time. Their 6 int16 and 3 int32 accumulators, the two masks and the madd's ones leave room
  // for the loop's temporaries in 16 registers; with 4 rows GCC 12 spilled four accumulators to the stack
  // (a store and a reload per block).
  if (g.t1 - g.t0 == 1) TileWalker<I2sAvx2Gemv, 3, 1>::walk(g);
  // 2 rows x 4 tokens: 8 int16 accumulators + 2 code registers + 1 activation + the mask fit in 16 registers,
  // and 4 tokens' activations at K = 6912 (27 KiB) stay inside a 32 KiB L1 (Zen 1). Measured (bench_kernels
  // gemm128 warm, 1 thread, Zen 5 on its AVX2 path, ms at 2560x2560): 2x4 5.5, 2x3 5.8, 2x5 5.8, 3x3 5.9, 2x6 6.2,
  // 3x4 6.3, 4x2 7.7; the previous 1x8 kernel (a madd per block, no row reuse) 8.3.
  else TileWalker<I2sAvx2Gemm, 2, 4>::walk(g);
}

}  // namespace detail
}  // namespace tb
