// Weight formats: byte layouts as docs/reference.md §2 and §3 give them, pack/unpack round trips, sizes, and
// shapes refused at pack time with a message naming the constraint.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "tests/kernels/oracle.h"
#include "tests/error_of.h"

namespace {

TEST(I2S, ByteLayoutMatchesBitnetCpp) {
  // One row of 128 weights: w[g] in bits 7..6, w[32+g] in 5..4, w[64+g] in 3..2, w[96+g] in 1..0, code w+1.
  std::vector<int8_t> w(128, 0);
  w[0] = 1; w[32] = -1; w[64] = 0; w[96] = 1;   // byte 0: 10 00 01 10
  w[31] = -1; w[63] = -1; w[95] = -1; w[127] = -1;  // byte 31: 00 00 00 00
  const tb::PackedWeights p = tb::pack_weights(tb::find_format("i2s"), w.data(), 1, 128, 0.625f);
  ASSERT_EQ(p.data.size(), 32u + 32u);
  EXPECT_EQ(p.data.data()[0], 0x86);
  EXPECT_EQ(p.data.data()[1], 0x55);  // all four zero weights: 01 01 01 01
  EXPECT_EQ(p.data.data()[31], 0x00);
  float tail;
  std::memcpy(&tail, p.data.data() + 32, 4);
  EXPECT_EQ(tail, 0.625f) << "the 32-byte tail starts with the fp32 scale, as in GGUF";
}

// TLW: word j of a row holds the 5-bit indices (w0 + 1) + 3 (w1 + 1) + 9 (w2 + 1) of its groups 3j, 3j+1, 3j+2 in
// bits 0-4, 5-9, 10-14; 32 rows per block, row r at bytes 64 j + 2 r; weights past K and rows past N are 0 (index 13).
TEST(Tlw, WordLayoutAndSize) {
  const int64_t N = 33, K = 10;
  std::vector<int8_t> w(size_t(N * K), 0);
  const int8_t row0[10] = {1, -1, 0, 0, 0, 0, -1, -1, -1, 1};
  std::memcpy(w.data(), row0, 10);
  w[32 * K + 0] = -1;  // row 32 (block 1, row 0): group 0 = (-1, 0, 0)
  const tb::Format& f = tb::find_format("tlw");
  const tb::PackedWeights p = tb::pack_weights(f, w.data(), N, K, 1.0f);
  ASSERT_EQ(p.data.size(), size_t(2 * 2 * 64)) << "2 blocks x ceil(10 / 9) = 2 words x 64 bytes";
  auto word = [&](int64_t block, int64_t j, int r) {
    uint16_t v;
    std::memcpy(&v, p.data.data() + (block * 2 + j) * 64 + 2 * r, 2);
    return int(v);
  };
  const int zero = 13 | 13 << 5 | 13 << 10;
  EXPECT_EQ(word(0, 0, 0), 11 | 13 << 5 | 0 << 10);       // (1, -1, 0) = 2 + 0 + 9, (0, 0, 0) = 13, (-1, -1, -1) = 0
  EXPECT_EQ(word(0, 1, 0), 14 | 13 << 5 | 13 << 10);      // (1, pad, pad) = 2 + 3 + 9
  EXPECT_EQ(word(0, 0, 1), zero);
  EXPECT_EQ(word(1, 0, 0), 12 | 13 << 5 | 13 << 10);      // (-1, 0, 0) = 0 + 3 + 9
  EXPECT_EQ(word(1, 0, 31), zero) << "rows past N hold zero weights";
  std::vector<int8_t> back(w.size());
  f.unpack(p.data.data(), N, K, back.data());
  EXPECT_EQ(back, w);
  // 16 bits per 9 weights: 2B4T's 2560 x 2560 in 80 blocks x 285 words.
  EXPECT_EQ(f.packed_bytes(2560, 2560), size_t(80 * 285 * 64));
  EXPECT_NEAR(f.bits_per_weight, 16.0 / 9.0, 1e-12);
}

// TLW tables: every path's prepare writes the same bytes, entry e < 27 of group g is the exact sum
// (d0(e) - 1) x[3g] + (d1(e) - 1) x[3g+1] + (d2(e) - 1) x[3g+2] (x = 0 past K), entries 27-31 are 0; the extremes
// -128 and 127 included (|entry| up to 384).
TEST(Tlw, TablesAreExactSumsOnEveryPath) {
  int tried = 0;
  for (int64_t K : {10, 2560}) {
    std::vector<int8_t> q(static_cast<size_t>(K));
    for (int64_t k = 0; k < K; ++k) q[size_t(k)] = int8_t(k % 7 == 0 ? -128 : k % 7 == 1 ? 127 : int((k * 37) % 255) - 127);
    for (const tb::Kernel& k : tb::all_kernels()) {
      if (std::string(k.format->name) != "tlw" || !tb::cpu_supports(k.isa)) continue;
      ASSERT_NE(k.prepare, nullptr);
      const size_t bytes = k.prepared_bytes_per_token(K);
      ASSERT_EQ(bytes, size_t((K + 8) / 9 * 3 * 64));
      std::vector<uint8_t> out(bytes, 0xAB);
      k.prepare(q.data(), K, out.data());
      for (size_t g = 0; g < bytes / 64; ++g)
        for (int e = 0; e < 32; ++e) {
          int16_t got;
          std::memcpy(&got, out.data() + 64 * g + 2 * e, 2);
          int want = 0;
          for (int i = 0, d = e; i < 3 && e < 27; ++i, d /= 3) {
            const int64_t kk = int64_t(3 * g) + i;
            want += (d % 3 - 1) * (kk < K ? q[size_t(kk)] : 0);
          }
          ASSERT_EQ(got, want) << k.name << " K=" << K << " group " << g << " entry " << e;
        }
      ++tried;
    }
  }
  EXPECT_GE(tried, 2) << "the scalar path at least, at both K";
}

// TQ1: all 243 digit combinations, one per byte. Byte b of a 160-weight group holds w[32j + b], j = 0..4, as
// v = sum (w_j + 1) 3^(4 - j), stored as ceil(256 v / 243): all -1 is 0, all 0 is ceil(30976 / 243) = 128, all +1 is
// ceil(61952 / 243) = 255. Unpacking decodes digit j as floor(3 x / 256) of x = 3^j q mod 256.
TEST(Tq1, EveryDigitCombinationPacksAndDecodes) {
  const int64_t N = 8, K = 160;  // 8 x 32 bytes: combinations 0..242, then all-zero bytes
  std::vector<int8_t> w(size_t(N * K));
  for (int64_t n = 0; n < N; ++n)
    for (int b = 0; b < 32; ++b) {
      const int v = int(n * 32 + b) < 243 ? int(n * 32 + b) : 121;
      for (int j = 0, p = 81; j < 5; ++j, p /= 3) w[size_t(n * K + 32 * j + b)] = int8_t((v / p) % 3 - 1);
    }
  const tb::PackedWeights p = tb::pack_weights(tb::find_format("tq1"), w.data(), N, K, 0.5f);
  ASSERT_EQ(p.data.size(), size_t(N * 32 + 32));
  for (int v = 0; v < 243; ++v) ASSERT_EQ(p.data.data()[v], (256 * v + 242) / 243) << "combination " << v;
  EXPECT_EQ(p.data.data()[0], 0);
  EXPECT_EQ(p.data.data()[121], 128);
  EXPECT_EQ(p.data.data()[242], 255);
  std::vector<int8_t> back(w.size());
  tb::find_format("tq1").unpack(p.data.data(), N, K, back.data());
  EXPECT_EQ(back, w);
  // 1.6 bits per weight at K % 160 == 0: 20% fewer bytes than I2_S on 2B4T's square matrices.
  EXPECT_EQ(tb::find_format("tq1").packed_bytes(2560, 2560), size_t(2560) * 2560 / 5 + 32);
  // A short last group (6912 = 43 x 160 + 32) takes a whole 32-byte group.
  EXPECT_EQ(tb::find_format("tq1").packed_bytes(1, 6912), size_t(44 * 32 + 32));
  EXPECT_THROW(tb::pack_weights(tb::find_format("tq1"), w.data(), 1, 100, 1.0f), tb::Error);
}

TEST(Formats, PackUnpackRoundTripAndSize) {
  for (const tb::Format* f : tb::all_formats()) {
    for (auto [N, K] : std::vector<std::pair<int64_t, int64_t>>{{3, 128}, {17, 384}, {64, 2560}}) {
      const auto w = tbtest::ternary(N, K, uint64_t(N + K));
      const tb::PackedWeights p = tb::pack_weights(*f, w.data(), N, K, 1.0f);
      std::vector<int8_t> back(size_t(N * K));
      f->unpack(p.data.data(), N, K, back.data());
      EXPECT_EQ(back, w) << f->name;
      EXPECT_EQ(p.data.size(), f->packed_bytes(N, K));
      EXPECT_GE(double(p.data.size()) * 8.0, f->bits_per_weight * double(N * K)) << f->name;
    }
  }
  EXPECT_EQ(tb::find_format("i2s").packed_bytes(6912, 2560), size_t(6912) * 2560 / 4 + 32);
}

TEST(Formats, UnsupportedShapeRefusedAtPackTime) {
  const std::vector<int8_t> w(size_t(4 * 100), 0);
  EXPECT_TRUE(tbtest::throws_error([&] { tb::pack_weights(tb::find_format("i2s"), w.data(), 4, 100, 1.0f); },
                                   {"K % 128 == 0", "4x100"})) << "i2s accepted K=100";
  EXPECT_THROW(tb::pack_weights(tb::find_format("int8"), w.data(), 0, 100, 1.0f), tb::Error);
}

TEST(Formats, NonTernaryWeightsAndBadScalesRefused) {
  std::vector<int8_t> w(128, 0);
  w[5] = 2;
  for (const tb::Format* f : tb::all_formats()) EXPECT_THROW(tb::pack_weights(*f, w.data(), 1, 128, 1.0f), tb::Error);
  w[5] = 1;
  EXPECT_THROW(tb::pack_weights(tb::find_format("i2s"), w.data(), 1, 128, 0.0f), tb::Error);
  EXPECT_THROW(tb::pack_weights(tb::find_format("i2s"), w.data(), 1, 128, NAN), tb::Error);
}

TEST(I2S, CorruptCodeIsReported) {
  std::vector<int8_t> w(2 * 128, 0);
  tb::PackedWeights p = tb::pack_weights(tb::find_format("i2s"), w.data(), 2, 128, 1.0f);
  p.data.data()[32 + 5] = 0xC0 | 0x15;  // row 1, byte 5: code 11 in the w[5] field
  std::vector<int8_t> back(2 * 128);
  EXPECT_TRUE(tbtest::throws_error([&] { p.format->unpack(p.data.data(), 2, 128, back.data()); },
                                   {"row 1, column 5"})) << "code 11 was accepted";
}

TEST(Driver, StaleOrMismatchedActivationsAreRefused) {
  const tb::Kernel& k = tb::find_kernel("i2s__scalar");
  const std::vector<int8_t> w(4 * 256, 1);
  const tb::PackedWeights p = tb::pack_weights(*k.format, w.data(), 4, 256, 1.0f);
  std::vector<float> xf(3 * 256, 0.5f);
  tb::QuantizedActs x;
  tb::quantize_activations(xf.data(), 1, 256, x);
  tb::PreparedActs prep;
  tb::prepare_activations(k, x, prep);
  std::vector<float> y(3 * 4);
  tb::quantize_activations(xf.data(), 3, 256, x);  // re-quantized with more tokens after prepare
  EXPECT_THROW(tb::run_f32(k, p, prep, y.data(), 1), tb::Error);
  tb::prepare_activations(tb::find_kernel("int8__scalar"), x, prep);  // prepared for another kernel
  EXPECT_THROW(tb::run_f32(k, p, prep, y.data(), 1), tb::Error);
  tb::QuantizedActs x128;
  tb::quantize_activations(xf.data(), 1, 128, x128);  // K does not match the weights
  tb::prepare_activations(k, x128, prep);
  EXPECT_TRUE(tbtest::throws_error([&] { tb::run_f32(k, p, prep, y.data(), 1); }, {"K=128"}));
}

TEST(Formats, KernelRefusesWeightsOfAnotherFormat) {
  const std::vector<int8_t> w(128, 1);
  const tb::PackedWeights p = tb::pack_weights(tb::find_format("int8"), w.data(), 1, 128, 1.0f);
  const tb::Kernel& k = tb::find_kernel("i2s__scalar");
  const float a = 1.0f;
  const std::vector<int8_t> q(128, 1);
  const tb::QuantizedActs x = tb::acts_from_int8(q.data(), 1, 128, &a);
  float y;
  EXPECT_THROW(tb::matmul(k, p, x, &y, 1), tb::Error);
}

}  // namespace
