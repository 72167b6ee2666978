// TL1/TL2 tiles above kernels/: tiles files, the per-machine cache, and the tuner that fills it. kernels/ keeps
// only the tiles it is handed (tl_tiles_set) and its defaults; everything here decides which tiles those are.
//
// Where a shape's tiles come from, in order:
//   1. $TERNBENCH_TILES, a tiles file the user names (never tuned over);
//   2. the cache of this machine (tiles-<host>.json beside the roofline cache), written by the tuner here;
//   3. configs/tiles/<cpu>.json, tiles shipped for this CPU model;
//   4. tuned now, on this machine, and added to the cache (a sweep says so), unless tuning is off, when the
//      kernels' defaults are used and said.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/tl_tiles.h"

namespace tb {

struct TileEntry {
  std::string format;  // "tl1" or "tl2"
  int64_t N = 0, K = 0;
  TlTiles t;
  double us = 0;  // the tuner's time of one cold GEMV (0: not recorded)
  // The ISA path the tiles were tuned on ("avx2", "avx512vnni", ...): the best tiles of one path need not be the
  // best of another on the same CPU (--isa avx2 on an AVX-512 machine). "": any path (a file written by hand).
  std::string isa;
};

struct TileFile {
  std::string cpu, host, note;
  int threads = 0;  // thread count of the tuner's timing (0: not recorded)
  std::vector<TileEntry> tiles;
};

// {"cpu": "...", "host": "...", "threads": 1, "note": "...", "tiles": [{"format": "tl2", "N": 2560, "K": 6912,
// "BM": 128, "BK": 192, "bm": 64, "us": 118.8, "isa": "avx2"}, ...]}. Throws tb::Error naming the file and the entry (a bad
// JSON text, a missing field, tiles that break the format's rules).
TileFile read_tiles_file(const std::string& path);
TileFile parse_tiles(const std::string& text, const std::string& what);
// Whole file, written to a temporary name and renamed. Throws tb::Error naming the path.
void write_tiles_file(const std::string& path, const TileFile& f);

std::string tiles_cache_path();    // $TERNBENCH_CACHE_DIR (or as the roofline cache)/tiles-<host>.json
std::string shipped_tiles_path();  // configs/tiles/<cpu>.json under the source tree ("" when absent)

struct TuneOptions {
  int threads = 1;
  long cold_mb = 256;  // the rotated weight copies together: larger than the last-level cache
  int reps = 5;        // timed passes per candidate; the best counts
  bool quick = false;  // the short candidate list of automatic tuning
};
// The candidates tried: the full list (harness tune), or the short one (automatic tuning, a sweep's first run).
std::vector<TlTiles> tile_candidates(const std::string& format, bool quick);
// Times the cold-weight decode GEMV of every candidate for one shape; on_candidate sees each result. Leaves no
// tiles set for the shape.
TileEntry tune_shape(const Kernel& variant, int64_t N, int64_t K, const TuneOptions& o,
                     const std::function<void(const TlTiles&, double us, double gbs)>& on_candidate = {});

struct TileNeed {
  std::string format;
  int64_t N = 0, K = 0;
  const Kernel* kernel = nullptr;  // the variant that will run (its path's tiles); nullptr: the format's best here
  const Kernel& variant() const { return kernel ? *kernel : select_kernel(format); }
};
// Hands the kernels tiles for every shape needed (tl_tiles_set), from the sources above. tune_missing: shapes
// found nowhere are tuned now and cached; otherwise they run on defaults. say() gets one line per source used
// and per shape tuned or on defaults, so a run never uses tiles it does not name.
void install_tiles(const std::vector<TileNeed>& needs, bool tune_missing, const TuneOptions& o,
                   const std::function<void(const std::string&)>& say);

}  // namespace tb
