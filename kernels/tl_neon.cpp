// TL1 and TL2 on NEON (layout: see tl_format.cpp and tl_layout.h). Per unit and group: two 16-byte
// loads (rows 0-15, 16-31); tbl (vqtbl1q_u8) looks up the low-byte and high-byte tables; zip1/zip2
// rejoin them into int16 lanes in row order. TL2 signs, the per-row count of negatives and the int16
// bounds per K tile as in tl_avx2.cpp; widened to int32 after each K tile.
#include <arm_neon.h>

#include "kernels/tl_layout.h"
#include "kernels/variants.h"

namespace tb {
namespace detail {
namespace {

// Sign bits of rows 16h .. 16h + 15 (bit r = row r) -> 16 bytes, 0xFF where set.
inline uint8x16_t expand_signs(const uint8_t* p, int h) {
  uint32_t m;
  __builtin_memcpy(&m, p, 4);
  static const uint8_t kSel[2][16] = {{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1},
                                      {2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3}};
  static const uint8_t kBits[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  const uint8x16_t y = vqtbl1q_u8(vreinterpretq_u8_u32(vdupq_n_u32(m)), vld1q_u8(kSel[h]));
  return vtstq_u8(y, vld1q_u8(kBits));
}

inline int16x8_t rejoin_lo(uint8x16_t l, uint8x16_t h) { return vreinterpretq_s16_u8(vzip1q_u8(l, h)); }
inline int16x8_t rejoin_hi(uint8x16_t l, uint8x16_t h) { return vreinterpretq_s16_u8(vzip2q_u8(l, h)); }

struct TlNeon {
  template <int G, int TT, bool kSigned>
  static void tile(const uint8_t* const (&w)[G], int64_t U, const uint8_t* const (&tab)[TT],
                   int32_t (&acc)[G][TT][32], int64_t next) {
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    int16x8_t a[G][TT][4];
    int8x16_t cnt[G][2];
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) {
      cnt[g][0] = cnt[g][1] = vdupq_n_s8(0);
#pragma GCC unroll 8
      for (int i = 0; i < TT; ++i)
#pragma GCC unroll 8
        for (int j = 0; j < 4; ++j) a[g][i][j] = vdupq_n_s16(0);
    }
    for (int64_t u = 0; u < U; ++u) {
      uint8x16_t lo[G][2], hi[G][2], sa[G][2], sb[G][2];
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) {
        if (TT == 1 && (u & 1) == 0) __builtin_prefetch(w[g] + next + 32 * u);
        if (TT == 1 && kSigned && (u & 7) == 0) __builtin_prefetch(w[g] + next + 32 * U + 8 * u);
#pragma GCC unroll 8
        for (int h = 0; h < 2; ++h) {
          const uint8x16_t v = vld1q_u8(w[g] + 32 * u + 16 * h);
          lo[g][h] = vandq_u8(v, m4);
          hi[g][h] = vshrq_n_u8(v, 4);
          if (kSigned) {
            sa[g][h] = expand_signs(w[g] + tl_sign_at(U, u, 0), h);
            sb[g][h] = expand_signs(w[g] + tl_sign_at(U, u, 1), h);
            cnt[g][h] = vaddq_s8(cnt[g][h], vreinterpretq_s8_u8(vaddq_u8(sa[g][h], sb[g][h])));
          }
        }
      }
#pragma GCC unroll 8
      for (int i = 0; i < TT; ++i) {
        const uint8_t* t = tab[i] + 64 * u;
        const uint8x16_t la = vld1q_u8(t), ha = vld1q_u8(t + 16), lb = vld1q_u8(t + 32), hb = vld1q_u8(t + 48);
#pragma GCC unroll 8
        for (int g = 0; g < G; ++g)
#pragma GCC unroll 8
          for (int h = 0; h < 2; ++h) {
            uint8x16_t ea = vqtbl1q_u8(la, lo[g][h]), fa = vqtbl1q_u8(ha, lo[g][h]);
            uint8x16_t eb = vqtbl1q_u8(lb, hi[g][h]), fb = vqtbl1q_u8(hb, hi[g][h]);
            if (kSigned) {
              ea = veorq_u8(ea, sa[g][h]);
              fa = veorq_u8(fa, sa[g][h]);
              eb = veorq_u8(eb, sb[g][h]);
              fb = veorq_u8(fb, sb[g][h]);
            }
            a[g][i][2 * h] = vaddq_s16(a[g][i][2 * h], vaddq_s16(rejoin_lo(ea, fa), rejoin_lo(eb, fb)));
            a[g][i][2 * h + 1] = vaddq_s16(a[g][i][2 * h + 1], vaddq_s16(rejoin_hi(ea, fa), rejoin_hi(eb, fb)));
          }
      }
    }
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) {
      int16x8_t c[4] = {vdupq_n_s16(0), vdupq_n_s16(0), vdupq_n_s16(0), vdupq_n_s16(0)};
      if (kSigned)  // cnt: -(negative entries) per row
#pragma GCC unroll 8
        for (int h = 0; h < 2; ++h) {
          c[2 * h] = vmovl_s8(vget_low_s8(cnt[g][h]));
          c[2 * h + 1] = vmovl_high_s8(cnt[g][h]);
        }
#pragma GCC unroll 8
      for (int i = 0; i < TT; ++i)
#pragma GCC unroll 8
        for (int j = 0; j < 4; ++j) {
          const int16x8_t v = vsubq_s16(a[g][i][j], c[j]);
          int32_t* p = acc[g][i] + 8 * j;
          vst1q_s32(p, vaddq_s32(vld1q_s32(p), vmovl_s16(vget_low_s16(v))));
          vst1q_s32(p + 4, vaddq_s32(vld1q_s32(p + 4), vmovl_high_s16(v)));
        }
    }
  }
};

}  // namespace

void tl_gemm_neon(const GemmArgs& a) { TlWalker<TlNeon, 2, 1, 2>::walk(a); }

}  // namespace detail
}  // namespace tb
