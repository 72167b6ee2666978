// Tile parameters of the TL1/TL2 formats as data: per shape, handed down by the layers above (harness/tiles.h
// reads tiles files, the per-machine cache, and tunes), with defaults for shapes given none. kernels/ reads no
// file. The tiles a matrix was packed with are stored in its header, so a run always uses the tiles of its pack.
//   BM: rows per row tile (multiple of 32); the weights of a BM x BK tile are contiguous.
//   BK: weights per K tile, the span of one int16 partial sum (TL1: multiple of 4, <= 252;
//       TL2: multiple of 6, <= 252; bounds in tl_format.cpp).
//   bm: rows one GEMV step walks side by side, sharing each table load (32, 64 or 128; <= BM).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tb {

struct TlTiles {
  int BM = 0, BK = 0, bm = 0;
};

// "" if the tiles are valid for the format ("tl1" or "tl2"), else the violated rule.
std::string tl_tiles_check(const std::string& format, const TlTiles& t);
TlTiles tl_default_tiles(const std::string& format);
// The BK values a tuner tries for the format (each valid for it): the full list, or the short one of automatic
// tuning (BK at the int16 bound or near it, the choices the full tuner made on the CPUs measured so far).
std::vector<int> tl_bk_candidates(const std::string& format, bool quick);

// The tiles of one shape, until reset (throws tb::Error naming the rule tiles break); unset returns the shape to
// the defaults.
void tl_tiles_set(const std::string& format, int64_t N, int64_t K, const TlTiles& t);
void tl_tiles_unset(const std::string& format, int64_t N, int64_t K);
void tl_tiles_reset();

// The tiles for a shape: the ones set, else the defaults. source (optional): "set" or "default".
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
