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


namespace tb {

namespace {
typedef uint64_t v2u64 __attribute__((vector_size(16)));
volatile uint64_t g_sink;
}  // namespace

double measure_read_bandwidth(int threads, size_t bytes, int passes) {
  bytes = bytes / 4096 * 4096;
  // Not AlignedBuffer: its serial memset would place every page on one NUMA node; first touch below.
  uint8_t* p = static_cast<uint8_t*>(std::aligned_alloc(4096, bytes));
  if (!p) return 0.0;
  const size_t nvec = bytes / sizeof(v2u64);
  v2u64* v = reinterpret_cast<v2u64*>(p);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (size_t i = 0; i < nvec; ++i) v[i] = v2u64{i, ~i};
  std::vector<double> secs;
  for (int pass = 0; pass < passes + 1; ++pass) {  // pass 0 is a warm-up
    const auto t0 = std::chrono::steady_clock::now();
    uint64_t total = 0;
#pragma omp parallel num_threads(threads) reduction(^ : total)
    {
      v2u64 a0{}, a1{}, a2{}, a3{}, a4{}, a5{}, a6{}, a7{};
#pragma omp for schedule(static)
      for (size_t i = 0; i < nvec / 8; ++i) {
        const v2u64* q = v + 8 * i;
        a0 += q[0]; a1 += q[1]; a2 += q[2]; a3 += q[3]; a4 += q[4]; a5 += q[5]; a6 += q[6]; a7 += q[7];
      }
      const v2u64 s = (a0 ^ a1) ^ (a2 ^ a3) ^ (a4 ^ a5) ^ (a6 ^ a7);
      total ^= s[0] ^ s[1];
    }
    g_sink = total;
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (pass > 0) secs.push_back(dt);
  }
  std::free(p);
  std::sort(secs.begin(), secs.end());
  return double(nvec / 8 * 8 * sizeof(v2u64)) / secs[secs.size() / 2];
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

}  // namespace tb
