// Packing, activation preparation, and the threaded driver that calls a kernel over tiles and
// applies the one epilogue. Kernels never see threads: the driver splits the output into tiles of
// rows (and tokens, for GEMM) and hands each tile to one call.
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/kernel.h"

namespace tb {

PackedWeights pack_weights(const Format& f, const int8_t* w, int64_t N, int64_t K, float scale, uint8_t* dst) {
  if (N <= 0 || K <= 0)
    throw Error(std::string(f.name) + ": shape " + std::to_string(N) + "x" + std::to_string(K) +
                " is empty; N and K must be positive");
  const std::string bad = f.check_shape(N, K);
  if (!bad.empty())
    throw Error(std::string(f.name) + " cannot take shape " + std::to_string(N) + "x" + std::to_string(K) +
                ": " + bad);
  if (!std::isfinite(scale) || scale <= 0.0f)
    throw Error(std::string(f.name) + ": weight scale " + std::to_string(scale) + " must be finite and > 0");
  for (int64_t i = 0; i < N * K; ++i)
    if (w[i] < -1 || w[i] > 1)
      throw Error(std::string(f.name) + ": weight (" + std::to_string(i / K) + ", " + std::to_string(i % K) +
                  ") = " + std::to_string(w[i]) + " is not ternary (-1, 0, +1)");
  PackedWeights p;
  p.format = &f;
  p.N = N;
  p.K = K;
  p.scale = scale;
  if (dst) {
    if (reinterpret_cast<uintptr_t>(dst) % 64) throw Error(std::string(f.name) + ": packing destination not 64-byte aligned");
    std::memset(dst, 0, f.packed_bytes(N, K));  // as a fresh buffer: padding bytes are zero
    p.data = AlignedBuffer::view(dst, f.packed_bytes(N, K));
  } else {
    p.data.resize(f.packed_bytes(N, K));
  }
  f.pack(w, N, K, scale, p.data.data());
  return p;
}

namespace detail {

size_t begin_prepared(const Kernel& k, int64_t T, int64_t K, PreparedActs& out) {
  out.src = nullptr;  // unprepared until end_prepared (a throw in between leaves it so)
  out.kernel = nullptr;
  if (!k.prepare) return 0;
  const size_t ld = k.prepared_bytes_per_token(K);
  out.buf.reserve_scratch(ld * size_t(std::max<int64_t>(T, 1)));
  return ld;
}

void end_prepared(const Kernel& k, const QuantizedActs& acts, size_t ld, PreparedActs& out) {
  out.src = &acts;
  out.kernel = &k;
  out.T = acts.T;
  out.K = acts.K;
  out.q = acts.q.data();
  out.x = k.prepare ? out.buf.data() : reinterpret_cast<const uint8_t*>(acts.q.data());
  out.ldx = k.prepare ? ld : size_t(acts.K);
}

}  // namespace detail

void prepare_activations(const Kernel& k, const QuantizedActs& acts, PreparedActs& out, int threads) {
  const size_t ld = detail::begin_prepared(k, acts.T, acts.K, out);
  if (k.prepare) {
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && acts.T > 1)
    for (int64_t t = 0; t < acts.T; ++t) k.prepare(acts.q.data() + t * acts.K, acts.K, out.buf.data() + t * ld);
  }
  detail::end_prepared(k, acts, ld, out);
}

namespace {

void check_call(const Kernel& k, const PackedWeights& w, const PreparedActs& x) {
  if (w.format != k.format)
    throw Error(std::string("kernel ") + k.name + " cannot run weights packed as " +
                (w.format ? w.format->name : "nothing") + "; pack them with format " + k.format->name);
  if (x.kernel != &k || !x.src)
    throw Error(std::string("activations were not prepared for kernel ") + k.name + "; call prepare_activations");
  if (x.src->T != x.T || x.src->K != x.K || x.src->q.data() != x.q)
    throw Error("activations changed after prepare_activations (now T=" + std::to_string(x.src->T) + ", K=" +
                std::to_string(x.src->K) + "; prepared T=" + std::to_string(x.T) + ", K=" + std::to_string(x.K) +
                "); prepare them again");
  if (x.src->K != w.K)
    throw Error("activations have K=" + std::to_string(x.src->K) + " but the weights are " +
                std::to_string(w.N) + "x" + std::to_string(w.K));
}

struct Tiling {
  int64_t rb, tb, nrb, ntb;
};

Tiling plan(int64_t N, int64_t T, const Kernel& k, int nt) {
  const int rm = std::max(1, k.row_multiple);
  Tiling p;
  auto round_up = [](int64_t v, int64_t m) { return (v + m - 1) / m * m; };
  if (T <= 1) {
    // GEMV: one contiguous run of rows per thread, so each thread streams its weights.
    p.tb = 1;
    p.rb = round_up((N + nt - 1) / nt, rm);
  } else {
    // GEMM: tiles of up to 32 tokens x 64 rows (activations stay in L2, weight rows in L1), or what the kernel
    // asks for (Kernel::gemm_rows/gemm_tokens), smaller row tiles when there would be too few tiles to share
    // among the threads.
    // A kernel that looks up only from lookup_tokens tokens on (i2s__avx2) multiplies below that, in the default tiles.
    const bool multiply_tiles = k.lookup_tokens > 0 && T < k.lookup_tokens;
    p.tb = std::min<int64_t>(T, std::max(1, multiply_tiles ? Kernel{}.gemm_tokens : k.gemm_tokens));
    p.rb = round_up(std::max(1, multiply_tiles ? Kernel{}.gemm_rows : k.gemm_rows), rm);
    const int64_t ntb = (T + p.tb - 1) / p.tb;
    while (p.rb > rm && ((N + p.rb - 1) / p.rb) * ntb < 4 * int64_t(nt)) p.rb = round_up(p.rb / 2, rm);
    // Row tiles of near-equal size (2560 rows in tiles of at most 1024: 3 x 856, not 1024, 1024, 512), so that the
    // tiles hold equal work.
    const int64_t nrb = (N + p.rb - 1) / p.rb;
    p.rb = round_up((N + nrb - 1) / nrb, rm);
  }
  p.nrb = (N + p.rb - 1) / p.rb;
  p.ntb = (T + p.tb - 1) / p.tb;
  return p;
}

}  // namespace

double gemm_lookup_share(const Kernel& k, int64_t N, int64_t T, int threads) {
  if (k.lookup_tokens <= 0 || T < k.lookup_tokens || N <= 0) return 0.0;
  const Tiling p = plan(N, T, k, threads > 0 ? threads : omp_get_max_threads());
  auto covered = [](int64_t total, int64_t tile, int64_t least) {  // units in tiles of at least `least`
    const int64_t full = total / tile, last = total - full * tile;
    return (tile >= least ? full * tile : 0) + (last >= least ? last : 0);
  };
  return double(covered(N, p.rb, k.lookup_rows)) / double(N) * double(covered(T, p.tb, k.lookup_tokens)) / double(T);
}

namespace {

// The epilogue of one tile row, y[i] = epilogue(c[i], a, s) for i < n: the same conversion, division and product per
// element at every vector width (exact IEEE operations, no FMA: -ffp-contract=off, and none to form), so every copy
// gives the same floats. The division's throughput bounds it at every width: on the Xeon VM (family 6, model 207) a
// row of 8192 in L1 took 0.25 ns per output built for the baseline ISA (divps) and 0.21 with AVX2 or AVX-512; in a
// 2B4T prefill (683 K outputs per token) the epilogue was 3-4% of the time.
inline __attribute__((always_inline)) void epilogue_body(const int32_t* __restrict c, int64_t n, float a, float s,
                                                         float* __restrict y) {
  for (int64_t i = 0; i < n; ++i) y[i] = epilogue(c[i], a, s);
}
using EpilogueRow = void (*)(const int32_t*, int64_t, float, float, float*);
void epilogue_row_base(const int32_t* c, int64_t n, float a, float s, float* y) { epilogue_body(c, n, a, s, y); }
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) void epilogue_row_avx2(const int32_t* c, int64_t n, float a, float s, float* y) {
  epilogue_body(c, n, a, s, y);
}
__attribute__((target("avx512f"))) void epilogue_row_avx512(const int32_t* c, int64_t n, float a, float s, float* y) {
  epilogue_body(c, n, a, s, y);
}
#endif
// The widest copy the allowed paths permit (kernels/cpu_features.h: --isa narrows it).
EpilogueRow epilogue_row() {
#if defined(__x86_64__) && defined(__GNUC__)
  const uint32_t allowed = allowed_isas();
  if (allowed & uint32_t(Isa::avx512vnni)) return epilogue_row_avx512;
  if (allowed & uint32_t(Isa::avx2)) return epilogue_row_avx2;
#endif
  return epilogue_row_base;
}

// One parallel region over every target (weights sharing the prepared activations: q, k, v; gate, up): each
// target's tiles are shared among the threads with no barrier between targets (omp for nowait: a thread goes on
// to the next matrix while the others finish theirs), one barrier at the end. A tile's result depends only on
// its rows and tokens, so results are identical for every thread count and grouping.
template <bool kFloat>
void run_impl(const Kernel& k, const RunTarget* targets, int count, const PreparedActs& x, int threads) {
  for (int i = 0; i < count; ++i) check_call(k, *targets[i].w, x);
  const int64_t T = x.src->T;
  if (T == 0 || count == 0) return;
  const int nt = threads > 0 ? threads : omp_get_max_threads();
  std::vector<Tiling> plans(static_cast<size_t>(count));
  int64_t scratch_ints = 0;
  for (int i = 0; i < count; ++i) {
    plans[size_t(i)] = plan(targets[i].w->N, T, k, nt);
    scratch_ints = std::max(scratch_ints, plans[size_t(i)].rb * plans[size_t(i)].tb);
  }
  const float* a = x.src->a.data();
  const int64_t prefetch = gemv_prefetch();
  const EpilogueRow epilogue_rows = epilogue_row();
#pragma omp parallel num_threads(nt)
  {
    static thread_local AlignedBuffer scratch;
    if (kFloat) scratch.reserve_scratch(size_t(scratch_ints) * sizeof(int32_t));
    for (int ti = 0; ti < count; ++ti) {
      const PackedWeights& w = *targets[ti].w;
      const Tiling& p = plans[size_t(ti)];
      const int64_t N = w.N, tiles = p.nrb * p.ntb;
      const float s = w.scale;
      float* Y = targets[ti].y;
      int32_t* C = targets[ti].c;
      auto tile = [&](int64_t i) {
        GemmArgs g;
        g.w = w.data.data();
        g.N = N;
        g.K = w.K;
        g.x = x.x;
        g.ldx = x.ldx;
        g.xsum = x.src->sum.data();
        g.n0 = (i / p.ntb) * p.rb;
        g.n1 = std::min(N, g.n0 + p.rb);
        g.t0 = (i % p.ntb) * p.tb;
        g.t1 = std::min(T, g.t0 + p.tb);
        g.prefetch = prefetch;
        if (kFloat) {
          g.c = reinterpret_cast<int32_t*>(scratch.data());
          g.ldc = size_t(g.n1 - g.n0);
          if (k.writes_y) {
            g.y = Y + g.t0 * N + g.n0;
            g.ldy = size_t(N);
            g.a = a;
            g.s = s;
            g.epilogue_row = epilogue_rows;
          }
        } else {
          g.c = C + g.t0 * N + g.n0;
          g.ldc = size_t(N);
        }
        k.gemm(g);
        if (kFloat && !k.writes_y) {
          for (int64_t t = g.t0; t < g.t1; ++t)
            epilogue_rows(g.c + (t - g.t0) * int64_t(g.ldc), g.n1 - g.n0, a[t], s, Y + t * N + g.n0);
        }
      };
      // Prefill tiles are dealt out guided: large runs of neighbouring tiles first, then ever smaller ones to whichever
      // thread is free. On a shared machine a thread that loses its core for a while no longer holds up the others at
      // the region's end, as with static shares it did; the runs keep neighbouring rows on one thread. (Xeon VM,
      // 2B4T pp128, 2 threads, 6 interleaved runs of -r 5 per side in a noisy hour: AVX2 path, run medians 78-119 t/s
      // static and 107-119 guided, pooled medians 110.3 -> 117.2; AVX-512 168-231 and 205-231, 226.6 -> 224.5, no
      // significant change. schedule(dynamic, 1) dealt neighbouring rows to different threads: AVX-512 4% slower.)
      // A tile's result depends only on its rows and tokens, so which thread runs it changes nothing. Decode keeps
      // static row runs: each thread streams the same weights every token (its caches, its NUMA node).
      if (T > 1) {
#pragma omp for schedule(guided) nowait
        for (int64_t i = 0; i < tiles; ++i) tile(i);
      } else {
#pragma omp for schedule(static) nowait
        for (int64_t i = 0; i < tiles; ++i) tile(i);
      }
    }
  }
}

}  // namespace

void apply_epilogue(const GemmArgs& g, int64_t t0, int64_t t1) {
  if (!g.y) return;
  for (int64_t t = t0; t < t1; ++t)
    g.epilogue_row(g.c + (t - g.t0) * int64_t(g.ldc), g.n1 - g.n0, g.a[t], g.s, g.y + (t - g.t0) * int64_t(g.ldy));
}

namespace {
std::atomic<int64_t> g_gemv_prefetch{kDefaultGemvPrefetch};
}  // namespace

void set_gemv_prefetch(int64_t bytes) {
  if (bytes < 0 || bytes > 65536 || bytes % 64 != 0)
    throw Error("GEMV prefetch distance must be 0 (none) or a multiple of 64 bytes up to 65536, not " +
                std::to_string(bytes));
  g_gemv_prefetch.store(bytes, std::memory_order_relaxed);
}

int64_t gemv_prefetch() { return g_gemv_prefetch.load(std::memory_order_relaxed); }

bool gemv_prefetches(const Kernel& k) {
  const std::string f = k.format->name;
  return (f == "i2s" || f == "tq1") && (k.isa == Isa::avx2 || k.isa == Isa::avx512vnni);
}

void run_i32(const Kernel& k, const PackedWeights& w, const PreparedActs& x, int32_t* C, int threads) {
  const RunTarget t{&w, nullptr, C};
  run_impl<false>(k, &t, 1, x, threads);
}

void run_f32(const Kernel& k, const PackedWeights& w, const PreparedActs& x, float* Y, int threads) {
  const RunTarget t{&w, Y, nullptr};
  run_impl<true>(k, &t, 1, x, threads);
}

void run_f32(const Kernel& k, const std::vector<RunTarget>& targets, const PreparedActs& x, int threads) {
  for (const RunTarget& t : targets)
    if (!t.y) throw Error(std::string("run_f32 of kernel ") + k.name + ": a target without an output");
  run_impl<true>(k, targets.data(), int(targets.size()), x, threads);
}

void matmul(const Kernel& k, const PackedWeights& w, const QuantizedActs& acts, float* Y, int threads) {
  static thread_local PreparedActs prep;
  prepare_activations(k, acts, prep);
  run_f32(k, w, prep, Y, threads);
}

}  // namespace tb
