// TL tile parameters as data (see tl_tiles.h): the tiles handed down by the layers above, and the defaults.
// kernels/ reads no file and prints nothing: harness/tiles.cpp decides which tiles a run uses and says so.
#include "kernels/tl_tiles.h"

#include <map>
#include <mutex>
#include <tuple>

#include "base/error.h"

namespace tb {
namespace {

using Key = std::tuple<std::string, int64_t, int64_t>;

struct State {
  std::mutex mu;
  std::map<Key, TlTiles> set;
};
State& state() {
  static State s;
  return s;
}

}  // namespace

std::string tl_tiles_check(const std::string& format, const TlTiles& t) {
  if (format != "tl1" && format != "tl2") return "tiles are for tl1 or tl2, not " + format;
  if (t.BM < 32 || t.BM % 32) return "BM must be a positive multiple of 32, got " + std::to_string(t.BM);
  if (t.bm != 32 && t.bm != 64 && t.bm != 128) return "bm must be 32, 64 or 128, got " + std::to_string(t.bm);
  if (t.bm > t.BM) return "bm (" + std::to_string(t.bm) + ") must not exceed BM (" + std::to_string(t.BM) + ")";
  if (format == "tl1" && (t.BK < 4 || t.BK % 4 || t.BK > 252))
    return "TL1 BK must be a multiple of 4 in [4, 252] (int16 partial sums), got " + std::to_string(t.BK);
  if (format == "tl2" && (t.BK < 6 || t.BK % 6 || t.BK > 252))
    return "TL2 BK must be a multiple of 6 in [6, 252] (int16 partial sums), got " + std::to_string(t.BK);
  return "";
}

TlTiles tl_default_tiles(const std::string& format) {
  TlTiles t;
  t.BM = 128;
  t.bm = 64;
  t.BK = format == "tl2" ? 192 : 240;
  return t;
}

std::vector<int> tl_bk_candidates(const std::string& format, bool quick) {
  if (format == "tl2") return quick ? std::vector<int>{192, 252} : std::vector<int>{96, 192, 252};
  return quick ? std::vector<int>{120, 252} : std::vector<int>{120, 240, 252};
}

void tl_tiles_set(const std::string& format, int64_t N, int64_t K, const TlTiles& t) {
  const std::string bad = tl_tiles_check(format, t);
  if (!bad.empty()) throw Error(bad);
  State& s = state();
  std::lock_guard<std::mutex> l(s.mu);
  s.set[Key(format, N, K)] = t;
}

void tl_tiles_unset(const std::string& format, int64_t N, int64_t K) {
  State& s = state();
  std::lock_guard<std::mutex> l(s.mu);
  s.set.erase(Key(format, N, K));
}

void tl_tiles_reset() {
  State& s = state();
  std::lock_guard<std::mutex> l(s.mu);
  s.set.clear();
}

TlTiles tl_tiles_for(const std::string& format, int64_t N, int64_t K, std::string* source) {
  State& s = state();
  std::lock_guard<std::mutex> l(s.mu);
  if (auto it = s.set.find(Key(format, N, K)); it != s.set.end()) {
    if (source) *source = "set";
    return it->second;
  }
  if (source) *source = "default";
  return tl_default_tiles(format);
}

}  // namespace tb
