// Format TQ1 (ternbench's own layout of llama.cpp's TQ1_0 idea: five ternary digits per byte, 1.6 bits per
// weight, 20% fewer bytes than I2_S) and its scalar kernel.
//
// packed: N rows x G = ceil(K / 160) groups x 32 bytes; then a 32-byte tail whose first 4 bytes are the fp32
//         tensor scale. Byte b of group g holds the codes c_j = w[160g + 32j + b] + 1, j = 0..4, as the base-3
//         number v = c_0 3^4 + c_1 3^3 + c_2 3^2 + c_3 3 + c_4 (0..242), stored as q = ceil(256 v / 243).
//         A last group with fewer than 160 weights (K % 160 = 32m) stores its m digits and code 1 (w = 0)
//         in the others.
// Decoding digit j: x_j = 3^j q mod 256 (so x_{j+1} = 3 x_j mod 256, byte additions), c_j = floor(3 x_j / 256),
// that is c_j = [x_j >= 86] + [x_j >= 171]. Scaling v by 256/243 puts v's first digit in the top of the byte
// and each multiplication by 3 shifts the next one up; rounding up keeps the error of every shift below one
// step (checked for all 243 values by the test Tq1.EveryDigitCombinationPacksAndDecodes).
// The SIMD paths take the dot product on the unsigned codes, as I2_S does: sum(c * q) - sum(q) = sum(w * q),
// with activations zero-padded to whole groups (tq1_prepare_*) so that padding digits add nothing.
#include <cstring>
#include <string>

#include "kernels/kernel.h"
#include "kernels/variants.h"

namespace tb {
namespace detail {
namespace {

constexpr int64_t kGroup = 160;  // weights per 32-byte group

std::string tq1_check(int64_t, int64_t K) {
  if (K % 32 != 0) return "TQ1 needs K % 32 == 0 (digits of 32 weights), K=" + std::to_string(K);
  return "";
}
int64_t groups(int64_t K) { return (K + kGroup - 1) / kGroup; }
size_t tq1_bytes(int64_t N, int64_t K) { return size_t(N * 32 * groups(K) + 32); }

// Digits of group g present in a row of K weights.
int digits(int64_t K, int64_t g) {
  const int64_t left = (K - kGroup * g) / 32;
  return int(left < 5 ? left : 5);
}

void tq1_pack(const int8_t* w, int64_t N, int64_t K, float scale, uint8_t* out) {
  const int64_t G = groups(K);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t g = 0; g < G; ++g) {
      const int m = digits(K, g);
      const int8_t* src = w + n * K + kGroup * g;
      uint8_t* dst = out + (n * G + g) * 32;
      for (int b = 0; b < 32; ++b) {
        int v = 0;
        for (int j = 0; j < 5; ++j) v = 3 * v + (j < m ? src[32 * j + b] + 1 : 1);
        dst[b] = uint8_t((256 * v + 242) / 243);
      }
    }
  std::memcpy(out + N * G * 32, &scale, sizeof(float));
}

inline int digit_of(uint8_t x) { return (x >= 86) + (x >= 171); }

void tq1_unpack(const uint8_t* p, int64_t N, int64_t K, int8_t* w) {
  const int64_t G = groups(K);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t g = 0; g < G; ++g) {
      const int m = digits(K, g);
      const uint8_t* src = p + (n * G + g) * 32;
      int8_t* dst = w + n * K + kGroup * g;
      for (int b = 0; b < 32; ++b) {
        uint8_t x = src[b];
        for (int j = 0; j < m; ++j, x = uint8_t(3 * x)) dst[32 * j + b] = int8_t(digit_of(x) - 1);
      }
    }
}

}  // namespace

const Format kFormatTQ1 = {"tq1",
                           "TQ1 (TQ1_0-style): 5 base-3 digits per byte, groups of 160 weights in 32 bytes",
                           1.6,
                           "K % 32 == 0",
                           &tq1_check,
                           &tq1_bytes,
                           &tq1_pack,
                           &tq1_unpack};

// AVX2 and NEON: the activations of a token, zero-padded to whole groups.
size_t tq1_padded_bytes(int64_t K) { return size_t(groups(K) * kGroup); }
void tq1_prepare_padded(const int8_t* q, int64_t K, uint8_t* out) {
  std::memcpy(out, q, size_t(K));
  std::memset(out + K, 0, tq1_padded_bytes(K) - size_t(K));
}

// Portable path: a group of a row is decoded once to {-1, 0, +1} and reused by up to eight tokens; it reads
// the activations as they are (no padding: a short last group stops at its last digit).
void tq1_gemm_scalar(const GemmArgs& g) {
  constexpr int kTok = 8;
  const int64_t K = g.K, G = groups(K);
  for (int64_t t0 = g.t0; t0 < g.t1; t0 += kTok) {
    const int nt = int(g.t1 - t0 < kTok ? g.t1 - t0 : kTok);
    for (int64_t n = g.n0; n < g.n1; ++n) {
      const uint8_t* row = g.w + n * 32 * G;
      int32_t acc[kTok] = {0};
      for (int64_t gi = 0; gi < G; ++gi) {
        const int m = digits(K, gi), len = 32 * m;
        int8_t w[kGroup];
        for (int b = 0; b < 32; ++b) {
          uint8_t x = row[32 * gi + b];
          for (int j = 0; j < m; ++j, x = uint8_t(3 * x)) w[32 * j + b] = int8_t(digit_of(x) - 1);
        }
        for (int i = 0; i < nt; ++i) {
          const int8_t* xa = reinterpret_cast<const int8_t*>(g.x + (t0 + i) * g.ldx) + kGroup * gi;
          int32_t s = 0;
          for (int k = 0; k < len; ++k) s += int32_t(w[k]) * xa[k];
          acc[i] += s;
        }
      }
      for (int i = 0; i < nt; ++i) g.c[(t0 + i - g.t0) * int64_t(g.ldc) + (n - g.n0)] = acc[i];
    }
  }
}

}  // namespace detail
}  // namespace tb
