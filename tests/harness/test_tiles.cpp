// TL tiles above kernels/ (harness/tiles.h): the file reader refuses bad files naming what is wrong; a run takes
// tiles from $TERNBENCH_TILES, this machine's cache, then configs/tiles, and tunes what is found nowhere (once:
// the result is cached), saying where every shape's tiles came from.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "harness/results.h"
#include "harness/tiles.h"
#include "kernels/cpu_features.h"
#include "base/error.h"
#include "kernels/kernel.h"

namespace {

struct TempEnv {
  std::string dir;
  TempEnv() {
    dir = testing::TempDir() + "tb_tiles_" + std::to_string(::getpid());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    setenv("TERNBENCH_CACHE_DIR", dir.c_str(), 1);
    unsetenv("TERNBENCH_TILES");
    tb::tl_tiles_reset();
  }
  ~TempEnv() {
    unsetenv("TERNBENCH_CACHE_DIR");
    unsetenv("TERNBENCH_TILES");
    tb::tl_tiles_reset();
    std::filesystem::remove_all(dir);
  }
  void write(const std::string& path, const std::string& text) const { std::ofstream(path) << text; }
};

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& l : v) s += l + "\n";
  return s;
}

TEST(TilesFile, IsReadAndBadFilesAreRefusedNamingWhat) {
  const tb::TileFile f = tb::parse_tiles(
      R"({"cpu": "test", "tiles": [{"format": "tl2", "N": 333, "K": 777, "BM": 64, "BK": 96, "bm": 32}]})", "t.json");
  ASSERT_EQ(f.tiles.size(), 1u);
  EXPECT_EQ(f.tiles[0].t.BM, 64);
  EXPECT_EQ(f.tiles[0].t.BK, 96);
  EXPECT_EQ(f.tiles[0].t.bm, 32);
  auto refused = [](const std::string& text) {
    try {
      tb::parse_tiles(text, "t.json");
    } catch (const tb::Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(refused(R"({"tiles": [{"format": "tl1", "N": 1, "K": 1, "BM": 64, "BK": 256, "bm": 32}]})").find("252"),
            std::string::npos)
      << "a BK over the int16 bound";
  EXPECT_NE(refused(R"({"tiles": [{"format": "tl1", "N": 1, "K": 1, "BM": 64 "BK": 252, "bm": 32}]})").find("not valid JSON"),
            std::string::npos)
      << "a missing comma";
  EXPECT_NE(refused(R"({"tiles": [{"format": "tl1", "N": 1, "K": 1, "BM": 64, "bm": 32}]})").find("entry 0"),
            std::string::npos)
      << "a missing BK";
  EXPECT_NE(refused(R"({"tiles": [{"format": "tl1", "N": 0, "K": 1, "BM": 64, "BK": 252, "bm": 32}]})").find("positive"),
            std::string::npos);
  EXPECT_NE(refused(R"([1, 2])").find("\"tiles\" array"), std::string::npos);
  // Numbers that are not integers, or do not fit, are named (a float cast to int is undefined behaviour: the
  // fuzzer's case, tests/fuzz/regressions/config/crash-edbbdb00...).
  EXPECT_NE(refused(R"({"tiles": [{"format": "tl1", "N": 1, "K": 1, "BM": 2.7e43, "BK": 252, "bm": 32}]})")
                .find("'BM' must be an integer"),
            std::string::npos);
  EXPECT_NE(refused(R"({"tiles": [{"format": "tl1", "N": 1, "K": 1, "BM": 64, "BK": 99999999999, "bm": 32}]})")
                .find("'BK' = 99999999999 is outside"),
            std::string::npos);
  EXPECT_NE(refused(R"({"threads": 1.5, "tiles": []})").find("'threads' must be an integer"), std::string::npos);
}

TEST(TilesInstall, CacheFirstThenDefaultsWhenTuningIsOffAndEveryShapeIsNamed) {
  TempEnv env;
  tb::TileFile f;
  f.cpu = tb::cpu_info().model;
  f.threads = 1;
  f.tiles.push_back({"tl2", 333, 780, {64, 96, 32}, 10.0, ""});
  tb::write_tiles_file(tb::tiles_cache_path(), f);
  std::vector<std::string> said;
  tb::install_tiles({{"tl2", 333, 780}, {"tl2", 334, 780}, {"tl2", 333, 780}}, false, {},
                    [&](const std::string& l) { said.push_back(l); });
  std::string src;
  EXPECT_EQ(tb::tl_tiles_for("tl2", 333, 780, &src).BK, 96);
  EXPECT_EQ(src, "set");
  tb::tl_tiles_for("tl2", 334, 780, &src);
  EXPECT_EQ(src, "default");
  const std::string all = joined(said);
  EXPECT_NE(all.find("1 shape from " + tb::tiles_cache_path()), std::string::npos) << all;
  EXPECT_NE(all.find("334x780 has no tuned tiles on this CPU: default tiles"), std::string::npos) << all;
}

TEST(TilesInstall, CacheOfAnotherCpuIsNotUsed) {
  TempEnv env;
  tb::TileFile f;
  f.cpu = "some other CPU";
  f.tiles.push_back({"tl1", 64, 128, {64, 120, 64}, 1.0, ""});
  tb::write_tiles_file(tb::tiles_cache_path(), f);
  std::vector<std::string> said;
  tb::install_tiles({{"tl1", 64, 128}}, false, {}, [&](const std::string& l) { said.push_back(l); });
  std::string src;
  tb::tl_tiles_for("tl1", 64, 128, &src);
  EXPECT_EQ(src, "default");
  EXPECT_NE(joined(said).find("tuned on another CPU (some other CPU)"), std::string::npos) << joined(said);
}

// A shape found nowhere is tuned once: the winner is one of the candidates, it is cached, and the next run takes
// it from the cache without tuning.
TEST(TilesInstall, MissingShapesAreTunedOnceAndCached) {
  TempEnv env;
  tb::TuneOptions o;
  o.quick = true;
  o.cold_mb = 1;
  o.reps = 1;
  std::vector<std::string> said;
  tb::install_tiles({{"tl1", 64, 128}}, true, o, [&](const std::string& l) { said.push_back(l); });
  EXPECT_NE(joined(said).find("tuning them now"), std::string::npos) << joined(said);
  EXPECT_NE(joined(said).find("tl1 64x128 tuned in"), std::string::npos) << joined(said);
  std::string src;
  const tb::TlTiles t = tb::tl_tiles_for("tl1", 64, 128, &src);
  EXPECT_EQ(src, "set");
  bool candidate = false;
  for (const tb::TlTiles& c : tb::tile_candidates("tl1", true)) candidate |= c.BM == t.BM && c.BK == t.BK && c.bm == t.bm;
  EXPECT_TRUE(candidate);
  const tb::TileFile cached = tb::read_tiles_file(tb::tiles_cache_path());
  ASSERT_EQ(cached.tiles.size(), 1u);
  EXPECT_EQ(cached.cpu, tb::cpu_info().model);
  EXPECT_EQ(cached.tiles[0].t.BK, t.BK);
  EXPECT_EQ(cached.tiles[0].isa, tb::isa_name(tb::select_kernel("tl1").isa)) << "tiles are tuned per path";
  tb::tl_tiles_reset();
  said.clear();
  tb::install_tiles({{"tl1", 64, 128}}, true, o, [&](const std::string& l) { said.push_back(l); });
  EXPECT_EQ(joined(said).find("tuning"), std::string::npos) << joined(said);
  EXPECT_NE(joined(said).find("from " + tb::tiles_cache_path()), std::string::npos) << joined(said);
}

// Tiles tuned on another ISA path of this CPU are not used for this one (--isa avx2 on an AVX-512 machine).
TEST(TilesInstall, TilesOfAnotherPathAreNotUsed) {
  TempEnv env;
  const std::string here = tb::isa_name(tb::select_kernel("tl2").isa);
  tb::TileFile f;
  f.cpu = tb::cpu_info().model;
  f.tiles.push_back({"tl2", 64, 192, {64, 96, 32}, 1.0, here == "neon" ? "avx2" : "neon"});
  f.tiles.push_back({"tl2", 64, 384, {64, 96, 32}, 1.0, here});
  tb::write_tiles_file(tb::tiles_cache_path(), f);
  std::vector<std::string> said;
  tb::install_tiles({{"tl2", 64, 192}, {"tl2", 64, 384}}, false, {}, [&](const std::string& l) { said.push_back(l); });
  std::string src;
  tb::tl_tiles_for("tl2", 64, 192, &src);
  EXPECT_EQ(src, "default") << joined(said);
  tb::tl_tiles_for("tl2", 64, 384, &src);
  EXPECT_EQ(src, "set") << joined(said);
}

// $TERNBENCH_TILES is explicit: its tiles win over the cache, and a shape it lacks runs on defaults, said, never tuned.
TEST(TilesInstall, UserFileWinsAndIsNeverTunedOver) {
  TempEnv env;
  const std::string user = env.dir + "/mine.json";
  env.write(user, R"({"tiles": [{"format": "tl1", "N": 64, "K": 128, "BM": 32, "BK": 4, "bm": 32}]})");
  setenv("TERNBENCH_TILES", user.c_str(), 1);
  std::vector<std::string> said;
  tb::install_tiles({{"tl1", 64, 128}, {"tl1", 64, 256}}, true, {}, [&](const std::string& l) { said.push_back(l); });
  std::string src;
  EXPECT_EQ(tb::tl_tiles_for("tl1", 64, 128, &src).BK, 4);
  tb::tl_tiles_for("tl1", 64, 256, &src);
  EXPECT_EQ(src, "default");
  EXPECT_NE(joined(said).find("64x256 is not in " + user), std::string::npos) << joined(said);
  EXPECT_FALSE(std::filesystem::exists(tb::tiles_cache_path())) << "nothing tuned, nothing cached";
}

}  // namespace
