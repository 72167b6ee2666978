// TL1 and TL2 on AVX-512 (F/BW/VL; vpshufb on 512 bits: no VBMI needed). Layout: see tl_format.cpp
// and tl_layout.h. One 64-byte load holds two units of a group (128-bit lanes: unit u rows 0-15,
// 16-31, unit u+1 rows 0-15, 16-31); the tables of both units are broadcast into the matching lanes;
// an odd last unit loads 32 bytes and zero tables in the upper half (lookups give 0). TL2 signs: one
// 64-bit load per unit pair is the mask; a masked byte subtract makes ~lo, ~hi (0xFF - x) and a masked
// add counts the +1s. Rejoin and int16 bounds as in tl_avx2.cpp; the two units' halves are summed at the end of the K tile
// (still one entry per pair/triple per row: the BK bound holds).
#include <immintrin.h>

#include "kernels/tl_layout.h"
#include "kernels/tl_x86.h"
#include "kernels/variants.h"

namespace tb {
namespace detail {
namespace {

inline __m256i bc(const uint8_t* p) {
  return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
// Tables of two units: [t0, t0, t1, t1]; one unit: [t0, t0, 0, 0].
template <bool kOne>
inline __m512i tab2(const uint8_t* t0) {
  if (kOne) return _mm512_zextsi256_si512(bc(t0));
  return _mm512_inserti64x4(_mm512_castsi256_si512(bc(t0)), bc(t0 + 64), 1);
}
inline uint32_t load32(const uint8_t* p) {
  uint32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

inline uint64_t load64(const uint8_t* p) {
  uint64_t v;
  __builtin_memcpy(&v, p, 8);
  return v;
}

struct TlAvx512 {
  // Sign masks of A and B for units u, u + 1 (bit r: unit u row r, bit 32 + r: unit u + 1 row r).
  template <bool kOne>
  static inline __attribute__((always_inline)) void signs(const uint8_t* g, int64_t U, int64_t u, __mmask64& ka,
                                                          __mmask64& kb) {
    if (kOne) {
      ka = _cvtu64_mask64(load32(g + tl_sign_at(U, u, 0)));
      kb = _cvtu64_mask64(load32(g + tl_sign_at(U, u, 1)));
    } else {
      ka = _cvtu64_mask64(load64(g + tl_sign_at(U, u, 0)));
      kb = _cvtu64_mask64(load64(g + tl_sign_at(U, u, 1)));
    }
  }

  // One group, tables in registers: look up, apply signs (~byte where negative: 0xFF - x), rejoin.
  template <bool kSigned>
  static inline __attribute__((always_inline)) void lookup(__m512i lo, __m512i hi, __mmask64 ka, __mmask64 kb,
                                                           __m512i la, __m512i ha, __m512i lb, __m512i hb,
                                                           __m512i& a0, __m512i& a1) {
    __m512i ea = _mm512_shuffle_epi8(la, lo), fa = _mm512_shuffle_epi8(ha, lo);
    __m512i eb = _mm512_shuffle_epi8(lb, hi), fb = _mm512_shuffle_epi8(hb, hi);
    if (kSigned) {
      const __m512i ff = _mm512_set1_epi8(-1);
      ea = _mm512_mask_sub_epi8(ea, ka, ff, ea);
      fa = _mm512_mask_sub_epi8(fa, ka, ff, fa);
      eb = _mm512_mask_sub_epi8(eb, kb, ff, eb);
      fb = _mm512_mask_sub_epi8(fb, kb, ff, fb);
    }
    a0 = _mm512_add_epi16(a0, _mm512_add_epi16(_mm512_unpacklo_epi8(ea, fa), _mm512_unpacklo_epi8(eb, fb)));
    a1 = _mm512_add_epi16(a1, _mm512_add_epi16(_mm512_unpackhi_epi8(ea, fa), _mm512_unpackhi_epi8(eb, fb)));
  }

  template <int G, int TT, bool kSigned, bool kOne>
  static inline __attribute__((always_inline)) void step(const uint8_t* const (&w)[G], int64_t U, int64_t u,
                                                         const uint8_t* const (&tab)[TT], __m512i (&a0)[G][TT],
                                                         __m512i (&a1)[G][TT], __m512i (&cnt)[G], int64_t next) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), one = _mm512_set1_epi8(1);
    if (TT == 1) {  // GEMV: tables first, then each group start to end (few live registers)
      const uint8_t* t = tab[0] + 64 * u;
      const __m512i la = tab2<kOne>(t), ha = tab2<kOne>(t + 16), lb = tab2<kOne>(t + 32), hb = tab2<kOne>(t + 48);
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) {
        const __m512i v = kOne ? _mm512_maskz_loadu_epi8(__mmask64(0xFFFFFFFFull), w[g] + 32 * u)
                               : _mm512_loadu_si512(w[g] + 32 * u);
        _mm_prefetch(reinterpret_cast<const char*>(w[g] + next + 32 * u), _MM_HINT_T0);
        if (kSigned && (u & 7) == 0) _mm_prefetch(reinterpret_cast<const char*>(w[g] + next + 32 * U + 8 * u), _MM_HINT_T0);
        __mmask64 ka = 0, kb = 0;
        if (kSigned) {
          signs<kOne>(w[g], U, u, ka, kb);
          cnt[g] = _mm512_mask_add_epi8(cnt[g], ka, cnt[g], one);
          cnt[g] = _mm512_mask_add_epi8(cnt[g], kb, cnt[g], one);
        }
        lookup<kSigned>(_mm512_and_si512(v, m4), _mm512_and_si512(_mm512_srli_epi16(v, 4), m4), ka, kb, la, ha, lb,
                        hb, a0[g][0], a1[g][0]);
      }
      return;
    }
    __m512i lo[G], hi[G];
    __mmask64 ka[G], kb[G];
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) {
      const __m512i v = kOne ? _mm512_maskz_loadu_epi8(__mmask64(0xFFFFFFFFull), w[g] + 32 * u)
                             : _mm512_loadu_si512(w[g] + 32 * u);
      lo[g] = _mm512_and_si512(v, m4);
      hi[g] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
      ka[g] = kb[g] = 0;
      if (kSigned) {
        signs<kOne>(w[g], U, u, ka[g], kb[g]);
        cnt[g] = _mm512_mask_add_epi8(cnt[g], ka[g], cnt[g], one);
        cnt[g] = _mm512_mask_add_epi8(cnt[g], kb[g], cnt[g], one);
      }
    }
#pragma GCC unroll 8
    for (int i = 0; i < TT; ++i) {
      const uint8_t* t = tab[i] + 64 * u;
      const __m512i la = tab2<kOne>(t), ha = tab2<kOne>(t + 16), lb = tab2<kOne>(t + 32), hb = tab2<kOne>(t + 48);
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) lookup<kSigned>(lo[g], hi[g], ka[g], kb[g], la, ha, lb, hb, a0[g][i], a1[g][i]);
    }
  }

  template <int G, int TT, bool kSigned>
  static inline __attribute__((always_inline)) void tile(const uint8_t* const (&w)[G], int64_t U, const uint8_t* const (&tab)[TT],
                   int32_t (&acc)[G][TT][32], int64_t next) {
    __m512i a0[G][TT], a1[G][TT], cnt[G];
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) {
      cnt[g] = _mm512_setzero_si512();
#pragma GCC unroll 8
      for (int i = 0; i < TT; ++i) a0[g][i] = a1[g][i] = _mm512_setzero_si512();
    }
    int64_t u = 0;
    for (; u + 2 <= U; u += 2) step<G, TT, kSigned, false>(w, U, u, tab, a0, a1, cnt, next);
    if (u < U) step<G, TT, kSigned, true>(w, U, u, tab, a0, a1, cnt, next);
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) {
      __m256i c0 = _mm256_setzero_si256(), c1 = c0;
      if (kSigned) {  // cnt: negative entries per row byte, both units' halves added (<= 84); subtract -cnt
        const __m256i c = _mm256_sub_epi8(_mm256_setzero_si256(),
                                          _mm256_add_epi8(_mm512_castsi512_si256(cnt[g]), _mm512_extracti64x4_epi64(cnt[g], 1)));
        const __m256i s = _mm256_cmpgt_epi8(_mm256_setzero_si256(), c);
        c0 = _mm256_unpacklo_epi8(c, s);
        c1 = _mm256_unpackhi_epi8(c, s);
      }
#pragma GCC unroll 8
      for (int i = 0; i < TT; ++i) {
        const __m256i v0 = _mm256_add_epi16(_mm512_castsi512_si256(a0[g][i]), _mm512_extracti64x4_epi64(a0[g][i], 1));
        const __m256i v1 = _mm256_add_epi16(_mm512_castsi512_si256(a1[g][i]), _mm512_extracti64x4_epi64(a1[g][i], 1));
        add_rows(acc[g][i], _mm256_sub_epi16(v0, c0), _mm256_sub_epi16(v1, c1));
      }
    }
  }
};

}  // namespace

void tl_gemm_avx512(const GemmArgs& a) { TlWalker<TlAvx512, 4, 2, 4>::walk(a); }

}  // namespace detail
}  // namespace tb
