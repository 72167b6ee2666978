// Read-bandwidth probe: the roofline for weight streaming (decode GEMV). Portable vector code (GCC
// vector extensions compile to SSE2 on x86-64 and to NEON on AArch64), eight independent accumulators
// so the loop is bound by loads, not by the adds.
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

double measure_read_bandwidth(int threads, size_t bytes, int passes) {
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
  std::vector<double> secs;
  size_t read = 0;
  for (int pass = 0; pass < passes + 1; ++pass) {  // pass 0 is a warm-up
    const auto t0 = std::chrono::steady_clock::now();
    uint64_t total = 0;
    size_t team = 0;
#pragma omp parallel num_threads(threads) reduction(^ : total)
    {
      // Each thread reads its share as four streams side by side, as the GEMV kernels do: one stream
      // per core leaves bandwidth unused on many CPUs, so a one-stream probe understates the roofline.
      const int nt = omp_get_num_threads(), id = omp_get_thread_num();
#pragma omp single
      team = size_t(nt);
      const size_t groups = nvec / 8, per = groups / size_t(nt), g0 = per * size_t(id);
      const size_t q = per / 4;
      const v2u64* b0 = v + 8 * g0;
      const v2u64 *b1 = b0 + 8 * q, *b2 = b1 + 8 * q, *b3 = b2 + 8 * q;
      v2u64 a0{}, a1{}, a2{}, a3{}, a4{}, a5{}, a6{}, a7{};
      for (size_t i = 0; i < 8 * q; i += 8) {
        a0 += b0[i] + b0[i + 1]; a1 += b0[i + 2] + b0[i + 3]; a0 += b0[i + 4] + b0[i + 5]; a1 += b0[i + 6] + b0[i + 7];
        a2 += b1[i] + b1[i + 1]; a3 += b1[i + 2] + b1[i + 3]; a2 += b1[i + 4] + b1[i + 5]; a3 += b1[i + 6] + b1[i + 7];
        a4 += b2[i] + b2[i + 1]; a5 += b2[i + 2] + b2[i + 3]; a4 += b2[i + 4] + b2[i + 5]; a5 += b2[i + 6] + b2[i + 7];
        a6 += b3[i] + b3[i + 1]; a7 += b3[i + 2] + b3[i + 3]; a6 += b3[i + 4] + b3[i + 5]; a7 += b3[i + 6] + b3[i + 7];
      }
      const v2u64 s = (a0 ^ a1) ^ (a2 ^ a3) ^ (a4 ^ a5) ^ (a6 ^ a7);
      total ^= s[0] ^ s[1];
    }
    g_sink = total;
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    read = team * (nvec / 8 / team / 4) * 4 * 8 * sizeof(v2u64);
    if (pass > 0) secs.push_back(dt);
  }
  std::sort(secs.begin(), secs.end());
  return double(read) / secs[secs.size() / 2];
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
