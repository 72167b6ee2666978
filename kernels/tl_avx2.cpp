// TL1 and TL2 on AVX2 (layout: see tl_format.cpp and tl_layout.h). Per unit and group: one 32-byte
// load gives 32 rows' indices of A (low nibbles) and B (high nibbles); vpshufb looks each up in the
// broadcast low-byte and high-byte tables; unpacklo/hi_epi8 rejoin them into int16 lanes (rows
// 0-7|16-23 and 8-15|24-31). TL2 negative entries: lo and hi bytes XORed with the sign byte mask
// (-e = ~e + 1), the +1s counted per row in a byte counter (<= 84 per K tile). int16 sums are bounded
// per K tile by BK (tl_format.cpp) and widened to int32 after each K tile.
#include <immintrin.h>

#include "kernels/tl_layout.h"
#include "kernels/tl_x86.h"
#include "kernels/variants.h"

namespace tb {
namespace detail {
namespace {

// 32 sign bits (bit r = row r) -> 32 bytes, 0xFF where the bit is set.
inline __m256i expand_signs(const uint8_t* p) {
  int32_t m;
  __builtin_memcpy(&m, p, 4);
  const __m256i sel = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3,
                                       3, 3, 3, 3, 3);
  const __m256i bits = _mm256_set1_epi64x(int64_t(0x8040201008040201ull));
  const __m256i v = _mm256_and_si256(_mm256_shuffle_epi8(_mm256_set1_epi32(m), sel), bits);
  return _mm256_cmpeq_epi8(v, bits);
}

inline __m256i bcast(const uint8_t* p) {
  return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

struct TlAvx2 {
  template <int G, int TT, bool kSigned>
  static inline __attribute__((always_inline)) void tile(const uint8_t* const (&w)[G], int64_t U, const uint8_t* const (&tab)[TT],
                   int32_t (&acc)[G][TT][32], int64_t next) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256i a0[G][TT], a1[G][TT], cnt[G];
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) {
      cnt[g] = _mm256_setzero_si256();
#pragma GCC unroll 8
      for (int i = 0; i < TT; ++i) a0[g][i] = a1[g][i] = _mm256_setzero_si256();
    }
    for (int64_t u = 0; u < U; ++u) {
      __m256i lo[G], hi[G], sa[G], sb[G];
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[g] + 32 * u));
        if (TT == 1 && (u & 1) == 0) _mm_prefetch(reinterpret_cast<const char*>(w[g] + next + 32 * u), _MM_HINT_T0);
        if (TT == 1 && kSigned && (u & 7) == 0)
          _mm_prefetch(reinterpret_cast<const char*>(w[g] + next + 32 * U + 8 * u), _MM_HINT_T0);
        lo[g] = _mm256_and_si256(v, m4);
        hi[g] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
        if (kSigned) {
          sa[g] = expand_signs(w[g] + tl_sign_at(U, u, 0));
          sb[g] = expand_signs(w[g] + tl_sign_at(U, u, 1));
          cnt[g] = _mm256_add_epi8(cnt[g], _mm256_add_epi8(sa[g], sb[g]));
        }
      }
#pragma GCC unroll 8
      for (int i = 0; i < TT; ++i) {
        const uint8_t* t = tab[i] + 64 * u;
        const __m256i la = bcast(t), ha = bcast(t + 16), lb = bcast(t + 32), hb = bcast(t + 48);
#pragma GCC unroll 8
        for (int g = 0; g < G; ++g) {
          __m256i ea = _mm256_shuffle_epi8(la, lo[g]), fa = _mm256_shuffle_epi8(ha, lo[g]);
          __m256i eb = _mm256_shuffle_epi8(lb, hi[g]), fb = _mm256_shuffle_epi8(hb, hi[g]);
          if (kSigned) {
            ea = _mm256_xor_si256(ea, sa[g]);
            fa = _mm256_xor_si256(fa, sa[g]);
            eb = _mm256_xor_si256(eb, sb[g]);
            fb = _mm256_xor_si256(fb, sb[g]);
          }
          a0[g][i] = _mm256_add_epi16(a0[g][i], _mm256_add_epi16(_mm256_unpacklo_epi8(ea, fa), _mm256_unpacklo_epi8(eb, fb)));
          a1[g][i] = _mm256_add_epi16(a1[g][i], _mm256_add_epi16(_mm256_unpackhi_epi8(ea, fa), _mm256_unpackhi_epi8(eb, fb)));
        }
      }
    }
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) {
      __m256i c0 = _mm256_setzero_si256(), c1 = c0;
      if (kSigned) {  // cnt holds -(number of negative entries) per row byte
        const __m256i s = _mm256_cmpgt_epi8(_mm256_setzero_si256(), cnt[g]);
        c0 = _mm256_unpacklo_epi8(cnt[g], s);
        c1 = _mm256_unpackhi_epi8(cnt[g], s);
      }
#pragma GCC unroll 8
      for (int i = 0; i < TT; ++i) add_rows(acc[g][i], _mm256_sub_epi16(a0[g][i], c0), _mm256_sub_epi16(a1[g][i], c1));
    }
  }
};

// One 16-entry int16 table e = c0 * b0 + c1 * b1 + c2 * b2 (c from the coefficient vectors) written as
// 16 low bytes then 16 high bytes, as tl_format.cpp's put_table does.
inline void put_table(__m256i e, uint8_t* out) {
  const __m256i lo = _mm256_and_si256(e, _mm256_set1_epi16(0xFF)), hi = _mm256_srli_epi16(e, 8);
  const __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi16(lo, hi), 0xD8);  // lo[0..15] hi[0..15]
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), p);
}

// TL1 tables: entry i = (i / 3 - 1) q0 + (i % 3 - 1) q1 for i < 9, else 0.
inline void tl1_tables(int q0, int q1, uint8_t* out) {
  const __m256i c0 = _mm256_setr_epi16(-1, -1, -1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0);
  const __m256i c1 = _mm256_setr_epi16(-1, 0, 1, -1, 0, 1, -1, 0, 1, 0, 0, 0, 0, 0, 0, 0);
  put_table(_mm256_add_epi16(_mm256_sign_epi16(_mm256_set1_epi16(int16_t(q0)), c0),
                             _mm256_sign_epi16(_mm256_set1_epi16(int16_t(q1)), c1)),
            out);
}

}  // namespace

// Table construction with AVX2 (the same bytes as tl1_prepare / tl2_prepare in tl_format.cpp).
void tl1_prepare_avx2(const int8_t* q, int64_t K, uint8_t* out) {
  const int64_t full = K / 4;
  for (int64_t u = 0; u < full; ++u) {
    tl1_tables(q[4 * u], q[4 * u + 1], out + 64 * u);
    tl1_tables(q[4 * u + 2], q[4 * u + 3], out + 64 * u + 32);
  }
  if (K % 4) {
    int8_t t[4] = {0, 0, 0, 0};
    for (int64_t k = 4 * full; k < K; ++k) t[k - 4 * full] = q[k];
    tl1_tables(t[0], t[1], out + 64 * full);
    tl1_tables(t[2], t[3], out + 64 * full + 32);
  }
}

void tl2_prepare_avx2(const int8_t* q, int64_t K, uint8_t* out) {
  // Entry i (0..13) = c0 b0 + c1 b1 + c2 b2 with i = 9 c0 + 3 c1 + c2 (docs/reference.md §2.4's table); 14, 15: 0.
  const __m256i c0 = _mm256_setr_epi16(0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0);
  const __m256i c1 = _mm256_setr_epi16(0, 0, 1, 1, 1, -1, -1, -1, 0, 0, 0, 1, 1, 1, 0, 0);
  const __m256i c2 = _mm256_setr_epi16(0, 1, -1, 0, 1, -1, 0, 1, -1, 0, 1, -1, 0, 1, 0, 0);
  const int64_t mu = K / 6;
  for (int64_t u = 0; u < mu; ++u)
    for (int h = 0; h < 2; ++h) {
      const int8_t* b = q + 6 * u + 3 * h;
      const __m256i e = _mm256_add_epi16(
          _mm256_add_epi16(_mm256_sign_epi16(_mm256_set1_epi16(b[0]), c0), _mm256_sign_epi16(_mm256_set1_epi16(b[1]), c1)),
          _mm256_sign_epi16(_mm256_set1_epi16(b[2]), c2));
      put_table(e, out + 64 * u + 32 * h);
    }
  if (K % 6) tl1_prepare_avx2(q + 6 * mu, K % 6, out + 64 * mu);
}

void tl_gemm_avx2(const GemmArgs& a) { TlWalker<TlAvx2, 2, 1, 4>::walk(a); }

}  // namespace detail
}  // namespace tb
