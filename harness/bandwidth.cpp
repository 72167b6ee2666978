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
#include "kernels/float_matmul.h"

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

// One timed fp16 LM head GEMV (tb::matmul_f16w, one token) over the buffer read as rows of 2560 fp16 weights (2B4T's
// hidden size), its rows walked as `streams` says (tb::set_row_streams). The head is a reader too: on a Zen 3 VM
// (2026-12-08) it streamed 27 GB/s on one thread with four streams, each fetched 1 KiB ahead in software, while
// neither plain pattern above read more than 21. Whatever the bytes hold (NaNs too), they cost what any weights do.
double read_head_once(const uint8_t* buf, size_t bytes, int threads, int streams, size_t& read) {
  constexpr int64_t K = 2560;
  const int64_t N = int64_t(bytes / (2 * K));
  static thread_local std::vector<float> x, y;
  x.assign(size_t(K), 1.0f);
  y.resize(size_t(N));
  const int before = row_streams();
  set_row_streams(streams);
  const auto t0 = std::chrono::steady_clock::now();
  matmul_f16w(reinterpret_cast<const uint16_t*>(buf), N, K, x.data(), 1, y.data(), threads);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  set_row_streams(before);
  float acc = 0;
  for (float v : y) acc += v;
  g_sink ^= uint64_t(acc != acc);
  read = size_t(N * K * 2);
  return s;
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
  // Four readers, alternated pass by pass: each thread's share as one sequential stream or as four side by side, and
  // the fp16 LM head walking its rows either way; the fastest one's median is the figure. Which is fastest depends on
  // the CPU: the probe read four streams only until 2026-12-06 (one stream per core leaves bandwidth unused on many
  // CPUs), but on a Zen 4 VM one stream read 30 GB/s on one thread and four 21 GB/s (two: 16), while the decode
  // kernels streamed 23-25 GB/s; on a Zen 3 VM one stream read 21, four 15, and the head's four fetched streams 27.
  // A ceiling is what some reader reaches. `streams` is the head's own faster walk (a one-stream probe had sent the
  // Zen 3's head down its one-row-at-a-time walk, at 14 GB/s).
  std::vector<double> secs[4];
  size_t read[4] = {};
  for (int pass = 0; pass < passes + 1; ++pass) {  // pass 0 is a warm-up
    const double t[4] = {read_once<4>(v, nvec, threads, read[0]), read_once<1>(v, nvec, threads, read[1]),
                         read_head_once(p, bytes, threads, 4, read[2]), read_head_once(p, bytes, threads, 1, read[3])};
    if (pass > 0)
      for (int r = 0; r < 4; ++r) secs[r].push_back(t[r]);
  }
  double bw[4];
  for (int r = 0; r < 4; ++r) {
    std::sort(secs[r].begin(), secs[r].end());
    bw[r] = double(read[r]) / secs[r][secs[r].size() / 2];
  }
  if (streams) *streams = bw[3] > bw[2] ? 1 : 4;
  return *std::max_element(bw, bw + 4);
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
