#pragma once
#include <cstddef>

namespace tb {
// Sustained read bandwidth (bytes per second) of `threads` OpenMP threads streaming a buffer of
// `bytes` (make it much larger than the last-level cache): the median of `passes` timed passes, after
// a parallel first touch so each thread's pages sit on its own NUMA node.
double measure_read_bandwidth(int threads, size_t bytes, int passes);
// The probe keeps its buffer between calls (benchmarks re-probe often); this frees it (peak RSS figures).
void release_bandwidth_buffer();
// Best guess at the last-level cache size in bytes (0 when unknown).
size_t last_level_cache_bytes();
// Probe size that defeats the caches: 4 x the last-level cache, at least 512 MiB (an LLC figure above
// 256 MiB is taken as a VM's invention and ignored: one here reports 508 MiB of L3).
size_t bandwidth_probe_bytes();
}  // namespace tb
