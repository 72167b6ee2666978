// TL tiles above kernels/ (see tiles.h): files, the per-machine cache, the tuner.
#include "harness/tiles.h"

#include <algorithm>
#include <cmath>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "harness/bench_inputs.h"
#include "harness/machine.h"
#include "harness/results.h"
#include "harness/roofline.h"
#include "harness/ternary_matrix.h"
#include "kernels/kernel.h"
#include "model/config.h"

namespace tb {

namespace {

std::string cpu_slug() {
  std::string slug;
  for (char c : cpu_info().model) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) slug += char(std::tolower(u));
    else if (!slug.empty() && slug.back() != '-') slug += '-';
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  return slug.empty() ? std::string("unknown") : slug;
}

std::string parent_dir(const std::string& p) {
  const size_t s = p.rfind('/');
  return s == std::string::npos ? "." : p.substr(0, s);
}

// An integer field in [lo, hi]. nlohmann converts a float (2.7e43) to an integer with a cast whose overflow is
// undefined behaviour (found by fuzz_config), so a field must hold a JSON integer, and is range-checked before
// it is narrowed.
int64_t int_field(const json& e, const char* key, int64_t lo, int64_t hi, const std::string& at) {
  const json& v = e.at(key);
  if (!v.is_number_integer()) throw Error(at + "'" + key + "' must be an integer, not " + v.dump().substr(0, 40));
  if (v.is_number_unsigned() ? v.get<uint64_t>() > uint64_t(hi) : (v.get<int64_t>() < lo || v.get<int64_t>() > hi))
    throw Error(at + "'" + key + "' = " + v.dump() + " is outside " + std::to_string(lo) + ".." + std::to_string(hi));
  return v.get<int64_t>();
}

}  // namespace

TileFile parse_tiles(const std::string& text, const std::string& what) {
  json j;
  try {
    j = json::parse(text);
  } catch (const std::exception& e) {
    throw Error("tiles file " + what + ": not valid JSON (" + e.what() + ")");
  }
  if (!j.is_object() || !j.contains("tiles") || !j["tiles"].is_array())
    throw Error("tiles file " + what + ": want an object with a \"tiles\" array");
  TileFile f;
  try {
    f.cpu = j.value("cpu", "");
    f.host = j.value("host", "");
    f.note = j.value("note", "");
    f.threads = j.contains("threads") ? int(int_field(j, "threads", 0, 1 << 20, "tiles file " + what + ": ")) : 0;
  } catch (const json::exception& e) {
    throw Error("tiles file " + what + ": " + e.what());
  }
  for (size_t i = 0; i < j["tiles"].size(); ++i) {
    const json& e = j["tiles"][i];
    const std::string at = "tiles file " + what + ", entry " + std::to_string(i) + ": ";
    TileEntry t;
    try {
      t.format = e.at("format").get<std::string>();
      constexpr int64_t kMaxDim = int64_t(1) << 40, kMaxTile = int64_t(1) << 30;
      t.N = int_field(e, "N", -kMaxDim, kMaxDim, at);
      t.K = int_field(e, "K", -kMaxDim, kMaxDim, at);
      t.t.BM = int(int_field(e, "BM", 0, kMaxTile, at));
      t.t.BK = int(int_field(e, "BK", 0, kMaxTile, at));
      t.t.bm = int(int_field(e, "bm", 0, kMaxTile, at));
      t.us = e.value("us", 0.0);
      t.isa = e.value("isa", "");
    } catch (const json::exception& ex) {
      throw Error(at + ex.what());
    }
    if (t.N <= 0 || t.K <= 0) throw Error(at + "N and K must be positive");
    const std::string bad = tl_tiles_check(t.format, t.t);
    if (!bad.empty()) throw Error(at + bad);
    f.tiles.push_back(t);
  }
  return f;
}

TileFile read_tiles_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot read the tiles file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_tiles(ss.str(), path);
}

void write_tiles_file(const std::string& path, const TileFile& f) {
  json tiles = json::array();
  for (const TileEntry& t : f.tiles) {
    json e = {{"format", t.format}, {"N", t.N}, {"K", t.K}, {"BM", t.t.BM}, {"BK", t.t.BK}, {"bm", t.t.bm},
              {"us", std::round(t.us * 10) / 10}};
    if (!t.isa.empty()) e["isa"] = t.isa;
    tiles.push_back(e);
  }
  const json j = {{"cpu", f.cpu}, {"host", f.host}, {"threads", f.threads}, {"note", f.note}, {"tiles", tiles}};
  make_dirs(parent_dir(path), "pass another path, or set TERNBENCH_CACHE_DIR to a writable folder");
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << j.dump(2) << "\n";
    if (!out) throw Error("cannot write the tiles file " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw Error("cannot write the tiles file " + path);
}

std::string tiles_cache_path() {
  return ternbench_cache_dir() + "/tiles-" + machine_fingerprint()["host"].get<std::string>() + ".json";
}

std::string shipped_tiles_path() {
  const std::string p = parent_dir(model_config_dir()) + "/tiles/" + cpu_slug() + ".json";
  return std::ifstream(p) ? p : "";
}

std::vector<TlTiles> tile_candidates(const std::string& f, bool quick) {
  std::vector<TlTiles> out;
  // The short list keeps the choices the full tuner picked on the CPUs measured so far (bm as large as BM allows
  // up to 128) and varies BM, the row tile; the format says which BK.
  if (quick) {
    for (int BM : {64, 128, 256})
      for (int BK : tl_bk_candidates(f, true)) out.push_back({BM, BK, std::min(BM, 128)});
    return out;
  }
  for (int BM : {64, 128, 256})
    for (int BK : tl_bk_candidates(f, false))
      for (int bm : {32, 64, 128})
        if (bm <= BM) out.push_back({BM, BK, bm});
  return out;
}

TileEntry tune_shape(const Kernel& k, int64_t N, int64_t K, const TuneOptions& o,
                     const std::function<void(const TlTiles&, double, double)>& on_candidate) {
  using clk = std::chrono::steady_clock;
  const std::string f = k.format->name;
  const auto w = ternary_matrix(N, K, 42);
  const std::vector<float> x = bench_activations(K);
  QuantizedActs acts;
  quantize_activations(x.data(), 1, K, acts);
  PreparedActs prep;
  prepare_activations(k, acts, prep);
  std::vector<float> y(static_cast<size_t>(N));
  TileEntry best{f, N, K, {}, 1e30, isa_name(k.isa)};
  for (const TlTiles& t : tile_candidates(f, o.quick)) {
    tl_tiles_set(f, N, K, t);
    std::vector<PackedWeights> copies;
    copies.push_back(pack_weights(find_format(f), w.data(), N, K, 0.01f));
    const size_t per = copies[0].data.size();
    add_cold_copies(copies, size_t(o.cold_mb) << 20);
    // Seconds per GEMV: the best of `reps` passes over the cold copies (each pass >= 16 calls).
    const size_t calls = std::max<size_t>(16, copies.size());
    for (size_t i = 0; i < copies.size(); ++i) run_f32(k, copies[i], prep, y.data(), o.threads);  // warm-up
    double sec = 1e30;
    for (int r = 0; r < o.reps; ++r) {
      const auto t0 = clk::now();
      for (size_t i = 0; i < calls; ++i) run_f32(k, copies[i % copies.size()], prep, y.data(), o.threads);
      sec = std::min(sec, std::chrono::duration<double>(clk::now() - t0).count() / double(calls));
    }
    if (on_candidate) on_candidate(t, sec * 1e6, double(per) / sec / 1e9);
    if (sec * 1e6 < best.us) best = {f, N, K, t, sec * 1e6, isa_name(k.isa)};
  }
  tl_tiles_unset(f, N, K);
  return best;
}

namespace {

// Step 4 of install_tiles: tunes each shape here and writes it to this machine's cache after each one (an
// interrupted tuning keeps what it found).
void tune_and_cache(const std::vector<TileNeed>& todo, const TuneOptions& o, TileFile cached, const std::string& cache,
                    const std::function<void(const std::string&)>& say) {
  say("TL tiles: " + std::to_string(todo.size()) + " shape" + (todo.size() == 1 ? "" : "s") +
      " without tuned tiles on this CPU and path; tuning them now (" + std::to_string(tile_candidates("tl1", o.quick).size()) +
      " candidates each, cold decode GEMV at " + std::to_string(o.threads) + " thread" + (o.threads == 1 ? "" : "s") +
      "), once: the result is cached in " + cache);
  if (cached.cpu.empty()) {
    cached.cpu = cpu_info().model;
    cached.host = machine_fingerprint()["host"].get<std::string>();
    cached.threads = o.threads;
    cached.note = "tuned automatically by the sweep (harness/tiles.cpp): fastest cold-weight GEMV of the short "
                  "candidate list; `harness tune` tries the full list";
  }
  for (const TileNeed& n : todo) {
    const auto t0 = std::chrono::steady_clock::now();
    const TileEntry best = tune_shape(n.variant(), n.N, n.K, o);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    tl_tiles_set(n.format, n.N, n.K, best.t);
    char buf[200];
    std::snprintf(buf, sizeof buf, "TL tiles: %s %lldx%lld tuned in %.1f s: BM=%d BK=%d bm=%d (%.1f us per GEMV)",
                  n.format.c_str(), (long long)n.N, (long long)n.K, s, best.t.BM, best.t.BK, best.t.bm, best.us);
    say(buf);
    cached.tiles.erase(std::remove_if(cached.tiles.begin(), cached.tiles.end(),
                                      [&](const TileEntry& e) {
                                        return e.format == n.format && e.N == n.N && e.K == n.K && e.isa == best.isa;
                                      }),
                       cached.tiles.end());
    cached.tiles.push_back(best);
    write_tiles_file(cache, cached);  // after each shape: an interrupted tuning keeps what it found
  }
}

}  // namespace

void install_tiles(const std::vector<TileNeed>& needs, bool tune_missing, const TuneOptions& o,
                   const std::function<void(const std::string&)>& say) {
  using Key = std::tuple<std::string, std::string, int64_t, int64_t>;  // path, format, N, K
  std::vector<TileNeed> todo;
  for (const TileNeed& n : needs) {
    bool dup = false;
    for (const TileNeed& m : todo) dup |= m.format == n.format && m.N == n.N && m.K == n.K;
    if (!dup) todo.push_back(n);
  }
  if (todo.empty()) return;
  // Tiles installed for another variant of the same format and shape must not carry over to this one.
  for (const TileNeed& n : todo) tl_tiles_unset(n.format, n.N, n.K);
  auto take = [&](const TileFile& f, const std::string& what) {
    std::map<Key, TlTiles> have;  // an entry without a path holds for any path
    for (const TileEntry& e : f.tiles) have[Key(e.isa, e.format, e.N, e.K)] = e.t;
    std::vector<TileNeed> left;
    int used = 0;
    for (const TileNeed& n : todo) {  // tiles of the path that runs (or of any path) only
      auto it = have.find(Key(isa_name(n.variant().isa), n.format, n.N, n.K));
      if (it == have.end()) it = have.find(Key("", n.format, n.N, n.K));
      if (it == have.end()) {
        left.push_back(n);
        continue;
      }
      tl_tiles_set(n.format, n.N, n.K, it->second);
      ++used;
    }
    if (used) say("TL tiles: " + std::to_string(used) + " shape" + (used == 1 ? "" : "s") + " from " + what);
    todo = left;
  };
  // 1. The user's file: explicit, so a shape it lacks is said, not tuned over.
  if (const char* e = std::getenv("TERNBENCH_TILES"); e && *e) {
    take(read_tiles_file(e), std::string(e) + " ($TERNBENCH_TILES)");
    for (const TileNeed& n : todo)
      say("TL tiles: " + n.format + " " + std::to_string(n.N) + "x" + std::to_string(n.K) + " is not in " + e +
          " ($TERNBENCH_TILES): default tiles");
    return;
  }
  // 2. This machine's cache.
  const std::string cache = tiles_cache_path();
  TileFile cached;
  if (std::ifstream(cache)) {
    try {
      cached = read_tiles_file(cache);
      if (cached.cpu != cpu_info().model) {
        say("TL tiles: the cache " + cache + " was tuned on another CPU (" + cached.cpu + "); not used");
        cached = TileFile{};
      } else {
        take(cached, cache + " (tuned on this machine, " + std::to_string(cached.threads) + " thread" +
                         (cached.threads == 1 ? "" : "s") + ")");
      }
    } catch (const Error& err) {
      say(std::string("TL tiles: the cache is unreadable, tuning again: ") + err.what());
      cached = TileFile{};
    }
  }
  // 3. Tiles shipped for this CPU model.
  if (!todo.empty()) {
    const std::string shipped = shipped_tiles_path();
    if (!shipped.empty()) take(read_tiles_file(shipped), shipped + " (shipped for this CPU model)");
  }
  if (todo.empty()) return;
  // 4. Tune the rest here, or say that they run on defaults.
  if (!tune_missing) {
    for (const TileNeed& n : todo) {
      const TlTiles d = tl_default_tiles(n.format);
      say("TL tiles: " + n.format + " " + std::to_string(n.N) + "x" + std::to_string(n.K) +
          " has no tuned tiles on this CPU: default tiles BM=" + std::to_string(d.BM) + " BK=" + std::to_string(d.BK) +
          " bm=" + std::to_string(d.bm) + " (tuning is off; `harness tune` tunes)");
    }
    return;
  }
  tune_and_cache(todo, o, cached, cache, say);
}

}  // namespace tb
