// int8 on AVX-512 VNNI (layout: see int8_format.cpp). vpdpbusd wants unsigned x signed bytes, so the
// activations are prepared as u = q + 128 (q xor 0x80) and the offset is removed with the packed row
// sums: sum(w * q) = sum(w * u) - 128 * sum(w). Products 255 * 127 in groups of 4 go straight to int32.
// prepared: per token, round_up(K, 64) bytes of u; the weight tail is read with a masked load.
#include <immintrin.h>

#include <cstring>

#include "kernels/simd_tile.h"
#include "kernels/x86_vnni.h"
#include "kernels/variants.h"

namespace tb {
namespace detail {

size_t int8_avx512_prepared_bytes(int64_t K) { return size_t((K + 63) / 64 * 64); }

void int8_avx512_prepare(const int8_t* q, int64_t K, uint8_t* out) {
  std::memset(out, 0, int8_avx512_prepared_bytes(K));
  for (int64_t k = 0; k < K; ++k) out[k] = uint8_t(q[k]) ^ 0x80u;
}

namespace {

struct Int8Vnni {
  // One 64-byte step of R rows x TT tokens; kTail reads only the rows' last K % 64 bytes.
  template <int R, int TT, bool kTail>
  static inline __attribute__((always_inline)) void step(const int8_t* w, int64_t stride, const uint8_t* const (&x)[TT],
                                                         int64_t k, __mmask64 tail, __m512i (&acc)[R][TT]) {
    __m512i wv[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
      wv[r] = kTail ? _mm512_maskz_loadu_epi8(tail, w + r * stride + k) : _mm512_loadu_si512(w + r * stride + k);
#pragma GCC unroll 8
    for (int i = 0; i < TT; ++i) {
      const __m512i xv = _mm512_load_si512(x[i] + k);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) acc[r][i] = dpbusd(acc[r][i], xv, wv[r]);
    }
  }

  template <int R, int TT>
  static void run(const GemmArgs& g, int64_t n, int64_t rs, int64_t t) {
    const int64_t K = g.K, K64 = K / 64 * 64;
    const __mmask64 tail = K % 64 ? (~0ull >> (64 - K % 64)) : 0;
    const int8_t* w = reinterpret_cast<const int8_t*>(g.w) + n * K;
    const int32_t* rowsum = reinterpret_cast<const int32_t*>(g.w + (g.N * K + 63) / 64 * 64) + n;
    const uint8_t* x[TT];
    token_rows(g, t, x);
    __m512i acc[R][TT];
    zero_tile(acc);
    for (int64_t k = 0; k < K64; k += 64) step<R, TT, false>(w, rs * K, x, k, tail, acc);
    if (tail) step<R, TT, true>(w, rs * K, x, K64, tail, acc);
    for (int i = 0; i < TT; ++i) {
      int32_t* c = g.c + (t + i - g.t0) * int64_t(g.ldc) + (n - g.n0);
      __m512i v[R];
      for (int r = 0; r < R; ++r) v[r] = acc[r][i];
      int32_t s[R];
      lane_sums<R>(v, s);
      for (int r = 0; r < R; ++r) c[r * rs] = s[r] - 128 * rowsum[r * rs];
    }
  }
};

}  // namespace

void int8_gemm_avx512vnni(const GemmArgs& g) {
  if (g.t1 - g.t0 == 1) TileWalker<Int8Vnni, 4, 1>::walk(g);
  else TileWalker<Int8Vnni, 4, 6>::walk(g);
}

}  // namespace detail
}  // namespace tb
