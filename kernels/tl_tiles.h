// Tile parameters of the TL1/TL2 formats as data: per CPU and shape, read from
// configs/tiles/<cpu>.json (written by the tuner, harness/tune.cpp), with defaults for shapes the
// file does not list. The tiles a matrix was packed with are stored in its header, so a run always
// uses the tiles of its pack.
//   BM: rows per row tile (multiple of 32); the weights of a BM x BK tile are contiguous.
//   BK: weights per K tile, the span of one int16 partial sum (TL1: multiple of 4, <= 252;
//       TL2: multiple of 6, <= 252; bounds in tl_format.cpp).
//   bm: rows one GEMV step walks side by side, sharing each table load (32, 64 or 128; <= BM).
#pragma once
#include <cstdint>
#include <string>

namespace tb {

struct TlTiles {
  int BM = 0, BK = 0, bm = 0;
};

// "" if the tiles are valid for the format ("tl1" or "tl2"), else the violated rule.
std::string tl_tiles_check(const std::string& format, const TlTiles& t);
TlTiles tl_default_tiles(const std::string& format);

// configs/tiles/<cpu>.json for this CPU (cpu = brand string in lower case, non-alphanumerics as '-').
std::string tl_tiles_cpu_file();
// Reads a tiles file: {"cpu": "...", "tiles": [{"format": "tl2", "N": 2560, "K": 6912, "BM": 128,
// "BK": 192, "bm": 64}, ...]}. Replaces what was loaded before. Throws tb::Error on a bad file.
void tl_tiles_load(const std::string& path);
// Overrides for one shape (the tuner, tests); cleared by tl_tiles_reset().
void tl_tiles_set(const std::string& format, int64_t N, int64_t K, const TlTiles& t);
void tl_tiles_reset();

// The tiles for a shape: an override, else the loaded file, else the defaults. On first use, loads
// $TERNBENCH_TILES if set, else configs/tiles/<cpu>.json (from the working directory or the source
// tree) if it exists. source (optional) says where the tiles came from; a shape on defaults gets a
// one-line note on stderr (once per process).
TlTiles tl_tiles_for(const std::string& format, int64_t N, int64_t K, std::string* source = nullptr);

}  // namespace tb

namespace tb {

// Exact storage of one packed TL matrix, in bytes: index nibbles holding real weights, sign bits
// (TL2), padding (index nibbles of padded K slots and padded rows), and the 64-byte header.
struct TlBytes {
  double index = 0, sign = 0, pad = 0, header = 0;
  size_t total = 0;
};
TlBytes tl_bytes_breakdown(const std::string& format, int64_t N, int64_t K);

}  // namespace tb
