#pragma once
#include <cstddef>

namespace tb {
// Sustained read bandwidth (bytes per second) of `threads` OpenMP threads streaming a buffer of
// `bytes` (make it much larger than the last-level cache): the median of `passes` timed passes, after
// a parallel first touch so each thread's pages sit on its own NUMA node.
double measure_read_bandwidth(int threads, size_t bytes, int passes);
// Best guess at the last-level cache size in bytes (0 when unknown).
size_t last_level_cache_bytes();
}  // namespace tb
