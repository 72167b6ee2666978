// TQ1 on AVX-512 VNNI (layout: see tq1_format.cpp). One 64-byte load holds two 160-weight groups. Activations
// are prepared per token so that the 64 activations matching one digit of both groups are contiguous:
// prepared: per token, 320 x ceil(G / 2) bytes; chunk p (two groups), digit j, group h, byte i holds
//           q[320p + 160h + 32j + i] at 320p + 64j + 32h + i, zero past K (a short last group's padding
//           digits and a missing odd last group read zeros).
// GEMM, per digit: two unsigned compares into masks and one masked move give the code c in {0,1,2}; two byte
// additions move the next digit up. vpdpbusd multiplies the unsigned codes by the signed activations into
// int32 lanes (no int16 partial sums to bound). GEMV makes no codes (Tq1VnniGemv: the codes are the carries
// of the additions, read off two vpdpbusd). Result = sum(c * q) - sum(q).
#include <immintrin.h>

#include <cstring>

#include "kernels/simd_tile.h"
#include "kernels/variants.h"
#include "kernels/x86_vnni.h"

namespace tb {
namespace detail {

size_t tq1_avx512_prepared_bytes(int64_t K) { return size_t((K + 319) / 320 * 320); }

void tq1_avx512_prepare(const int8_t* q, int64_t K, uint8_t* out) {
  std::memset(out, 0, tq1_avx512_prepared_bytes(K));
  for (int64_t k0 = 0; k0 < K; k0 += 32) {  // K % 32 == 0: whole digits of 32
    const int64_t p = k0 / 320, h = (k0 % 320) / 160, j = (k0 % 160) / 32;
    std::memcpy(out + 320 * p + 64 * j + 32 * h, q + k0, 32);
  }
}

namespace {

inline __m512i load_chunk(const uint8_t* p, bool half) {
  // The last chunk of a row with an odd number of groups has only 32 bytes: never read past them.
  return half ? _mm512_maskz_loadu_epi8(__mmask64(0xFFFFFFFFull), p) : _mm512_loadu_si512(p);
}

// Code of the current digit of the 64 bytes in y (x_j of tq1_format.cpp), then y moves to the next digit.
inline __attribute__((always_inline)) __m512i next_code(__m512i& y) {
  const __mmask64 ge1 = _mm512_cmpge_epu8_mask(y, _mm512_set1_epi8(86));
  const __mmask64 ge2 = _mm512_cmpge_epu8_mask(y, _mm512_set1_epi8(char(171)));
  const __m512i c = _mm512_mask_mov_epi8(_mm512_maskz_mov_epi8(ge1, _mm512_set1_epi8(1)), ge2, _mm512_set1_epi8(2));
  y = _mm512_add_epi8(y, _mm512_add_epi8(y, y));
  return c;
}

// GEMV: no codes at all. Digit j's code is the carry of the byte multiplication by 3 that moves to the next
// digit: 3 x_j = 256 c_j + x_{j+1} (tq1_format.cpp), so c_j q = (3 x_j q - x_{j+1} q) / 256 exactly, and a row's
// sum(c q) = (3 P - M) / 256 with P = sum of x_j q_j and M = sum of x_{j+1} q_j over the digits: two vpdpbusd
// on the bytes as they are (unsigned) and the two additions that make x_{j+1}, 4 operations per digit instead
// of 7 (compares, masked moves, additions, one vpdpbusd). Every int32 lane of 3P - M is a sum of such
// multiples of 256, so the shift is exact. Bound: per lane and chunk 5 digits x 4 products x 255 x 128 =
// 652800, 3P at K = 6912 (22 chunks): 4.3e7, far inside int32.
struct Tq1VnniGemv {
  template <int R, bool kHalf>
  static inline __attribute__((always_inline)) void chunk(const uint8_t* w, int64_t stride, const uint8_t* x, int64_t pf,
                                                          __m512i (&p)[R], __m512i (&m)[R]) {
    __m512i y[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      y[r] = load_chunk(w + r * stride, kHalf);
      if (!kHalf && pf) _mm_prefetch(reinterpret_cast<const char*>(w + r * stride) + pf, _MM_HINT_T0);
    }
#pragma GCC unroll 5
    for (int j = 0; j < 5; ++j) {
      const __m512i xv = _mm512_load_si512(x + 64 * j);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        p[r] = dpbusd(p[r], y[r], xv);
        y[r] = _mm512_add_epi8(y[r], _mm512_add_epi8(y[r], y[r]));
        m[r] = dpbusd(m[r], y[r], xv);
      }
    }
  }

  template <int R, int TT>
  static void run(const GemmArgs& g, int64_t n, int64_t rs, int64_t t) {
    static_assert(TT == 1, "GEMV micro-kernel");
    const int64_t G = (g.K + 159) / 160, rb = 32 * G, nfull = G / 2, stride = rs * rb;
    const uint8_t* w = g.w + n * rb;
    const uint8_t* x = g.x + t * g.ldx;
    __m512i p[R], m[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) p[r] = m[r] = _mm512_setzero_si512();
    for (int64_t c = 0; c < nfull; ++c) chunk<R, false>(w + 64 * c, stride, x + 320 * c, g.prefetch, p, m);
    if (G % 2) chunk<R, true>(w + 64 * nfull, stride, x + 320 * nfull, g.prefetch, p, m);
    __m512i v[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
      v[r] = _mm512_srai_epi32(_mm512_sub_epi32(_mm512_add_epi32(p[r], _mm512_add_epi32(p[r], p[r])), m[r]), 8);
    int32_t s[R];
    lane_sums<R>(v, s);
    int32_t* c = g.c + (t - g.t0) * int64_t(g.ldc) + (n - g.n0);
    for (int r = 0; r < R; ++r) c[r * rs] = s[r] - g.xsum[t];
  }
};

// GEMM: R rows x TT tokens; each row's code is made once per digit and used by TT tokens. Bound: per int32 lane
// and chunk 5 digits x 4 products x 2 x 128 = 5120, at most 22 chunks (K = 6912): 1.2e5.
struct Tq1Vnni {
  template <int R, int TT, bool kHalf>
  static inline __attribute__((always_inline)) void chunk(const uint8_t* w, int64_t stride, const uint8_t* const (&x)[TT],
                                                          __m512i (&acc)[R][TT]) {
    __m512i y[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      y[r] = load_chunk(w + r * stride, kHalf);
    }
#pragma GCC unroll 5
    for (int j = 0; j < 5; ++j) {
      __m512i c[R];
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) c[r] = next_code(y[r]);
#pragma GCC unroll 8
      for (int i = 0; i < TT; ++i) {
        const __m512i xv = _mm512_load_si512(x[i] + 64 * j);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) acc[r][i] = dpbusd(acc[r][i], c[r], xv);
      }
    }
  }

  template <int R, int TT>
  static void run(const GemmArgs& g, int64_t n, int64_t rs, int64_t t) {
    const int64_t G = (g.K + 159) / 160, rb = 32 * G, nfull = G / 2, stride = rs * rb;
    const uint8_t* w = g.w + n * rb;
    __m512i acc[R][TT];
    zero_tile(acc);
    const uint8_t* x[TT];
    token_rows(g, t, x);
    for (int64_t p = 0; p < nfull; ++p) {
      const uint8_t* xp[TT];
#pragma GCC unroll 8
      for (int i = 0; i < TT; ++i) xp[i] = x[i] + 320 * p;
      chunk<R, TT, false>(w + 64 * p, stride, xp, acc);
    }
    if (G % 2) {
      const uint8_t* xp[TT];
      for (int i = 0; i < TT; ++i) xp[i] = x[i] + 320 * nfull;
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

void tq1_gemm_avx512vnni(const GemmArgs& g) {
  if (g.t1 - g.t0 == 1) TileWalker<Tq1VnniGemv, 4, 1>::walk(g);
  else TileWalker<Tq1Vnni, 4, 4>::walk(g);
}

}  // namespace detail
}  // namespace tb
