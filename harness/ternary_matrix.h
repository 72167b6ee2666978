// Deterministic ternary test matrices for the benchmarks and the tuner (splitmix64; about a third zeros).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/rng.h"

namespace tb {
inline std::vector<int8_t> ternary_matrix(int64_t N, int64_t K, uint64_t seed) {
  std::vector<int8_t> w(static_cast<size_t>(N * K));
  SplitMix64 r(seed);
  for (auto& v : w) v = int8_t(int(r.next() % 3) - 1);
  return w;
}
}  // namespace tb
