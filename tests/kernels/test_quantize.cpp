// Activation quantizer (docs/reference.md §1.2): every path bit-identical to the scalar one, ties to even,
// the amax floor, all-zero rows, and non-finite input rejected with a message.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>

#include "tests/kernels/oracle.h"
#include "tests/error_of.h"

namespace {

std::vector<tb::Isa> runnable_quantizer_paths() {
  std::vector<tb::Isa> out;
  for (tb::Isa i : {tb::Isa::scalar, tb::Isa::neon, tb::Isa::avx2, tb::Isa::avx512vnni})
    if (tb::cpu_supports(i)) out.push_back(i);
  return out;
}

void expect_same(const tb::QuantizedActs& a, const tb::QuantizedActs& b, const char* what) {
  ASSERT_EQ(a.q, b.q) << what;
  ASSERT_EQ(a.sum, b.sum) << what;
  ASSERT_EQ(0, std::memcmp(a.a.data(), b.a.data(), a.a.size() * sizeof(float))) << what;
}

TEST(Quantize, TiesRoundHalfToEven) {
  // amax = 127 gives a = 1 exactly, so x * a is x: the .5 values are exact ties.
  const std::vector<float> x = {127.0f, 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 126.5f, 3.5f, -3.5f};
  const std::vector<int8_t> want = {127, 0, 2, 2, 0, -2, -2, 126, 4, -4};
  for (tb::Isa isa : runnable_quantizer_paths()) {
    // Pad to 40 so the SIMD body (not only the scalar tail) sees the ties.
    std::vector<float> xx;
    for (int r = 0; r < 4; ++r) xx.insert(xx.end(), x.begin(), x.end());
    tb::QuantizedActs q;
    tb::quantize_activations(xx.data(), 1, int64_t(xx.size()), q, isa);
    EXPECT_EQ(q.a[0], 1.0f);
    for (size_t i = 0; i < xx.size(); ++i) EXPECT_EQ(q.q[i], want[i % want.size()]) << tb::isa_name(isa) << " i=" << i;
    int32_t s = 0;
    for (int8_t v : q.q) s += v;
    EXPECT_EQ(q.sum[0], s);
  }
}

// The AVX2 kernels read activations in place with 32-byte loads: rows must start on a 64-byte line whatever the
// heap did before (from malloc they sat 16 bytes into one; kernels/aligned_buffer.h).
TEST(Quantize, ActivationsStartOnACacheLine) {
  std::vector<std::unique_ptr<char[]>> clutter;
  for (int64_t T : {1, 3, 128}) {
    for (int i = 0; i < 7; ++i) clutter.emplace_back(new char[size_t(17 * (i + 1) * T)]);  // move the heap about
    const std::vector<float> x(size_t(T * 2560), 0.25f);
    tb::QuantizedActs a;
    tb::quantize_activations(x.data(), T, 2560, a);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(a.q.data()) % 64, 0u) << "T=" << T;
    const tb::QuantizedActs b = tb::acts_from_int8(a.q.data(), T, 2560, a.a.data());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.q.data()) % 64, 0u) << "T=" << T;
  }
}

TEST(Quantize, AmaxFloor) {
  const std::vector<float> x(64, 1e-7f);  // amax 1e-7 < 1e-5: a = 127 / 1e-5, q = rne(1.27) = 1
  for (tb::Isa isa : runnable_quantizer_paths()) {
    tb::QuantizedActs q;
    tb::quantize_activations(x.data(), 1, 64, q, isa);
    EXPECT_EQ(q.a[0], 127.0f / 1e-5f) << tb::isa_name(isa);
    for (int8_t v : q.q) EXPECT_EQ(v, 1);
    EXPECT_EQ(q.sum[0], 64);
  }
}

TEST(Quantize, AllZeroRow) {
  const std::vector<float> x(2 * 100, 0.0f);
  for (tb::Isa isa : runnable_quantizer_paths()) {
    tb::QuantizedActs q;
    tb::quantize_activations(x.data(), 2, 100, q, isa);
    for (int8_t v : q.q) EXPECT_EQ(v, 0);
    EXPECT_EQ(q.sum[0], 0);
    EXPECT_EQ(q.a[1], 127.0f / 1e-5f);
  }
}

TEST(Quantize, AmaxMapsToPlusMinus127) {
  for (tb::Isa isa : runnable_quantizer_paths()) {
    std::vector<float> x(300, 0.25f);
    x[17] = -3.0f;
    tb::QuantizedActs q;
    tb::quantize_activations(x.data(), 1, 300, q, isa);
    EXPECT_EQ(q.q[17], -127) << tb::isa_name(isa);
    EXPECT_EQ(q.q[0], int8_t(std::nearbyint(0.25f * (127.0f / 3.0f))));
  }
}

// Documented behaviour: NaN or +-Inf anywhere in a token throws tb::Error naming the token and index.
TEST(Quantize, NonFiniteInputIsRejected) {
  for (tb::Isa isa : runnable_quantizer_paths())
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                      -std::numeric_limits<float>::infinity()})
      for (int64_t pos : {0, 5, 37, 70, 99}) {  // (AVX-512: in its 64-float loop, its 16-float one, the tail)
        std::vector<float> x(2 * 100, 0.5f);
        x[100 + pos] = bad;
        tb::QuantizedActs q;
        EXPECT_TRUE(tbtest::throws_error([&] { tb::quantize_activations(x.data(), 2, 100, q, isa); },
                                         {"token 1", "index " + std::to_string(pos)}))
            << "accepted " << bad << " on " << tb::isa_name(isa);
      }
}

// Tokens split over threads (prefill): the same bits as one thread, and the error still names the first
// bad token, wherever the threads' ranges fall.
TEST(Quantize, ThreadsChangeNothing) {
  const int64_t T = 37, K = 2560;
  tbtest::Rng r(99);
  std::vector<float> x(size_t(T * K));
  for (auto& v : x) v = r.normalish();
  for (tb::Isa isa : runnable_quantizer_paths()) {
    tb::QuantizedActs one;
    tb::quantize_activations(x.data(), T, K, one, isa, 1);
    for (int threads : {2, 3, 8}) {
      tb::QuantizedActs q;
      tb::quantize_activations(x.data(), T, K, q, isa, threads);
      expect_same(one, q, tb::isa_name(isa));
    }
    std::vector<float> bad = x;
    bad[size_t(30 * K + 7)] = std::numeric_limits<float>::quiet_NaN();
    bad[size_t(20 * K + 9)] = std::numeric_limits<float>::infinity();
    EXPECT_TRUE(tbtest::throws_error([&] { tb::QuantizedActs q; tb::quantize_activations(bad.data(), T, K, q, isa, 3); },
                                     {"token 20 has a non-finite value (inf) at index 9"})) << "accepted a non-finite input";
  }
}

// Every path equals the scalar one bit for bit, over many lengths (SIMD bodies and tails) and scales.
TEST(Quantize, AllPathsBitIdentical) {
  std::vector<int64_t> lengths;
  for (int64_t k = 1; k <= 70; ++k) lengths.push_back(k);
  for (int64_t k : {127, 128, 129, 2560, 6912}) lengths.push_back(k);
  for (int64_t K : lengths)
    for (const float mag : {1e-6f, 0.01f, 1.0f, 300.0f, 3e30f}) {
      // (seeded from the magnitude's bits: uint64_t(3e30f * 1000) would be undefined, as UBSan says)
      uint32_t bits;
      std::memcpy(&bits, &mag, sizeof bits);
      tbtest::Rng r(uint64_t(K) * 7 + bits);
      const int64_t T = 3;
      std::vector<float> x(size_t(T * K));
      for (auto& v : x) v = r.normalish() * mag;
      tb::QuantizedActs ref;
      tb::quantize_activations(x.data(), T, K, ref, tb::Isa::scalar);
      for (tb::Isa isa : runnable_quantizer_paths()) {
        tb::QuantizedActs q;
        tb::quantize_activations(x.data(), T, K, q, isa);
        expect_same(ref, q, tb::isa_name(isa));
      }
    }
}

TEST(Quantize, WeightsAbsmean) {
  const std::vector<float> W = {0.3f, -0.9f, 0.05f, 0.0f, 1.5f, -0.2f};  // mean|W| = 2.95 / 6
  std::vector<int8_t> w(6);
  const float s = tb::quantize_weights_absmean(W.data(), 2, 3, w.data());
  EXPECT_FLOAT_EQ(s, 2.95f / 6.0f);
  EXPECT_EQ(w, (std::vector<int8_t>{1, -1, 0, 0, 1, 0}));  // 0.3/0.4917 = 0.61 -> 1; 0.2/0.49 = 0.41 -> 0
}

}  // namespace
