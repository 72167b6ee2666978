// Format TLW (ternbench's own): table lookups with 16-bit entries, three ternary weights per 5-bit index, one
// 32-entry int16 table per token and group of three activations. AVX-512 looks up 32 rows per instruction with
// vpermw (a 32-word table in one register, the rows' indices in another): 32 x 3 = 96 exact multiply-adds per
// lookup and one vpaddw, where vpdpbusd does 64. No multiply at all: the int8 compute ceiling does not bind it.
//
// packed: ceil(N / 32) blocks of 32 rows (rows past N hold zero weights), each J = ceil(K / 9) words x 32 rows x
//         16 bits: word j of row r (bytes 64 j + 2 r of the block, little-endian) holds the indices of its groups
//         3j, 3j+1, 3j+2 in bits 0-4, 5-9 and 10-14 (bit 15 is 0). Group g is weights 3g..3g+2 (w = 0 past K), its
//         index i = (w0 + 1) + 3 (w1 + 1) + 9 (w2 + 1), 0..26. 16 bits per 9 weights: 1.78 bits per weight.
// prepared activations of a token: 3J tables x 32 int16: entry e < 27 of table g is sum_i (digit_i(e) - 1) x[3g+i]
//         (x = 0 past K), entries 27-31 are 0. |entry| <= 3 x 128 = 384.
// Exactness: a lookup is the exact group sum; the SIMD path adds 28 words (84 lookups, |sum| <= 32256 < 2^15)
// per row in int16, then widens into the int32 result. No activation sum or offset is involved.
#include <cstring>
#include <string>

#include "kernels/kernel.h"
#include "kernels/variants.h"

namespace tb {
namespace detail {
namespace {

std::string tlw_check(int64_t, int64_t) { return ""; }

size_t tlw_bytes(int64_t N, int64_t K) { return size_t(tlw_blocks(N) * tlw_words(K) * 64); }

int group_index(const int8_t* row, int64_t K, int64_t k0) {
  int idx = 0, p = 1;
  for (int i = 0; i < 3; ++i, p *= 3) idx += p * ((k0 + i < K ? row[k0 + i] : 0) + 1);
  return idx;
}

void tlw_pack(const int8_t* w, int64_t N, int64_t K, float, uint8_t* out) {
  const int64_t J = tlw_words(K), B = tlw_blocks(N);
  constexpr int kZeroGroup = 1 + 3 + 9;  // the index of (0, 0, 0): rows past N
  for (int64_t b = 0; b < B; ++b)
    for (int r = 0; r < 32; ++r) {
      const int64_t n = 32 * b + r;
      for (int64_t j = 0; j < J; ++j) {
        uint16_t word = 0;
        for (int s = 0; s < 3; ++s) {
          const int idx = n < N ? group_index(w + n * K, K, 9 * j + 3 * s) : kZeroGroup;
          word = uint16_t(word | (idx << (5 * s)));
        }
        std::memcpy(out + (b * J + j) * 64 + 2 * r, &word, 2);
      }
    }
}

void tlw_unpack(const uint8_t* p, int64_t N, int64_t K, int8_t* w) {
  const int64_t J = tlw_words(K);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t j = 0; j < J; ++j) {
      uint16_t word;
      std::memcpy(&word, p + ((n / 32) * J + j) * 64 + 2 * (n % 32), 2);
      for (int s = 0; s < 3; ++s) {
        int idx = (word >> (5 * s)) & 31;
        for (int i = 0; i < 3; ++i, idx /= 3) {
          const int64_t k = 9 * j + 3 * s + i;
          if (k < K) w[n * K + k] = int8_t(idx % 3 - 1);
        }
      }
    }
}

}  // namespace

int64_t tlw_words(int64_t K) { return (K + 8) / 9; }
int64_t tlw_blocks(int64_t N) { return (N + 31) / 32; }

const Format kFormatTLW = {"tlw",
                           "TLW (ternbench): 5-bit index per 3 weights, 3 per 16-bit word, 32 rows interleaved; "
                           "exact int16 tables of 27 sums per token, vpermw looks up 32 rows",
                           16.0 / 9.0,
                           "any N, K (rows padded to 32, K to 9)",
                           &tlw_check,
                           &tlw_bytes,
                           &tlw_pack,
                           &tlw_unpack,
                           /*oracle=*/false,
                           /*lookup_tiled=*/false,
                           /*lookup=*/true};

size_t tlw_prepared_bytes(int64_t K) { return size_t(tlw_words(K) * 3 * 64); }

void tlw_prepare(const int8_t* q, int64_t K, uint8_t* out) {
  const int64_t G = 3 * tlw_words(K);
  for (int64_t g = 0; g < G; ++g) {
    int x[3];
    for (int i = 0; i < 3; ++i) x[i] = 3 * g + i < K ? q[3 * g + i] : 0;
    int16_t t[32] = {0};
    for (int e = 0; e < 27; ++e) t[e] = int16_t((e % 3 - 1) * x[0] + (e / 3 % 3 - 1) * x[1] + (e / 9 - 1) * x[2]);
    std::memcpy(out + 64 * g, t, 64);
  }
}

// Portable path: the same tables, one lookup per row, group and token, in int32.
void tlw_gemm_scalar(const GemmArgs& a) {
  const int64_t J = tlw_words(a.K);
  for (int64_t t = a.t0; t < a.t1; ++t) {
    const uint8_t* tab = a.x + t * a.ldx;
    for (int64_t n = a.n0; n < a.n1; ++n) {
      const uint8_t* wb = a.w + (n / 32) * J * 64 + 2 * (n % 32);
      int32_t acc = 0;
      for (int64_t j = 0; j < J; ++j) {
        uint16_t word;
        std::memcpy(&word, wb + 64 * j, 2);
        for (int s = 0; s < 3; ++s) {
          int16_t e;
          std::memcpy(&e, tab + 64 * (3 * j + s) + 2 * ((word >> (5 * s)) & 31), 2);
          acc += e;
        }
      }
      a.c[(t - a.t0) * int64_t(a.ldc) + (n - a.n0)] = acc;
    }
  }
}

}  // namespace detail
}  // namespace tb
