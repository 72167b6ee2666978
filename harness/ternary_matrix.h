// Deterministic ternary test matrices for the benchmarks and the tuner (splitmix64; about a third zeros).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tb {
inline std::vector<int8_t> ternary_matrix(int64_t N, int64_t K, uint64_t seed) {
  std::vector<int8_t> w(static_cast<size_t>(N * K));
  uint64_t s = seed;
  for (auto& v : w) {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    v = int8_t(int((z ^ (z >> 31)) % 3) - 1);
  }
  return w;
}
}  // namespace tb
