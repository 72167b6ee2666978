// One body per operation, compiled three times (baseline, AVX2, AVX-512) through always_inline: see float_ops.h for
// why the copies agree bit for bit. The bodies are written so that GCC vectorizes them at any width: __restrict on
// every pointer that cannot overlap (without it GCC 12 kept the gated ReLU^2 of a 2B4T prefill scalar, and RoPE,
// whose old loop walked the heads innermost, 2.5 KiB apart).
#include "model/float_ops.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/cpu_features.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#define TB_INLINE inline __attribute__((always_inline))

namespace tb {
namespace {

// A float dot product in 16 independent lanes, summed in a fixed order: it vectorizes on any target (one scalar
// chain of dependent adds kept prefill attention scores at ~3 GFLOP/s, a quarter of a 2B4T prefill token's time),
// and the result depends only on the inputs, never on threads or vector width.
TB_INLINE float dot16(const float* __restrict a, const float* __restrict b, int64_t n) {
  float acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) acc[j] += a[i + j] * b[i + j];
  float s = 0.0f;
  for (int j = 0; j < 16; ++j) s += acc[j];
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

TB_INLINE void rmsnorm_body(const float* __restrict x, const float* __restrict w, int64_t n, float eps,
                            float* __restrict y) {
  // Any fixed summation order will do: the comparison with the reference (harness/crosscheck.h) counts the flips
  // that rounding differences cause and holds everything else to bounds that do not depend on it.
  const float ss = dot16(x, x, n);
  const float r = 1.0f / std::sqrt(ss / float(n) + eps);
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * r * w[i];
}

// Choices made on the bits. GCC 12 keeps a select on a float compare (c ? a : b) as a branch below AVX-512
// ("control flow in loop"), so the loop around it stayed scalar, with a branch per element, on SSE2, AVX2 and
// NEON: the gated ReLU^2 took 1.8 ms of a 2B4T decode token on a Zen 5's AVX2 path, against 0.2 ms on its
// AVX-512 path. The same choice made with an all-ones or all-zero mask on the bits vectorizes at every width and
// picks the same values.
TB_INLINE uint32_t bits_of(float x) {
  uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}
TB_INLINE float float_of(uint32_t b) {
  float x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}
TB_INLINE uint32_t mask_if(bool c) { return 0u - uint32_t(c); }

TB_INLINE void relu2_body(float* __restrict g, const float* __restrict u, int64_t n) {
  const uint32_t inf = bits_of(INFINITY);
  for (int64_t i = 0; i < n; ++i) {
    // r = g > 0 ? g : 0 (NaN -> 0: g > 0 is false). g > 0 exactly when its bits less one are below those of +inf:
    // +0 wraps to the top, negatives and NaNs are above.
    const uint32_t b = bits_of(g[i]);
    const float r = float_of(b & mask_if(b - 1u < inf));
    g[i] = r * r * u[i];
  }
}

TB_INLINE void silu_body(float* __restrict g, const float* __restrict u, int64_t n) {
  for (int64_t i = 0; i < n; ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

TB_INLINE void rope_body(float* x, const float* __restrict c, const float* __restrict s, int64_t nheads, int64_t d) {
  const int64_t half = d / 2;
  for (int64_t h = 0; h < nheads; ++h) {
    float* __restrict lo = x + h * d;  // dimensions [0, half) and [half, d) of a head do not overlap
    float* __restrict hi = lo + half;
    for (int64_t i = 0; i < half; ++i) {
      const float a = lo[i], b = hi[i];
      lo[i] = a * c[i] - b * s[i];
      hi[i] = a * s[i] + b * c[i];
    }
  }
}

TB_INLINE void add_body(float* __restrict x, const float* __restrict a, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] += a[i];
}

// e^x for the softmax's x = score - max <= 0, within 2 ulp of the exact value, in plain float operations that
// vectorize at any width (std::exp is a library call per element: a 2B4T prefill spent 0.5 ms of its 7.4 ms per
// token in it). x = n ln2 + r with n = round(x / ln2) (the 1.5 * 2^23 trick) and |r| <= ln2 / 2; e^r by its Taylor
// series to r^7 (truncation below 6e-9 relative); 2^n put in the exponent bits. Below -87, e^x < 2^-125: 0 (the
// softmax of a score 87 below the maximum). NaN stays NaN. The same operations on every path: identical results.
TB_INLINE float exp_nonpositive(float x) {
  // below = x < -87 (false for NaN), on the bits (see bits_of): x in (-87, -inf] in float order is one interval of
  // bit patterns, 0xC2AE0001 .. 0xFF800000.
  const uint32_t b = bits_of(x), m87 = bits_of(-87.0f);
  const uint32_t below = mask_if(b - (m87 + 1u) < bits_of(-INFINITY) - m87);
  const float xc = float_of((b & ~below) | (m87 & below));
  const float magic = 12582912.0f;  // 1.5 * 2^23: t's low mantissa bits hold round(xc / ln2)
  const float t = xc * 1.44269504088896341f + magic;
  const float n = t - magic;
  const uint32_t ni = bits_of(t) - 0x4B400000u;  // less the bits of magic: ni = n, in [-126, 0] (two's complement)
  const float r = (xc - n * 0.693145751953125f) - n * 1.42860676533018704e-06f;  // ln2 in two parts
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const float two_n = float_of((ni + 127u) << 23);  // unsigned: a NaN input gives any ni, never UB
  return float_of(bits_of(p * two_n) & ~below);
}

// The sum of n floats in 16 lanes, in a fixed order (as dot16).
TB_INLINE float sum16(const float* __restrict a, int64_t n) {
  float acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) acc[j] += a[i + j];
  float s = 0.0f;
  for (int j = 0; j < 16; ++j) s += acc[j];
  for (; i < n; ++i) s += a[i];
  return s;
}

// The largest of n floats (NaNs ignored; -inf when there is none), in 16 lanes. One std::max after another
// was a dependent vmaxss per score: 42% of the softmax's own samples in a 2B4T prefill (1 thread, Xeon VM).
// The same maximum in any order, but for the sign of a zero (+0 and -0 tie): the softmax then subtracts either
// zero from every score, which changes no difference but a zero's sign, and e^-0 = e^+0 = 1 in exp_nonpositive, so
// its results are the same. The choice is made on a mask (see bits_of), so that it vectorizes at every width.
TB_INLINE float max16(const float* __restrict a, int64_t n) {
  float m[16];
  for (int j = 0; j < 16; ++j) m[j] = -INFINITY;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) {
      const uint32_t take = mask_if(m[j] < a[i + j]);
      m[j] = float_of((bits_of(a[i + j]) & take) | (bits_of(m[j]) & ~take));
    }
  float mx = -INFINITY;
  for (int j = 0; j < 16; ++j) mx = std::max(mx, m[j]);
  for (; i < n; ++i) mx = std::max(mx, a[i]);
  return mx;
}

// attend for nq query heads that share one key/value head (grouped-query attention: the heads h .. h + nq - 1 of
// a group), q and o holding the heads one after another (d floats each), sc their scores (n floats each).
// Every head gets exactly what it would get alone; the heads only share the reads of the cache:
// - scores: the keys in tiles of kTile, every head over a tile before the next tile, so a tile (16 KiB at d = 128)
//   comes from L1 for all but the first head. Keys of a tile whose score comes from `block` (a path's own code,
//   exactly dot16 * scale per key, several keys at a time; none on the baseline path) and the rest from dot16.
// - o = sum_j p_j v_j: from `wsum` where a path has its own (it returns false where it has none, or not for this
//   d), which reads each value row once for several heads; else per head below.
// One head at a time, the cache is read once per head: a 2B4T prefill's attention (4 heads a group) read 128 KiB
// per head and layer from L2 and took 8-10% of a token's time.
template <class Block, class Wsum>
TB_INLINE void attend_body(const float* q, int64_t nq, const float* k, const float* v, int64_t stride, int64_t n,
                           int64_t d, float scale, float* __restrict sc, float* __restrict o, Block block, Wsum wsum) {
  constexpr int64_t kTile = 32;
  for (int64_t t0 = 0; t0 < n; t0 += kTile) {
    const int64_t tn = std::min(kTile, n - t0);
    for (int64_t h = 0; h < nq; ++h) {
      float* __restrict s = sc + h * n + t0;
      const float* qh = q + h * d;
      const int64_t done = block(qh, k + t0 * stride, stride, tn, d, scale, s);
      for (int64_t j = done; j < tn; ++j) s[j] = dot16(qh, k + (t0 + j) * stride, d) * scale;
    }
  }
  for (int64_t h = 0; h < nq; ++h) {
    float* __restrict s = sc + h * n;
    const float mx = max16(s, n);
    for (int64_t j = 0; j < n; ++j) s[j] = exp_nonpositive(s[j] - mx);
    const float den = sum16(s, n);
    for (int64_t j = 0; j < n; ++j) s[j] /= den;
  }
  if (wsum(sc, nq, v, stride, n, d, o)) return;
  for (int64_t h = 0; h < nq; ++h) {
    const float* __restrict p = sc + h * n;
    float* __restrict oh = o + h * d;
    // o = sum_j p_j v_j, added in j order. Four positions per pass over o: one load and one store of o per four
    // products instead of per one (o's store-to-load chain was most of the time), the same additions in the same
    // order.
    for (int64_t i = 0; i < d; ++i) oh[i] = 0.0f;
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
      const float p0 = p[j], p1 = p[j + 1], p2 = p[j + 2], p3 = p[j + 3];
      const float* __restrict v0 = v + j * stride;
      const float* __restrict v1 = v0 + stride;
      const float* __restrict v2 = v1 + stride;
      const float* __restrict v3 = v2 + stride;
      for (int64_t i = 0; i < d; ++i) oh[i] = (((oh[i] + p0 * v0[i]) + p1 * v1[i]) + p2 * v2[i]) + p3 * v3[i];
    }
    for (; j < n; ++j) {
      const float pj = p[j];
      const float* __restrict vv = v + j * stride;
      for (int64_t i = 0; i < d; ++i) oh[i] += pj * vv[i];
    }
  }
}

// The copies. TB_COPY(suffix, attribute) defines the seven entry points of one target.
// Keys several at a time, the same arithmetic as dot16 per key. dot16 leaves a key's 16 lane sums acc[0..15] and
// adds them one after another to 0 (s = ((0 + acc[0]) + acc[1]) + ... + acc[15]): one dependent scalar add after
// another, 16 per key (about 30 instructions with the lane extracts). Here each key's 16 lanes are
// accumulated as dot16 does (products rounded, then added: no FMA), the keys' lane vectors are transposed so that
// lane kk of vector j holds key kk's acc[j], and the 16 vectors are added to 0 in the order j = 0..15: every key
// gets exactly dot16's value, with a vector add per 16 (AVX-512) or 4 (AVX2) keys in place of a scalar add per key.
// Only for d % 16 == 0 (dot16's tail terms come after the lane sum); otherwise dot16. The AVX-512 block also
// takes the last n % 16 keys; AVX2's leaves the last n % 4 to dot16. (Alone this changed little: reading the cache
// once per head from L2 was the cost; see attend_body.)
int64_t no_block(const float*, const float*, int64_t, int64_t, int64_t, float, float*) { return 0; }
bool no_wsum(const float*, int64_t, const float*, int64_t, int64_t, int64_t, float*) { return false; }

#if defined(__x86_64__) && defined(__GNUC__)
// GCC 12's AVX-512 unpack intrinsics pass _mm512_undefined_*(), a self-initialized variable, as the unused merge
// source; -Wmaybe-uninitialized flags it in every caller compiled through a target attribute.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define TB_LO64(x, y) _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(x), _mm512_castps_pd(y)))
#define TB_HI64(x, y) _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(x), _mm512_castps_pd(y)))
__attribute__((target("avx512f"))) int64_t block_avx512(const float* q, const float* k, int64_t stride, int64_t n,
                                                        int64_t d, float scale, float* sc) {
  if (d % 16 != 0) return 0;
  const __m512 vs = _mm512_set1_ps(scale);
  int64_t j0 = 0;
  // The last n % 16 keys too, as a block whose missing keys repeat its last one: each key's lanes see the same
  // operations as in a full block, and only the real keys' scores are stored. (Their dot16 one key at a time was a
  // third of attend's own time in a 2B4T prefill: about 7.5 keys per head and tile of 32.)
  for (; j0 < n; j0 += 16) {
    const int64_t real = std::min<int64_t>(16, n - j0);
    __m512 a[16];
    for (int kk = 0; kk < 16; ++kk) a[kk] = _mm512_setzero_ps();
    const float* kb = k + j0 * stride;
    const float* kr[16];
    for (int kk = 0; kk < 16; ++kk) kr[kk] = kb + std::min<int64_t>(kk, real - 1) * stride;
    for (int64_t i = 0; i < d; i += 16) {
      const __m512 qv = _mm512_loadu_ps(q + i);
      for (int kk = 0; kk < 16; ++kk) a[kk] = _mm512_add_ps(a[kk], _mm512_mul_ps(qv, _mm512_loadu_ps(kr[kk] + i)));
    }
    // 16 x 16 transpose, so that r[j] lane kk = a[kk] lane j. In 128-bit blocks: 4 x 4 transposes within the blocks
    // (unpack), then the blocks (shuffle_f32x4).
    __m512 t[16], u[16];
    for (int r = 0; r < 16; r += 2) {  // block m of t[r]: lanes 4m, 4m+1 of keys r, r+1; of t[r+1]: lanes 4m+2, 4m+3
      t[r] = _mm512_unpacklo_ps(a[r], a[r + 1]);
      t[r + 1] = _mm512_unpackhi_ps(a[r], a[r + 1]);
    }
    for (int r = 0; r < 16; r += 4) {  // block m of u[r + c]: lane 4m + c of keys r .. r+3
      u[r] = TB_LO64(t[r], t[r + 2]);
      u[r + 1] = TB_HI64(t[r], t[r + 2]);
      u[r + 2] = TB_LO64(t[r + 1], t[r + 3]);
      u[r + 3] = TB_HI64(t[r + 1], t[r + 3]);
    }
    // shuffle_f32x4(x, y, imm): blocks 0, 1 from x, 2, 3 from y; 0x88 takes blocks 0 and 2 of each, 0xDD 1 and 3.
    __m512 r[16];
    for (int c = 0; c < 4; ++c) {
      const __m512 x0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88), x1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);
      const __m512 y0 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88);
      const __m512 y1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
      r[c] = _mm512_shuffle_f32x4(x0, y0, 0x88);       // blocks 0 of keys 0-3, 4-7, 8-11, 12-15: lane c
      r[8 + c] = _mm512_shuffle_f32x4(x0, y0, 0xDD);   // blocks 2: lane 8 + c
      r[4 + c] = _mm512_shuffle_f32x4(x1, y1, 0x88);   // blocks 1: lane 4 + c
      r[12 + c] = _mm512_shuffle_f32x4(x1, y1, 0xDD);  // blocks 3: lane 12 + c
    }
    __m512 s = _mm512_setzero_ps();
    for (int j = 0; j < 16; ++j) s = _mm512_add_ps(s, r[j]);
    _mm512_mask_storeu_ps(sc + j0, __mmask16((1u << real) - 1u), _mm512_mul_ps(s, vs));
  }
  return n;
}
#undef TB_LO64
#undef TB_HI64
#pragma GCC diagnostic pop

__attribute__((target("avx2"))) int64_t block_avx2(const float* q, const float* k, int64_t stride, int64_t n, int64_t d,
                                                   float scale, float* sc) {
  if (d % 16 != 0) return 0;
  const __m128 vs = _mm_set1_ps(scale);
  int64_t j0 = 0;
  for (; j0 + 4 <= n; j0 += 4) {
    __m256 lo[4], hi[4];  // lanes 0..7 and 8..15 of four keys
    for (int kk = 0; kk < 4; ++kk) lo[kk] = hi[kk] = _mm256_setzero_ps();
    const float* kb = k + j0 * stride;
    for (int64_t i = 0; i < d; i += 16) {
      const __m256 q0 = _mm256_loadu_ps(q + i), q1 = _mm256_loadu_ps(q + i + 8);
      for (int kk = 0; kk < 4; ++kk) {
        lo[kk] = _mm256_add_ps(lo[kk], _mm256_mul_ps(q0, _mm256_loadu_ps(kb + kk * stride + i)));
        hi[kk] = _mm256_add_ps(hi[kk], _mm256_mul_ps(q1, _mm256_loadu_ps(kb + kk * stride + i + 8)));
      }
    }
    __m128 s = _mm_setzero_ps();
    for (const __m256* r : {lo, hi}) {
      // 4 x 8 transpose: w[c] holds lane c of the four keys in its low half, lane 4 + c in its high half.
      const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
      const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
      const __m256 w[4] = {_mm256_shuffle_ps(t0, t2, 0x44), _mm256_shuffle_ps(t0, t2, 0xEE),
                           _mm256_shuffle_ps(t1, t3, 0x44), _mm256_shuffle_ps(t1, t3, 0xEE)};
      for (int c = 0; c < 4; ++c) s = _mm_add_ps(s, _mm256_castps256_ps128(w[c]));
      for (int c = 0; c < 4; ++c) s = _mm_add_ps(s, _mm256_extractf128_ps(w[c], 1));
    }
    _mm_storeu_ps(sc + j0, _mm_mul_ps(s, vs));
  }
  return j0;
}
// o = sum_j p_j v_j with o in registers, H heads at a time: C vectors of each head's o take every key's product
// in j order, one add each, and are stored once; each value vector is loaded once for the H heads. The generic loop
// keeps o in memory and reloads it every four keys; per element both add the same products in the same order, so o
// is the same bit for bit.
template <int H, int C>
__attribute__((target("avx512f"))) inline void wsum_run_avx512(const float* p, int64_t n, const float* v,
                                                               int64_t stride, float* o, int64_t d) {
  __m512 acc[H][C];
  for (int h = 0; h < H; ++h)
    for (int c = 0; c < C; ++c) acc[h][c] = _mm512_setzero_ps();
  for (int64_t j = 0; j < n; ++j) {
    __m512 vj[C];
    for (int c = 0; c < C; ++c) vj[c] = _mm512_loadu_ps(v + j * stride + 16 * c);
    for (int h = 0; h < H; ++h) {
      const __m512 pj = _mm512_set1_ps(p[h * n + j]);
      for (int c = 0; c < C; ++c) acc[h][c] = _mm512_add_ps(acc[h][c], _mm512_mul_ps(pj, vj[c]));
    }
  }
  for (int h = 0; h < H; ++h)
    for (int c = 0; c < C; ++c) _mm512_storeu_ps(o + h * d + 16 * c, acc[h][c]);
}
template <int H>
__attribute__((target("avx512f"))) inline void wsum_heads_avx512(const float* p, int64_t n, const float* v,
                                                                 int64_t stride, int64_t d, float* o) {
  for (int64_t i = 0; i < d; i += 64) {  // 4 vectors (64 dimensions) at a time: 16 accumulators for 4 heads
    switch (std::min<int64_t>(4, (d - i) / 16)) {
      case 1: wsum_run_avx512<H, 1>(p, n, v + i, stride, o + i, d); break;
      case 2: wsum_run_avx512<H, 2>(p, n, v + i, stride, o + i, d); break;
      case 3: wsum_run_avx512<H, 3>(p, n, v + i, stride, o + i, d); break;
      default: wsum_run_avx512<H, 4>(p, n, v + i, stride, o + i, d); break;
    }
  }
}
__attribute__((target("avx512f"))) bool wsum_avx512(const float* p, int64_t nq, const float* v, int64_t stride,
                                                    int64_t n, int64_t d, float* o) {
  if (d % 16 != 0) return false;
  for (int64_t h = 0; h < nq; h += 4) {
    const float* ph = p + h * n;
    float* oh = o + h * d;
    switch (std::min<int64_t>(4, nq - h)) {
      case 1: wsum_heads_avx512<1>(ph, n, v, stride, d, oh); break;
      case 2: wsum_heads_avx512<2>(ph, n, v, stride, d, oh); break;
      case 3: wsum_heads_avx512<3>(ph, n, v, stride, d, oh); break;
      default: wsum_heads_avx512<4>(ph, n, v, stride, d, oh); break;
    }
  }
  return true;
}
template <int H, int C>
__attribute__((target("avx2"))) inline void wsum_run_avx2(const float* p, int64_t n, const float* v, int64_t stride,
                                                          float* o, int64_t d) {
  __m256 acc[H][C];
  for (int h = 0; h < H; ++h)
    for (int c = 0; c < C; ++c) acc[h][c] = _mm256_setzero_ps();
  for (int64_t j = 0; j < n; ++j) {
    __m256 vj[C];
    for (int c = 0; c < C; ++c) vj[c] = _mm256_loadu_ps(v + j * stride + 8 * c);
    for (int h = 0; h < H; ++h) {
      const __m256 pj = _mm256_set1_ps(p[h * n + j]);
      for (int c = 0; c < C; ++c) acc[h][c] = _mm256_add_ps(acc[h][c], _mm256_mul_ps(pj, vj[c]));
    }
  }
  for (int h = 0; h < H; ++h)
    for (int c = 0; c < C; ++c) _mm256_storeu_ps(o + h * d + 8 * c, acc[h][c]);
}
template <int H>
__attribute__((target("avx2"))) inline void wsum_heads_avx2(const float* p, int64_t n, const float* v, int64_t stride,
                                                            int64_t d, float* o) {
  for (int64_t i = 0; i < d; i += 16) {  // 2 vectors (16 dimensions) at a time: 8 accumulators for 4 heads
    if (d - i >= 16) wsum_run_avx2<H, 2>(p, n, v + i, stride, o + i, d);
    else wsum_run_avx2<H, 1>(p, n, v + i, stride, o + i, d);
  }
}
__attribute__((target("avx2"))) bool wsum_avx2(const float* p, int64_t nq, const float* v, int64_t stride, int64_t n,
                                               int64_t d, float* o) {
  if (d % 8 != 0) return false;
  for (int64_t h = 0; h < nq; h += 4) {
    const float* ph = p + h * n;
    float* oh = o + h * d;
    switch (std::min<int64_t>(4, nq - h)) {
      case 1: wsum_heads_avx2<1>(ph, n, v, stride, d, oh); break;
      case 2: wsum_heads_avx2<2>(ph, n, v, stride, d, oh); break;
      case 3: wsum_heads_avx2<3>(ph, n, v, stride, d, oh); break;
      default: wsum_heads_avx2<4>(ph, n, v, stride, d, oh); break;
    }
  }
  return true;
}
#endif

#define TB_COPY(sfx, attr)                                                                                         \
  attr void rmsnorm_##sfx(const float* x, const float* w, int64_t n, float eps, float* y) {                       \
    rmsnorm_body(x, w, n, eps, y);                                                                                 \
  }                                                                                                                \
  attr void relu2_##sfx(float* g, const float* u, int64_t n) { relu2_body(g, u, n); }                              \
  attr void silu_##sfx(float* g, const float* u, int64_t n) { silu_body(g, u, n); }                                \
  attr void rope_##sfx(float* x, const float* c, const float* s, int64_t nh, int64_t d) { rope_body(x, c, s, nh, d); } \
  attr void add_##sfx(float* x, const float* a, int64_t n) { add_body(x, a, n); }                                  \
  attr void attend_##sfx(const float* q, const float* k, const float* v, int64_t stride, int64_t n, int64_t d,     \
                         float scale, float* sc, float* o) {                                                       \
    attend_body(q, 1, k, v, stride, n, d, scale, sc, o, block_##sfx, wsum_##sfx);                                  \
  }                                                                                                                \
  attr void attend_heads_##sfx(const float* q, int64_t nq, const float* k, const float* v, int64_t stride,         \
                               int64_t n, int64_t d, float scale, float* sc, float* o) {                           \
    attend_body(q, nq, k, v, stride, n, d, scale, sc, o, block_##sfx, wsum_##sfx);                                 \
  }

#define block_base no_block
#define wsum_base no_wsum
TB_COPY(base, )
const FloatOps kBase = {"baseline", rmsnorm_base, relu2_base, silu_base, rope_base, add_base, attend_base,
                       attend_heads_base};

#if defined(__x86_64__) && defined(__GNUC__)
// Plain "avx2" and "avx512f": neither brings FMA into the code (no fma target; -ffp-contract=off besides).
TB_COPY(avx2, __attribute__((target("avx2"))))
TB_COPY(avx512, __attribute__((target("avx512f"))))
const FloatOps kAvx2 = {"avx2", rmsnorm_avx2, relu2_avx2, silu_avx2, rope_avx2, add_avx2, attend_avx2,
                       attend_heads_avx2};
const FloatOps kAvx512 = {"avx512", rmsnorm_avx512, relu2_avx512, silu_avx512, rope_avx512, add_avx512,
                         attend_avx512, attend_heads_avx512};
#endif

}  // namespace

const FloatOps& float_ops() {
#if defined(__x86_64__) && defined(__GNUC__)
  const uint32_t a = allowed_isas();
  if (a & uint32_t(Isa::avx512vnni)) return kAvx512;
  if (a & uint32_t(Isa::avx2)) return kAvx2;
#endif
  return kBase;  // AArch64: the baseline already has NEON, which the compiler uses
}

int float_ops_paths(const FloatOps* out[3]) {
  int n = 0;
  out[n++] = &kBase;
#if defined(__x86_64__) && defined(__GNUC__)
  if (cpu_supports(Isa::avx2)) out[n++] = &kAvx2;
  if (cpu_supports(Isa::avx512vnni)) out[n++] = &kAvx512;
#endif
  return n;
}

}  // namespace tb
