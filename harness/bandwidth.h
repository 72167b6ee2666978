#pragma once
#include <cstddef>

namespace tb {
// Sustained read bandwidth (bytes per second) of `threads` OpenMP threads streaming a buffer of
// `bytes` (make it much larger than the last-level cache), after a parallel first touch so each thread's
// pages sit on its own NUMA node, by four readers: each thread reading its share as one sequential stream and as
// four side by side, and the fp16 LM head (tb::matmul_f16w, rows of 2560) walking its rows either way
// (tb::set_row_streams); `passes` timed passes of each, and the fastest reader's median is returned. `streams`, when
// given, gets the head's faster walk (1 or 4: what tb::set_row_streams takes).
double measure_read_bandwidth(int threads, size_t bytes, int passes, int* streams = nullptr);
// The probe keeps its buffer between calls (benchmarks re-probe often); this frees it (peak RSS figures).
void release_bandwidth_buffer();
// Best guess at the last-level cache size in bytes (0 when unknown).
size_t last_level_cache_bytes();
// Probe size that defeats the caches: 4 x the last-level cache, at least 512 MiB (an LLC figure above
// 256 MiB is taken as a VM's invention and ignored: one here reports 508 MiB of L3).
size_t bandwidth_probe_bytes();
}  // namespace tb
