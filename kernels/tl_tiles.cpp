// TL tile parameters as data (see tl_tiles.h).
#include "kernels/tl_tiles.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <tuple>

#include "kernels/cpu_features.h"
#include "kernels/error.h"

namespace tb {
namespace {

using Key = std::tuple<std::string, int64_t, int64_t>;

struct State {
  std::mutex mu;
  bool tried_file = false;
  std::string file;                  // the tiles file loaded, "" if none
  std::map<Key, TlTiles> from_file, overrides;
  bool noted = false;
};
State& state() {
  static State s;
  return s;
}

// The tiles file is flat JSON: {"cpu": "...", "tiles": [{"format": "tl2", "N": 2560, ...}, ...]}.
// A small reader for exactly that (kernels/ depends on no JSON library): objects of string and number
// values inside the "tiles" array; anything else is an error naming the position.
struct FlatJson {
  const std::string& t;
  size_t i = 0;
  std::string path;
  [[noreturn]] void fail(const std::string& what) const {
    throw Error("tiles file " + path + ": " + what + " at byte " + std::to_string(i));
  }
  void ws() {
    while (i < t.size() && std::isspace(static_cast<unsigned char>(t[i]))) ++i;
  }
  bool eat(char c) {
    ws();
    if (i < t.size() && t[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }
  std::string str() {
    expect('"');
    std::string out;
    while (i < t.size() && t[i] != '"') {
      if (t[i] == '\\' && i + 1 < t.size()) ++i;
      out += t[i++];
    }
    if (i >= t.size()) fail("unterminated string");
    ++i;
    return out;
  }
  // A value: string, number, or (skipped) nested object/array/literal. Returns its text.
  std::string value() {
    ws();
    if (i < t.size() && t[i] == '"') return str();
    if (i < t.size() && (t[i] == '{' || t[i] == '[')) {
      int depth = 0;
      bool in_str = false;
      const size_t b = i;
      for (; i < t.size(); ++i) {
        const char c = t[i];
        if (in_str) {
          if (c == '\\') ++i;
          else if (c == '"') in_str = false;
        } else if (c == '"') in_str = true;
        else if (c == '{' || c == '[') ++depth;
        else if ((c == '}' || c == ']') && --depth == 0) {
          ++i;
          return t.substr(b, i - b);
        }
      }
      fail("unterminated object or array");
    }
    const size_t b = i;
    while (i < t.size() && t[i] != ',' && t[i] != '}' && t[i] != ']' && !std::isspace(static_cast<unsigned char>(t[i]))) ++i;
    if (b == i) fail("expected a value");
    return t.substr(b, i - b);
  }
};

int64_t to_int(const std::map<std::string, std::string>& o, const std::string& k) {
  auto it = o.find(k);
  if (it == o.end()) throw Error("missing \"" + k + "\"");
  char* end = nullptr;
  const long long v = std::strtoll(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end) throw Error("\"" + k + "\" is not an integer: " + it->second);
  return v;
}

void load_locked(State& s, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot open tiles file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  FlatJson p{text, 0, path};
  std::map<Key, TlTiles> m;
  bool saw_tiles = false;
  p.expect('{');
  if (!p.eat('}')) {
    do {
      const std::string key = p.str();
      p.expect(':');
      if (key != "tiles") {
        p.value();
        continue;
      }
      saw_tiles = true;
      p.expect('[');
      if (p.eat(']')) continue;
      do {
        const size_t at = p.i;
        std::map<std::string, std::string> o;
        p.expect('{');
        if (!p.eat('}')) {
          do {
            const std::string k = p.str();
            p.expect(':');
            o[k] = p.value();
          } while (p.eat(','));
          p.expect('}');
        }
        try {
          auto f = o.find("format");
          if (f == o.end()) throw Error("missing \"format\"");
          TlTiles t;
          t.BM = int(to_int(o, "BM"));
          t.BK = int(to_int(o, "BK"));
          t.bm = int(to_int(o, "bm"));
          const std::string bad = tl_tiles_check(f->second, t);
          if (!bad.empty()) throw Error(bad);
          m[Key(f->second, to_int(o, "N"), to_int(o, "K"))] = t;
        } catch (const Error& e) {
          throw Error("tiles file " + path + ": bad entry at byte " + std::to_string(at) + ": " + e.what());
        }
      } while (p.eat(','));
      p.expect(']');
    } while (p.eat(','));
    p.expect('}');
  }
  if (!saw_tiles) throw Error("tiles file " + path + ": want an object with a \"tiles\" array");
  s.from_file = std::move(m);
  s.file = path;
  s.tried_file = true;
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

std::string tl_tiles_cpu_file() {
  std::string slug;
  for (char c : cpu_info().model) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) slug += char(std::tolower(u));
    else if (!slug.empty() && slug.back() != '-') slug += '-';
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  return "configs/tiles/" + (slug.empty() ? std::string("unknown") : slug) + ".json";
}

void tl_tiles_load(const std::string& path) {
  State& s = state();
  std::lock_guard<std::mutex> l(s.mu);
  load_locked(s, path);
}

void tl_tiles_set(const std::string& format, int64_t N, int64_t K, const TlTiles& t) {
  const std::string bad = tl_tiles_check(format, t);
  if (!bad.empty()) throw Error(bad);
  State& s = state();
  std::lock_guard<std::mutex> l(s.mu);
  s.overrides[Key(format, N, K)] = t;
}

void tl_tiles_reset() {
  State& s = state();
  std::lock_guard<std::mutex> l(s.mu);
  s.overrides.clear();
}

TlTiles tl_tiles_for(const std::string& format, int64_t N, int64_t K, std::string* source) {
  State& s = state();
  std::lock_guard<std::mutex> l(s.mu);
  const Key key(format, N, K);
  if (auto it = s.overrides.find(key); it != s.overrides.end()) {
    if (source) *source = "override";
    return it->second;
  }
  if (!s.tried_file) {
    s.tried_file = true;
    std::string path;
    if (const char* e = std::getenv("TERNBENCH_TILES"); e && *e) path = e;
    else {
      for (const std::string& p : {tl_tiles_cpu_file(), std::string(TB_SOURCE_DIR) + "/" + tl_tiles_cpu_file()})
        if (std::ifstream(p)) {
          path = p;
          break;
        }
    }
    if (!path.empty()) load_locked(s, path);
  }
  if (auto it = s.from_file.find(key); it != s.from_file.end()) {
    if (source) *source = s.file;
    return it->second;
  }
  const TlTiles d = tl_default_tiles(format);
  if (source) *source = "default";
  if (!s.noted) {
    s.noted = true;
    std::fprintf(stderr,
                 "ternbench: no tuned TL tiles for %s %lldx%lld (%s); default tiles BM=%d BK=%d bm=%d "
                 "(further shapes on defaults are not noted)\n",
                 format.c_str(), (long long)N, (long long)K,
                 s.file.empty() ? ("no " + tl_tiles_cpu_file()).c_str() : ("not in " + s.file).c_str(), d.BM, d.BK,
                 d.bm);
  }
  return d;
}

}  // namespace tb
