// TL1/TL2 specifics: every tile setting (BM, BK, bm) gives the oracle's results on every TL path, and
// extreme inputs do at every BK the tiles rule accepts (the int16 bound: BK = 252); invalid tiles are refused
// with the rule named; tiles set for a shape apply to it only (files: tests/harness/test_tiles.cpp); the TL2
// byte layout (index, sign bit)
// as docs/reference.md §2.4 gives it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>

#include "kernels/tl_tiles.h"
#include "tests/kernels/oracle.h"

namespace {

struct ResetTiles {
  ~ResetTiles() { tb::tl_tiles_reset(); }
};

TEST(TlTiles, EveryTileSettingEqualsOracle) {
  ResetTiles reset;
  const std::vector<std::pair<int64_t, int64_t>> shapes = {{100, 390}, {97, 1000}, {640, 2560}};
  const std::vector<tb::TlTiles> tl1 = {{32, 4, 32}, {64, 8, 64}, {96, 124, 32}, {128, 252, 128}, {256, 240, 64}};
  const std::vector<tb::TlTiles> tl2 = {{32, 6, 32}, {64, 12, 64}, {96, 126, 32}, {128, 252, 128}, {256, 192, 64}};
  int tried = 0;
  for (const tb::Kernel& k : tb::all_kernels()) {
    const std::string f = k.format->name;
    if ((f != "tl1" && f != "tl2") || !tb::cpu_supports(k.isa)) continue;
    for (const tb::TlTiles& t : f == "tl1" ? tl1 : tl2)
      for (auto [N, K] : shapes) {
        tb::tl_tiles_set(f, N, K, t);
        const auto w = tbtest::ternary(N, K, uint64_t(N * 7 + K));
        const tb::PackedWeights p = tb::pack_weights(*k.format, w.data(), N, K, 0.5f);
        for (int64_t T : {1, 5}) {
          const tb::QuantizedActs x = tbtest::random_acts(T, K, uint64_t(T + K));
          const tbtest::OracleOut want = tbtest::oracle(w, N, K, 0.5f, x);
          for (int threads : {1, 3}) {
            tb::PreparedActs prep;
            tb::prepare_activations(k, x, prep);
            std::vector<int32_t> c(size_t(T * N));
            tb::run_i32(k, p, prep, c.data(), threads);
            ASSERT_EQ(c, want.c) << k.name << " " << N << "x" << K << " T=" << T << " threads=" << threads
                                 << " BM=" << t.BM << " BK=" << t.BK << " bm=" << t.bm;
          }
        }
        ++tried;
      }
  }
  EXPECT_GT(tried, 0);
}

// What the tiles loader accepts, found by asking its rule (tl_tiles_check, used by tl_tiles_load and
// tl_tiles_set) rather than restating it: every BK; the bm values; BM values up to the largest int.
struct Accepted {
  std::vector<int> BK, bm, BM;
};
Accepted accepted_tiles(const std::string& f) {
  Accepted a;
  for (int BK = -8; BK <= 4096; ++BK)
    if (tb::tl_tiles_check(f, {32, BK, 32}).empty()) a.BK.push_back(BK);
  for (int bm = -8; bm <= 4096; ++bm)
    if (tb::tl_tiles_check(f, {4096, a.BK.back(), bm}).empty()) a.bm.push_back(bm);
  for (int BM = -64; BM <= 4096; ++BM)
    if (tb::tl_tiles_check(f, {BM, a.BK.back(), 32}).empty()) a.BM.push_back(BM);
  return a;
}
constexpr int kLargestBM = std::numeric_limits<int>::max() / 32 * 32;

// The int16 bound: in one K tile, each pair (TL1) or triple (TL2) adds one table entry of |e| <= 128 per
// weight (TL1: 2 x 128, TL2: 3 x 128, activations down to -128), so |partial sum| <= 128 BK must stay
// <= 32767 for every BK the loader accepts; and the loader must accept the limit itself (BK = 252).
TEST(TlTiles, LoaderAcceptsExactlyTheBKsWhoseInt16SumsCannotOverflow) {
  for (const std::string f : {"tl1", "tl2"}) {
    const Accepted a = accepted_tiles(f);
    const int step = f == "tl1" ? 4 : 6;
    ASSERT_FALSE(a.BK.empty()) << f;
    EXPECT_EQ(a.BK.front(), step) << f;
    EXPECT_EQ(a.BK.back(), 252) << f;
    EXPECT_EQ(a.BK.size(), size_t(252 / step)) << f << ": every multiple of " << step << " in [" << step << ", 252]";
    for (int BK : a.BK) EXPECT_LE(128 * BK, 32767) << f << " BK=" << BK << " can overflow an int16 partial sum";
    EXPECT_GT(128 * (252 + step), 32767) << f << ": 252 is the largest safe BK";
    EXPECT_EQ(a.bm, (std::vector<int>{32, 64, 128})) << f;
    ASSERT_FALSE(a.BM.empty()) << f;
    EXPECT_EQ(a.BM.front(), 32) << f;
    EXPECT_EQ(a.BM.size(), size_t(4096 / 32)) << f << ": every multiple of 32 up to 4096";
    // BM has no upper bound (a BM past N is one row tile): the largest multiple of 32 an int holds is accepted.
    EXPECT_EQ(tb::tl_tiles_check(f, {kLargestBM, 252, 128}), "") << f;
  }
}

// Extreme inputs (tbtest::check_extremes: all -128 against all +1 / all -1 reaches |sum| = 128 BK in every K
// tile) at every BK the loader accepts, on every TL path this CPU runs. Each BK gets a BM and bm in turn
// (BM from 32 to the largest int, bm 32, 64, 128), so every BK, every bm and each listed BM is covered;
// at BK = 252 every listed BM with every bm. K: two whole K tiles, a short one, and a tail (TL1: K % 4 = 3,
// padded; TL2: K % 6 = 5, two TL1 tail units). Rows: more than one row tile where BM allows, and a partial group.
TEST(TlTiles, ExtremeInputsAtEveryAcceptedTileSetting) {
  ResetTiles reset;
  const std::vector<int> bms = {32, 64, 96, 128, 160, 256, 512, 4096, kLargestBM};
  int tried = 0;
  for (const tb::Kernel& k : tb::all_kernels()) {
    const std::string f = k.format->name;
    if (f != "tl1" && f != "tl2") continue;
    if (!tb::cpu_supports(k.isa)) {
      std::printf("skipping %s: this CPU cannot run its %s path\n", k.name, tb::isa_name(k.isa));
      continue;
    }
    const Accepted a = accepted_tiles(f);
    std::vector<tb::TlTiles> settings;
    size_t i = 0;
    for (int BK : a.BK) {
      const int BM = bms[i % bms.size()];
      int bm = a.bm[i % a.bm.size()];
      if (bm > BM) bm = 32;
      settings.push_back({BM, BK, bm});
      ++i;
    }
    for (int BM : bms)
      for (int bm : a.bm)
        if (bm <= BM) settings.push_back({BM, 252, bm});
    for (const tb::TlTiles& t : settings) {
      const int64_t unit = f == "tl1" ? 4 : 6;
      const int64_t K = 2 * t.BK + (t.BK > unit ? unit : 0) + (f == "tl1" ? 3 : 5);
      const int64_t N = std::min<int64_t>(t.BM, 128) + 37;
      tb::tl_tiles_set(f, N, K, t);
      // Threads split rows at 32-row groups: 3 threads cut row tiles at BK = 252, one elsewhere (the K
      // tile sums, where the bound matters, do not depend on it).
      const std::vector<int> threads = t.BK == 252 ? std::vector<int>{1, 3} : std::vector<int>{1};
      // Under qemu or a sanitizer, the sweep below 252 keeps only the inputs that reach the bound.
      const bool limit_only = t.BK != 252 && (tbtest::quick() || tbtest::sanitizer_run());
      const std::string diff = tbtest::check_extremes(k, N, K, {1, 7}, threads, limit_only);
      ASSERT_EQ(diff, "") << "BM=" << t.BM << " BK=" << t.BK << " bm=" << t.bm;
      ++tried;
    }
  }
  if (tried == 0) GTEST_SKIP() << "no TL path runs here";
}

TEST(TlTiles, InvalidTilesAreRefusedNamingTheRule) {
  EXPECT_NE(tb::tl_tiles_check("tl1", {128, 256, 64}).find("BK must be a multiple of 4 in [4, 252]"), std::string::npos);
  EXPECT_NE(tb::tl_tiles_check("tl2", {128, 200, 64}).find("multiple of 6"), std::string::npos);
  EXPECT_NE(tb::tl_tiles_check("tl2", {48, 192, 32}).find("BM must be a positive multiple of 32"), std::string::npos);
  EXPECT_NE(tb::tl_tiles_check("tl1", {64, 128, 128}).find("must not exceed BM"), std::string::npos);
  EXPECT_THROW(tb::tl_tiles_set("tl1", 64, 64, {128, 256, 64}), tb::Error);
  EXPECT_EQ(tb::tl_tiles_check("tl1", tb::tl_default_tiles("tl1")), "");
  EXPECT_EQ(tb::tl_tiles_check("tl2", tb::tl_default_tiles("tl2")), "");
}

// Tiles are handed down (harness/tiles.h reads the files): set for one shape, unset back to the defaults.
TEST(TlTiles, SetTilesApplyToTheirShapeOnly) {
  ResetTiles reset;
  tb::tl_tiles_set("tl2", 333, 777, {64, 96, 32});
  std::string src;
  const tb::TlTiles t = tb::tl_tiles_for("tl2", 333, 777, &src);
  EXPECT_EQ(t.BM, 64);
  EXPECT_EQ(t.BK, 96);
  EXPECT_EQ(t.bm, 32);
  EXPECT_EQ(src, "set");
  const tb::TlTiles d = tb::tl_tiles_for("tl2", 334, 777, &src);
  EXPECT_EQ(src, "default");
  EXPECT_EQ(d.BK, tb::tl_default_tiles("tl2").BK);
  tb::tl_tiles_for("tl1", 333, 777, &src);
  EXPECT_EQ(src, "default") << "tiles belong to one format";
  tb::tl_tiles_unset("tl2", 333, 777);
  tb::tl_tiles_for("tl2", 333, 777, &src);
  EXPECT_EQ(src, "default");
}

// Every path's table construction writes the scalar path's bytes (extreme and random activations).
TEST(TlTables, EveryPathBuildsTheScalarTables) {
  int tried = 0;
  for (const tb::Kernel& k : tb::all_kernels()) {
    const std::string f = k.format->name;
    if ((f != "tl1" && f != "tl2") || !tb::cpu_supports(k.isa) || k.isa == tb::Isa::scalar) continue;
    const tb::Kernel& ref = tb::find_kernel(f + "__scalar");
    for (int64_t K : {1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 130, 2560, 6912}) {
      std::vector<int8_t> q(static_cast<size_t>(K));
      for (int64_t i = 0; i < K; ++i) q[i] = int8_t(i % 5 == 0 ? -128 : (i % 5 == 1 ? 127 : int((i * 37) % 256) - 128));
      const size_t n = k.prepared_bytes_per_token(K);
      ASSERT_EQ(n, ref.prepared_bytes_per_token(K));
      std::vector<uint8_t> a(n, 0xAB), b(n, 0xCD);
      k.prepare(q.data(), K, a.data());
      ref.prepare(q.data(), K, b.data());
      ASSERT_EQ(a, b) << k.name << " K=" << K;
      ++tried;
    }
  }
  if (tried == 0) GTEST_SKIP() << "no SIMD TL path runs here";
}

TEST(Tl2, ByteLayout) {
  ResetTiles reset;
  // One row, K = 8: triples (1, -1, 0) -> v = 6, (-1, 1, 1) -> v = -5; tail of 2 weights (1, 1) as a TL1
  // pair, index 3 * 2 + 2 = 8, padded with a zero pair (index 4).
  const std::vector<int8_t> w = {1, -1, 0, -1, 1, 1, 1, 1};
  tb::tl_tiles_set("tl2", 1, 8, {32, 6, 32});
  const tb::PackedWeights p = tb::pack_weights(tb::find_format("tl2"), w.data(), 1, 8, 1.0f);
  // header 64 | TL2 unit: 32 index bytes + 8 sign bytes | TL1 tail unit: 32 index bytes
  ASSERT_EQ(p.data.size(), 64u + 40u + 32u);
  const uint8_t* d = p.data.data() + 64;
  EXPECT_EQ(d[0], 6 | (5 << 4));
  EXPECT_EQ(d[32], 0) << "sign word of A: row 0 positive";
  EXPECT_EQ(d[36], 1) << "sign word of B: row 0 negative";
  EXPECT_EQ(d[40], 8 | (4 << 4));
  EXPECT_EQ(d[1], 0) << "padded rows are zero";
}

}  // namespace
