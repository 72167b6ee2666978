// The inputs the kernel benchmarks (bench_kernels) and the TL tile tuner (tiles.cpp) time kernels on: the same
// fixed activations, and cold copies of one packed matrix that together exceed the last-level cache.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/kernel.h"

namespace tb {

// n values spread over [-1000, 1000] / divisor by Knuth's multiplicative hash of the index: seedless and the
// same in every program, so two tools time the same input.
inline std::vector<float> bench_activations(int64_t n, float divisor = 137.0f) {
  std::vector<float> x(static_cast<size_t>(n));
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(int64_t(i * 2654435761u % 2001) - 1000) / divisor;
  return x;
}

// Grows copies (holding at least the original) with byte-identical clones of copies[0] until they hold at least
// total_bytes together (and at least two): a pass over them reads every weight from memory, not from a cache.
inline void add_cold_copies(std::vector<PackedWeights>& copies, size_t total_bytes) {
  const size_t per = copies[0].data.size();
  const size_t want = std::max<size_t>(2, (total_bytes + per - 1) / per);
  while (copies.size() < want) {
    PackedWeights c;
    c.format = copies[0].format;
    c.N = copies[0].N;
    c.K = copies[0].K;
    c.scale = copies[0].scale;
    c.data = copies[0].data.clone();
    copies.push_back(std::move(c));
  }
}

}  // namespace tb
