// I2_S on AVX-512 VNNI (layout: see i2s_format.cpp).
// One 64-byte load holds two 128-weight blocks. Activations are prepared per token so that the
// 64 activations matching one 2-bit field of both blocks are contiguous:
// prepared: per token, round_up(K, 256) bytes; chunk p (256 weights), field j, block h, byte i holds
//           q[256p + 128h + 32j + i] at 256p + 64j + 32h + i; a missing odd last block reads zeros.
// vpdpbusd multiplies unsigned codes by signed activations and adds groups of 4 into int32 lanes
// directly, so there are no int16 partial sums to bound.
#include <immintrin.h>

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

// GEMM: each row's 2-bit field is shifted down and masked once per micro-tile and reused by TT tokens.
struct I2sVnniGemm {
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
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
      for (int i = 0; i < TT; ++i) acc[r][i] = _mm512_setzero_si512();
    const uint8_t* x[TT];
    for (int i = 0; i < TT; ++i) x[i] = g.x + (t + i) * g.ldx;
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

}  // namespace

void i2s_gemm_avx512vnni(const GemmArgs& g) {
  if (g.t1 - g.t0 == 1) TileWalker<I2sVnniGemv, 4, 1>::walk(g);
  else TileWalker<I2sVnniGemm, 4, 6>::walk(g);
}

}  // namespace detail
}  // namespace tb
