// Read-bandwidth probe: the roofline for weight streaming (decode GEMV). Portable vector code (GCC
// vector extensions compile to SSE2 on x86-64 and to NEON on AArch64), independent accumulators so the
// loop is bound by loads, not by the adds; the faster of two access patterns (see measure_read_bandwidth).
#include "harness/bandwidth.h"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "kernels/aligned_buffer.h"

namespace tb {

namespace {
typedef uint64_t v2u64 __attribute__((vector_size(16)));
volatile uint64_t g_sink;
// One buffer kept across calls (benchmarks re-probe next to each cold run); first touch by the
// probing threads so pages sit on their NUMA nodes.
uint8_t* p = nullptr;
size_t have = 0;
int touched_by = 0;
}  // namespace

void release_bandwidth_buffer() {
  std::free(p);
  p = nullptr;
  have = 0;
  touched_by = 0;
}

namespace {

// One timed read of the buffer by `threads` threads, each reading its share as S runs side by side (S = 1:
// one sequential stream per thread), two accumulators per run, so loads bind, not adds.
// Returns the seconds taken; `read` gets the bytes read.
template <int S>
double read_once(const v2u64* v, size_t nvec, int threads, size_t& read) {
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t total = 0;
  size_t team = 0;
#pragma omp parallel num_threads(threads) reduction(^ : total)
  {
    const int nt = omp_get_num_threads(), id = omp_get_thread_num();
#pragma omp single
    team = size_t(nt);
    const size_t groups = nvec / 8, per = groups / size_t(nt), g0 = per * size_t(id);
    const size_t q = per / S;
    const v2u64* b[S];
    for (int r = 0; r < S; ++r) b[r] = v + 8 * (g0 + q * size_t(r));
    v2u64 a[2 * S] = {};
    for (size_t i = 0; i < 8 * q; i += 8) {
#pragma GCC unroll 4
      for (int r = 0; r < S; ++r) {
        const v2u64* p = b[r] + i;
        a[2 * r] += p[0] + p[1];
        a[2 * r + 1] += p[2] + p[3];
        a[2 * r] += p[4] + p[5];
        a[2 * r + 1] += p[6] + p[7];
      }
    }
    v2u64 s = {};
    for (const v2u64& x : a) s ^= x;
    total ^= s[0] ^ s[1];
  }
  g_sink = total;
  read = team * (nvec / 8 / team / S) * S * 8 * sizeof(v2u64);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

double measure_read_bandwidth(int threads, size_t bytes, int passes, int* streams) {
  bytes = bytes / 4096 * 4096;
  const size_t nvec = bytes / sizeof(v2u64);
  if (have != bytes || touched_by != threads) {
    std::free(p);
    p = static_cast<uint8_t*>(allocate_large(bytes));  // the same kind of pages packed weights get
    have = bytes;
    touched_by = threads;
    v2u64* v = reinterpret_cast<v2u64*>(p);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t i = 0; i < nvec; ++i) v[i] = v2u64{i, ~i};
  }
  const v2u64* v = reinterpret_cast<const v2u64*>(p);
  // Two ways to read, each thread's share as one sequential stream or as four side by side, alternated pass by
  // pass; the faster one's median is the figure. Which is faster depends on the CPU: the probe read four streams
  // only until 2026-12-06 (one stream per core leaves bandwidth unused on many CPUs), but on a Zen 4 VM one stream
  // read 30 GB/s on one thread and four 21 GB/s (two: 16), while the decode kernels streamed 23-25 GB/s. A ceiling
  // is what some reader reaches.
  std::vector<double> secs1, secs4;
  size_t read1 = 0, read4 = 0;
  for (int pass = 0; pass < passes + 1; ++pass) {  // pass 0 is a warm-up
    const double t4 = read_once<4>(v, nvec, threads, read4);
    const double t1 = read_once<1>(v, nvec, threads, read1);
    if (pass > 0) {
      secs4.push_back(t4);
      secs1.push_back(t1);
    }
  }
  std::sort(secs1.begin(), secs1.end());
  std::sort(secs4.begin(), secs4.end());
  const double bw1 = double(read1) / secs1[secs1.size() / 2], bw4 = double(read4) / secs4[secs4.size() / 2];
  if (streams) *streams = bw1 > bw4 ? 1 : 4;
  return std::max(bw1, bw4);
}

size_t last_level_cache_bytes() {
  long best = 0;
#ifdef _SC_LEVEL3_CACHE_SIZE
  best = std::max(best, sysconf(_SC_LEVEL3_CACHE_SIZE));
#endif
#ifdef _SC_LEVEL2_CACHE_SIZE
  best = std::max(best, sysconf(_SC_LEVEL2_CACHE_SIZE));
#endif
  return best > 0 ? size_t(best) : 0;
}

size_t bandwidth_probe_bytes() {
  const size_t llc = last_level_cache_bytes();
  return std::max<size_t>(size_t(512) << 20, llc > (size_t(256) << 20) ? 0 : 4 * llc);
}

}  // namespace tb
