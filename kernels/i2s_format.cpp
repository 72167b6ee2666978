// Format I2_S (bitnet.cpp's layout, docs/reference.md §2.2) and its scalar kernel.
// packed: N rows x (K/128) blocks x 32 bytes; byte g holds codes of w[g], w[32+g], w[64+g], w[96+g]
//         in bits 7..6, 5..4, 3..2, 1..0 (code c = w + 1); then a 32-byte tail whose first 4 bytes
//         are the fp32 tensor scale (as in a GGUF file, so tensors load by copy).
// The SIMD paths take the dot product on unsigned codes: sum(c * q) - sum(q) = sum(w * q); the scalar
// path decodes to w directly.
#include <cstring>
#include <string>

#include "kernels/kernel.h"
#include "kernels/variants.h"

namespace tb {
namespace detail {
namespace {

std::string i2s_check(int64_t, int64_t K) {
  if (K % 128 != 0) return "I2_S needs K % 128 == 0 (blocks of 128 weights), K=" + std::to_string(K);
  return "";
}
size_t i2s_bytes(int64_t N, int64_t K) { return size_t(N * K / 4 + 32); }

void i2s_pack(const int8_t* w, int64_t N, int64_t K, float scale, uint8_t* out) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t b = 0; b < K / 128; ++b) {
      const int8_t* src = w + n * K + b * 128;
      uint8_t* dst = out + n * (K / 4) + b * 32;
      for (int g = 0; g < 32; ++g)
        dst[g] = uint8_t(((src[g] + 1) << 6) | ((src[32 + g] + 1) << 4) | ((src[64 + g] + 1) << 2) | (src[96 + g] + 1));
    }
  std::memcpy(out + N * K / 4, &scale, sizeof(float));
}

void i2s_unpack(const uint8_t* p, int64_t N, int64_t K, int8_t* w) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t b = 0; b < K / 128; ++b) {
      const uint8_t* src = p + n * (K / 4) + b * 32;
      int8_t* dst = w + n * K + b * 128;
      for (int g = 0; g < 32; ++g)
        for (int j = 0; j < 4; ++j) {
          const int c = (src[g] >> (6 - 2 * j)) & 3;
          if (c == 3)  // bitnet.cpp's multi-threaded quantizer is known to write such tensors (docs/reference.md §2.2)
            throw Error("I2_S data looks corrupt: unused code 11 at row " + std::to_string(n) + ", column " +
                        std::to_string(b * 128 + 32 * j + g));
          dst[32 * j + g] = int8_t(c - 1);
        }
    }
}

}  // namespace

const Format kFormatI2S = {"i2s", "I2_S (bitnet.cpp): 2-bit codes w+1, blocks of 128 weights in 32 bytes", 2.0,
                           "K % 128 == 0", &i2s_check, &i2s_bytes, &i2s_pack, &i2s_unpack};

// Portable path. Each 128-weight block of a row is decoded once to {-1, 0, +1} and reused by up to
// eight tokens (the GEMM case), so decoding is not repeated per token.
void i2s_gemm_scalar(const GemmArgs& g) {
  constexpr int kTok = 8;
  const int64_t K = g.K, row_bytes = K / 4;
  for (int64_t t0 = g.t0; t0 < g.t1; t0 += kTok) {
    const int nt = int(g.t1 - t0 < kTok ? g.t1 - t0 : kTok);
    for (int64_t n = g.n0; n < g.n1; ++n) {
      const uint8_t* row = g.w + n * row_bytes;
      int32_t acc[kTok] = {0};
      for (int64_t b = 0; b < K / 128; ++b) {
        int8_t w[128];
        for (int i = 0; i < 32; ++i) {
          const int v = row[b * 32 + i];
          w[i] = int8_t((v >> 6) - 1);
          w[32 + i] = int8_t(((v >> 4) & 3) - 1);
          w[64 + i] = int8_t(((v >> 2) & 3) - 1);
          w[96 + i] = int8_t((v & 3) - 1);
        }
        for (int j = 0; j < nt; ++j) {
          const int8_t* x = reinterpret_cast<const int8_t*>(g.x + (t0 + j) * g.ldx) + b * 128;
          int32_t s = 0;
          for (int k = 0; k < 128; ++k) s += int32_t(w[k]) * x[k];
          acc[j] += s;
        }
      }
      for (int j = 0; j < nt; ++j) g.c[(t0 + j - g.t0) * int64_t(g.ldc) + (n - g.n0)] = acc[j];
    }
  }
}

}  // namespace detail
}  // namespace tb
