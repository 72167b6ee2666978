// The machine's limits, per thread count: sustained read bandwidth (bounds decode, which streams every
// weight once per token) and peak int8 multiply-add rate of the best ISA path (bounds prefill). Cached
// per machine so sweeps can refer to them; a sweep also re-probes bandwidth beside each decode test.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "harness/results.h"
#include "kernels/kernel.h"

namespace tb {

struct RooflinePoint {
  int threads = 0;
  double read_gbs = 0;     // GB/s (1e9 bytes)
  int read_streams = 4;    // the fp16 LM head's faster row walk here: 1 sequential stream or 4 side by side
  double int8_gmacs = 0;   // 1e9 int8 multiply-adds per second, best path
  std::string isa, instructions, measured_at;
  // Every path this CPU runs (scalar, avx2, avx512vnni, neon): its int8 ceiling and instruction sequence. A
  // kernel is held to the ceiling of its own path (i2s__avx2 on an AVX-512 machine: the AVX2 ceiling).
  std::map<std::string, double> path_gmacs;
  std::map<std::string, std::string> path_instructions;
  // The ceiling of one path; 0 when it was not measured.
  double gmacs_of(const std::string& isa_name) const;
  // Paths whose GEMV kernels prefetch in software (avx2, avx512vnni): the distance (bytes, 0: none) with which
  // that path's cold i2s decode GEMV ran fastest here (measure_gemv_prefetch), and the time of every candidate.
  std::map<std::string, int64_t> path_prefetch;
  std::map<std::string, std::map<int64_t, double>> path_prefetch_us;
  // The distance the GEMV kernels of a path use at this thread count: the measured one, else the kernels' default.
  int64_t prefetch_of(const std::string& isa_name) const;
  // Variants whose inner loop is table lookups rather than their path's int8 multiply-adds and not tuned by tiles
  // (TLW on AVX-512: vpermw + vpaddw; i2s on AVX2 in prefill: Kernel::lookup_tokens): the multiply-add rate of their
  // own loop on cached data (measure_lookup_peak), by variant name. Their prefill rows are held to it instead of
  // the int8 ceiling.
  std::map<std::string, double> lookup_gmacs;
  double lookup_gmacs_of(const std::string& variant) const;  // 0 when not measured
};

// The variants measure_lookup_peak measures here: lookup formats without tiles and kernels with lookup_tokens, on
// the SIMD paths this CPU runs.
std::vector<const Kernel*> lookup_peak_kernels();
// A lookup variant's own GEMM on a problem that stays in cache (TLW: 128 rows x 4 tokens x K = 252, 28 index words,
// one int16 run, in L1; i2s__avx2: Kernel::gemm_rows (2560) rows x 16 tokens x K = 1536, all served by one pass's tables), called
// directly (no driver) by each of `threads` threads, timed as the int8 peak loops are
// (time_parallel_passes: about `seconds` a pass, median of `passes`): 1e9 multiply-adds per second.
double measure_lookup_peak(const Kernel& k, int threads, double seconds = 0.2, int passes = 3);

// The candidates, and how one path's distance is chosen: its cold i2s GEMV at 2B4T's ffn gate/up shape
// (6912 x 2560, the largest decode matmul) over copies larger than the caches, every candidate timed in turn,
// best of `passes`; the fastest wins. Microseconds per GEMV by path and distance, for every path this CPU runs whose
// kernels prefetch (none on NEON or scalar).
const std::vector<int64_t>& gemv_prefetch_candidates();
std::map<std::string, std::map<int64_t, double>> measure_gemv_prefetch(int threads, int passes = 3);

RooflinePoint measure_roofline(int threads);
double measure_read_gbs(int threads, int* streams = nullptr);  // bandwidth alone (about a second)

// $TERNBENCH_CACHE_DIR, else $XDG_CACHE_HOME/ternbench, else ~/.cache/ternbench: what ternbench measured here.
std::string ternbench_cache_dir();
// roofline-<host>.json in that folder.
std::string roofline_cache_path();

class RooflineCache {
 public:
  // Loads the cache when it exists and belongs to this machine (same host, CPU, CPU count, memory and
  // ISA path); otherwise starts empty and says why in note().
  explicit RooflineCache(std::string path = roofline_cache_path());
  const RooflinePoint* find(int threads) const;
  void put(const RooflinePoint& p);
  void save() const;  // throws tb::Error naming the path
  const std::string& note() const { return note_; }
  const std::string& path() const { return path_; }
  // The cached point, or a fresh measurement (stored and saved).
  const RooflinePoint& get(int threads);

 private:
  std::string path_, note_;
  std::map<int, RooflinePoint> points_;
};

}  // namespace tb
