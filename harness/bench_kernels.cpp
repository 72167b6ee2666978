// Kernel benchmarks: every kernel variant this CPU runs x 2B4T shape x {GEMV, GEMM T=128} x
// {cold, warm} x thread counts, named op/kernel/NxK/mode/threads:N so --benchmark_filter selects.
//   cold: each iteration reads a different copy of the packed weights, the copies together larger than
//         the last-level cache (the decode case: weights come from memory).
//   warm: the same copy every iteration.
// Counters: bytes_per_second = packed weight bytes per second; OPS = 2*N*K*T per second;
// roofline = weight bytes per second / read bandwidth at that thread count (probed again beside each
// cold run, at start-up otherwise; read_GBps shows the figure used).
// Activation quantization and preparation are benchmarked on their own (act/...), outside the kernels;
// preparation alone (prep/...: TL table construction, layout changes) apart from quantization.
// Hardware counters (harness/counters.h), where perf_event_open counts them: cycles/iter, instr/iter, IPC and
// LLC_miss/iter over the timed loop, all threads, user space; pmu_share when the PMU multiplexed them (the
// counts are scaled up from that share). Where it does not, one line on stderr and the context say why.
#include <CLI/CLI.hpp>
#include <benchmark/benchmark.h>
#include <omp.h>

#include "base/rng.h"
#include "tb_commit.h"  // generated at build time (cmake/git_commit.cmake)
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "harness/bench_inputs.h"
#include "harness/bandwidth.h"
#include "harness/counters.h"
#include "harness/roofline.h"
#include "harness/ternary_matrix.h"
#include "harness/thread_spec.h"
#include "harness/tiles.h"
#include "kernels/aligned_buffer.h"
#include "kernels/float_matmul.h"
#include "kernels/kernel.h"
#include "model/config.h"

namespace {

// The distinct matmul shapes of one 2B4T layer, from its config (model/config.h), in layer order; names is the
// GGUF tensor names of the shape, e.g. "attn_q,attn_output".
using Shape = tb::ModelConfig::Shape;

struct Options {
  std::vector<int> threads;
  size_t cold_bytes = 0;
  int row_streams = 0;  // --row_streams
  int64_t prefetch = -1;  // --prefetch (-1: as a sweep here)
  bool oracle = false;
  size_t bw_bytes = size_t(512) << 20;
};
Options g_opt;
std::map<int, double> g_bw;  // threads -> read bytes per second
std::map<int, int> g_streams;  // threads -> the faster read pattern (1 or 4 streams per thread), as the harness uses
std::unique_ptr<tb::RooflineCache> g_roof;  // this machine's roofline cache, read (never measured) for --prefetch -1
const tb::HwCounters* g_counters = nullptr;

// The counters over one timed loop: construct right before it, report() right after.
class LoopCounters {
 public:
  LoopCounters() {
    if (g_counters && g_counters->available()) a_ = g_counters->read();
  }
  void report(benchmark::State& st) const {
    if (!g_counters || !g_counters->available() || st.iterations() == 0) return;
    const tb::CounterFigures f = tb::counter_figures(g_counters->read() - a_, g_counters->has_llc());
    if (!f.why_not.empty()) {
      std::fprintf(stderr, "bench_kernels: counters: %s; this benchmark has none\n", f.why_not.c_str());
      return;
    }
    const double it = double(st.iterations());
    st.counters["cycles/iter"] = f.cycles / it;
    st.counters["instr/iter"] = f.instructions / it;
    st.counters["IPC"] = f.ipc;
    if (f.has_llc) st.counters["LLC_miss/iter"] = f.llc_misses / it;
    if (f.scaled) st.counters["pmu_share"] = f.running_share;
  }

 private:
  tb::CounterSample a_{};
};

// Copies of one packed matrix, kept while consecutive benchmarks use the same format and shape.
struct WeightSet {
  const tb::Format* f = nullptr;
  int64_t N = 0, K = 0;
  std::vector<tb::PackedWeights> copies;
};
WeightSet& weights_for(const tb::Format* f, int64_t N, int64_t K, bool cold) {
  static WeightSet ws;
  if (ws.f != f || ws.N != N || ws.K != K) {
    ws.copies.clear();
    ws.f = f;
    ws.N = N;
    ws.K = K;
  }
  if (ws.copies.empty()) {
    const auto w = tb::ternary_matrix(N, K, 42);
    ws.copies.push_back(tb::pack_weights(*f, w.data(), N, K, 0.01f));
  }
  if (cold) tb::add_cold_copies(ws.copies, g_opt.cold_bytes);
  return ws;
}

tb::QuantizedActs make_acts(int64_t T, int64_t K) {
  const std::vector<float> x = tb::bench_activations(T * K);
  tb::QuantizedActs a;
  tb::quantize_activations(x.data(), T, K, a);
  return a;
}

void bm_matmul(benchmark::State& st, const tb::Kernel* k, Shape s, int64_t T, bool cold, int threads) {
  WeightSet& ws = weights_for(k->format, s.N, s.K, cold);
  const tb::QuantizedActs acts = make_acts(T, s.K);
  tb::PreparedActs prep;
  tb::prepare_activations(*k, acts, prep);
  std::vector<float> y(size_t(T * s.N));
  const size_t ncopies = cold ? ws.copies.size() : 1;
  size_t i = 0;
  // The GEMV prefetch distance: --prefetch, else as a sweep here (the roofline cache's for this path and thread count).
  const tb::RooflinePoint* rp = g_roof ? g_roof->find(threads) : nullptr;
  tb::set_gemv_prefetch(g_opt.prefetch >= 0 ? g_opt.prefetch
                        : rp                ? rp->prefetch_of(tb::isa_name(k->isa))
                                            : tb::kDefaultGemvPrefetch);
  st.counters["gemv_prefetch"] = double(tb::gemv_prefetch());
  const LoopCounters lc;
  for (auto _ : st) {
    tb::run_f32(*k, ws.copies[i], prep, y.data(), threads);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
    if (++i == ncopies) i = 0;
  }
  lc.report(st);
  const double bytes = double(ws.copies[0].data.size());
  st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(bytes));
  st.counters["OPS"] = benchmark::Counter(2.0 * double(s.N) * double(s.K) * double(T),
                                          benchmark::Counter::kIsIterationInvariantRate);
  st.counters["tok/s"] = benchmark::Counter(double(T), benchmark::Counter::kIsIterationInvariantRate);
  // The roofline: for cold runs the read bandwidth probed right now, beside this measurement (shared
  // machines drift by tens of percent within minutes); otherwise the start-up probe.
  double bw = g_bw.count(threads) ? g_bw[threads] : 0.0;
  if (cold) bw = tb::measure_read_bandwidth(threads, g_opt.bw_bytes, 3);
  if (bw > 0) {
    st.counters["roofline"] = benchmark::Counter(bytes / bw, benchmark::Counter::kIsIterationInvariantRate);
    st.counters["read_GBps"] = bw / 1e9;
  }
  st.SetLabel(s.names + (cold ? ", " + std::to_string(ncopies) + " copies" : ""));
}

void bm_acts(benchmark::State& st, const tb::Kernel* k, int64_t T, int64_t K) {
  const std::vector<float> x = tb::bench_activations(T * K);
  tb::QuantizedActs a;
  tb::PreparedActs prep;
  const LoopCounters lc;
  for (auto _ : st) {
    tb::quantize_activations(x.data(), T, K, a);
    tb::prepare_activations(*k, a, prep);
    benchmark::DoNotOptimize(prep.x);
  }
  lc.report(st);
  st.counters["tok/s"] = benchmark::Counter(double(T), benchmark::Counter::kIsIterationInvariantRate);
}

// The activation-side work of one kernel alone (TL: table construction), without quantization.
void bm_prep(benchmark::State& st, const tb::Kernel* k, int64_t T, int64_t K) {
  const std::vector<float> x = tb::bench_activations(T * K);
  tb::QuantizedActs a;
  tb::quantize_activations(x.data(), T, K, a);
  tb::PreparedActs prep;
  const LoopCounters lc;
  for (auto _ : st) {
    tb::prepare_activations(*k, a, prep);
    benchmark::DoNotOptimize(prep.x);
    benchmark::ClobberMemory();
  }
  lc.report(st);
  st.counters["tok/s"] = benchmark::Counter(double(T), benchmark::Counter::kIsIterationInvariantRate);
  st.counters["prepared_bytes/token"] = double(k->prepared_bytes_per_token(K));
}

// The LM head of 2B4T (N = vocab 128256 x K = hidden 2560, tied): one token's GEMV at fp16 (0.66 GB) or int8
// with a scale per row (0.33 GB), the largest single read of a decode step. Always cold (the head is 20x the LLC).
void bm_head(benchmark::State& st, bool int8, bool no_subnormals, int threads, int64_t N, int64_t K) {
  const std::vector<float> x = tb::bench_activations(K, 1370.0f);
  std::vector<float> y(static_cast<size_t>(N)), scale(static_cast<size_t>(N), 1.0f / 127);
  // Huge-page buffers as the runner's (tb::AlignedBuffer): 4 KiB pages would add a TLB walk per page.
  tb::AlignedBuffer wb(size_t(N * K) * (int8 ? 1 : 2));
  uint16_t* w16 = reinterpret_cast<uint16_t*>(wb.data());
  int8_t* w8 = reinterpret_cast<int8_t*>(wb.data());
  std::vector<int8_t> q(static_cast<size_t>(K));
  if (int8) {
    for (size_t i = 0; i < size_t(N * K); ++i) w8[i] = int8_t(int64_t(i * 2654435761u % 255) - 127);
    for (int64_t i = 0; i < K; ++i) q[size_t(i)] = int8_t(int64_t(i * 40503u % 255) - 127);
  } else {
    // Values spread like the synthetic embedding (uniform in +-0.05): about 1 in 800 is an fp16 subnormal,
    // as in trained embeddings. fp16_flushed: the same with those set to 0, to see whether subnormal inputs
    // slow the conversion (on the development machine they did not: 30.3 vs 28.4 ms, within the noise).
    for (size_t i = 0; i < size_t(N * K); ++i) {
      const uint64_t z = tb::mix64((i + 1) * tb::kGolden64);
      w16[i] = tb::fp32_to_fp16(float(0.1 * (double(z >> 11) * 0x1.0p-53 - 0.5)));
      if (no_subnormals && (w16[i] & 0x7c00) == 0) w16[i] = 0;  // the same weights with subnormals flushed
    }
  }
  // The head walks its rows as the harness's sweep would here: the faster read pattern at this thread count.
  tb::set_row_streams(g_opt.row_streams ? g_opt.row_streams : g_streams.count(threads) ? g_streams[threads] : 4);
  st.counters["row_streams"] = tb::row_streams();
  const LoopCounters lc;
  for (auto _ : st) {
    if (int8) tb::matmul_i8rows(w8, scale.data(), N, K, q.data(), 127.0f, y.data(), threads);
    else tb::matmul_f16w(w16, N, K, x.data(), 1, y.data(), threads);
    benchmark::DoNotOptimize(y.data());
  }
  lc.report(st);
  const double bytes = double(N * K) * (int8 ? 1.0 : 2.0) + (int8 ? 4.0 * double(N) : 0.0);
  st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(bytes));
  const double bw = tb::measure_read_bandwidth(threads, g_opt.bw_bytes, 3);  // probed beside it
  st.counters["roofline"] = benchmark::Counter(bytes / bw, benchmark::Counter::kIsIterationInvariantRate);
  st.counters["read_GBps"] = bw / 1e9;
}

void bm_read_bw(benchmark::State& st, int threads) {
  for (auto _ : st) st.SetIterationTime(double(g_opt.bw_bytes) / tb::measure_read_bandwidth(threads, g_opt.bw_bytes, 1));
  st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(g_opt.bw_bytes));
}

}  // namespace

// Our options (--threads, --cold_mb, --oracle, --help) into g_opt, parsed by CLI11 as the harness's are; every
// other argument is left in `rest` for Google Benchmark. Returns -1 to go on, else the exit status (0 after --help,
// 2 on a bad option, named).
int parse_own_flags(int argc, char** argv, std::vector<std::string>& rest) {
  CLI::App app("bench_kernels: ternbench kernel benchmarks (Google Benchmark)", "bench_kernels");
  app.allow_extras();
  std::string threads_arg = "1," + std::to_string(omp_get_num_procs());
  int64_t cold_mb = 0;
  app.add_option("--threads", threads_arg, "OpenMP thread counts, as the harness takes them (1..4, 1,2,4, max)")
      ->capture_default_str();
  app.add_option("--cold_mb", cold_mb, "total size of the cold weight copies in MiB (0: max(512, 4 x LLC))")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 30))
      ->capture_default_str();
  app.add_flag("--oracle", g_opt.oracle, "also benchmark the scalar oracle int8_ref (slow)");
  app.add_option("--row_streams", g_opt.row_streams,
                 "how the head benchmarks walk their rows: 1 (one sequential stream per thread), 4 (four side by side) "
                 "or 0 (the faster read pattern of the bandwidth probe at each thread count, as a sweep does)")
      ->check(CLI::IsMember({0, 1, 4}))
      ->capture_default_str();
  app.add_option("--prefetch", g_opt.prefetch,
                 "how far ahead (bytes) the i2s and tq1 GEMVs fetch their weights in software: 0 (none), a multiple of 64 "
                 "up to 65536, or -1 (as a sweep here: the distance `harness roofline` measured for the variant's path "
                 "and thread count, else the kernels' default 4096)")
      ->capture_default_str();
  app.footer(
      "Also:\n"
      "  counters            where perf_event_open counts hardware events: cycles/iter, instr/iter, IPC,\n"
      "                      LLC_miss/iter (all threads, user space; pmu_share when multiplexed, counts scaled);\n"
      "                      elsewhere one line on stderr says why (context: counters)\n"
      "  TL tiles: as a sweep finds them (harness/tiles.h: $TERNBENCH_TILES, this machine's cache,\n"
      "                      configs/tiles/<cpu>.json), never tuned here (`harness tune` tunes); said on stderr\n"
      "  TERNBENCH_ISA=...   force a path (scalar, avx2, avx512vnni, neon); every runnable variant is\n"
      "                      registered anyway, named <format>__<isa>\n"
      "  plus every Google Benchmark flag, e.g. --benchmark_filter='gemv/i2s.*/cold'\n"
      "  --benchmark_format=json, --benchmark_repetitions=5 --benchmark_report_aggregates_only=true\n");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "bench_kernels: %s (--help shows the options)\n", e.what());
    return 2;
  }
  rest = app.remaining();
  if (g_opt.prefetch != -1) {
    try {
      tb::set_gemv_prefetch(g_opt.prefetch);
    } catch (const tb::Error& e) {
      std::fprintf(stderr, "bench_kernels: --prefetch: %s\n", e.what());
      return 2;
    }
  } else {
    g_roof = std::make_unique<tb::RooflineCache>();
    std::fprintf(stderr,
                 "bench_kernels: GEMV prefetch as a sweep here: %s (for a thread count it lacks, the kernels' default "
                 "%lld bytes; `harness roofline` measures it)\n",
                 g_roof->note().c_str(), static_cast<long long>(tb::kDefaultGemvPrefetch));
  }
  std::vector<int> tl;
  try {
    tl = tb::parse_thread_spec(threads_arg);
  } catch (const tb::Error& e) {
    std::fprintf(stderr, "bench_kernels: --threads: %s\n", e.what());
    return 2;
  }
  for (int t : tl)
    if (std::find(g_opt.threads.begin(), g_opt.threads.end(), t) == g_opt.threads.end()) g_opt.threads.push_back(t);
  g_opt.bw_bytes = tb::bandwidth_probe_bytes();
  g_opt.cold_bytes = cold_mb > 0 ? size_t(cold_mb) << 20 : g_opt.bw_bytes;
  return -1;
}

// What every result file carries: the CPU, compiler, commit, cold-copy size, counters, the path of every format,
// and the read bandwidth per thread count (measured here).
void add_context(const tb::HwCounters& counters) {
  const tb::CpuInfo& cpu = tb::cpu_info();
  benchmark::AddCustomContext("cpu_model", cpu.model);
  std::string flags;
  for (const auto& f : cpu.flags) flags += (flags.empty() ? "" : " ") + f;
  benchmark::AddCustomContext("cpu_features", flags);
  benchmark::AddCustomContext("compiler", TB_COMPILER);
  benchmark::AddCustomContext("ternbench_commit", TB_GIT_COMMIT);
  benchmark::AddCustomContext("cold_bytes", std::to_string(g_opt.cold_bytes));
  if (!counters.available()) {
    std::fprintf(stderr, "bench_kernels: counters: %s\n", counters.why_not().c_str());
    benchmark::AddCustomContext("counters", "unavailable: " + counters.why_not());
  } else {
    benchmark::AddCustomContext("counters", std::string("cycles, instructions") +
                                (counters.has_llc() ? std::string(", ") + counters.llc_event() : "") +
                                " (user space, all threads; " + (counters.grouped() ? "one group" : "separate counters") + ")");
    if (!counters.notes().empty()) std::fprintf(stderr, "bench_kernels: %s\n", counters.notes().c_str());
  }
  for (const tb::Format* f : tb::all_formats())
    benchmark::AddCustomContext(std::string("path.") + f->name, tb::select_kernel(f->name).name);
  for (int t : g_opt.threads) {
    std::fprintf(stderr, "bench_kernels: measuring read bandwidth with %d thread(s) over %zu MiB...\n", t,
                 g_opt.bw_bytes >> 20);
    g_bw[t] = tb::measure_read_bandwidth(t, g_opt.bw_bytes, 5, &g_streams[t]);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f", g_bw[t] / 1e9);
    benchmark::AddCustomContext("read_bw_GBps.threads:" + std::to_string(t), buf);
  }

}

// The K of the model's matmuls, once each (2B4T: 2560, 6912): the activation benchmarks' lengths.
std::vector<int64_t> distinct_ks(const std::vector<Shape>& shapes) {
  std::vector<int64_t> ks;
  for (const Shape& s : shapes)
    if (std::find(ks.begin(), ks.end(), s.K) == ks.end()) ks.push_back(s.K);
  return ks;
}

void register_benchmarks(const tb::ModelConfig& c) {
  const std::vector<Shape> shapes = c.distinct_matmul_shapes();
  for (int t : g_opt.threads)
    benchmark::RegisterBenchmark(("bw/read/threads:" + std::to_string(t)).c_str(), bm_read_bw, t)
        ->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
  for (const char* v : {"fp16", "fp16_flushed", "int8"})
    for (int t : g_opt.threads)
      benchmark::RegisterBenchmark(("head/" + std::string(v) + "/" + std::to_string(c.vocab) + "x" + std::to_string(c.hidden) +
                                    "/threads:" + std::to_string(t)).c_str(), bm_head,
                                   std::string(v) == "int8", std::string(v) == "fp16_flushed", t, c.vocab, c.hidden)
          ->Unit(benchmark::kMillisecond)->UseRealTime();
  for (const Shape& s : shapes)
    for (const tb::Format* f : tb::all_formats())
      for (const tb::Kernel& k : tb::all_kernels()) {
        if (k.format != f || !tb::cpu_supports(k.isa)) continue;
        if (!g_opt.oracle && f->oracle) continue;
        if (!f->check_shape(s.N, s.K).empty()) continue;
        const std::string shape = std::to_string(s.N) + "x" + std::to_string(s.K);
        for (int64_t T : {int64_t(1), int64_t(128)}) {
          const std::string op = T == 1 ? "gemv" : "gemm128";
          for (bool cold : {true, false})
            for (int t : g_opt.threads) {
              const std::string name = op + "/" + k.name + "/" + shape + "/" + (cold ? "cold" : "warm") +
                                       "/threads:" + std::to_string(t);
              benchmark::RegisterBenchmark(name.c_str(), bm_matmul, &k, s, T, cold, t)
                  ->Unit(benchmark::kMicrosecond)->UseRealTime();
            }
        }
      }
  for (const tb::Kernel& k : tb::all_kernels()) {
    if (!tb::cpu_supports(k.isa) || k.format->oracle) continue;
    for (int64_t K : distinct_ks(shapes))
      for (int64_t T : {int64_t(1), int64_t(128)}) {
        benchmark::RegisterBenchmark(("act/" + std::string(k.name) + "/K" + std::to_string(K) + "/T" + std::to_string(T)).c_str(),
                                     bm_acts, &k, T, K)->Unit(benchmark::kMicrosecond);
        if (k.prepare)
          benchmark::RegisterBenchmark(("prep/" + std::string(k.name) + "/K" + std::to_string(K) + "/T" + std::to_string(T)).c_str(),
                                       bm_prep, &k, T, K)->Unit(benchmark::kMicrosecond);
      }
  }
}

int run_main(int argc, char** argv) {
  // Counters before anything starts a thread (inherited counters see only threads started after them).
  const tb::HwCounters counters;
  g_counters = &counters;
  std::vector<std::string> rest;
  if (const int rc = parse_own_flags(argc, argv, rest); rc >= 0) return rc;
  std::vector<char*> bargv = {argv[0]};
  for (std::string& r : rest) bargv.push_back(r.data());
  int rargc = int(bargv.size());
  benchmark::Initialize(&rargc, bargv.data());
  if (benchmark::ReportUnrecognizedArguments(rargc, bargv.data())) return 2;

  // TL tiles of the benchmarked shapes: where they come from is said, defaults included.
  std::vector<tb::TileNeed> needs;
  const tb::ModelConfig model = tb::load_model_config("2B4T");
  const std::vector<Shape> shapes = model.distinct_matmul_shapes();
  for (const tb::Format* f : tb::all_formats())
    if (f->lookup_tiled)
      for (const Shape& s : shapes) needs.push_back({f->name, s.N, s.K});
  tb::install_tiles(needs, false, {}, [](const std::string& line) { std::fprintf(stderr, "bench_kernels: %s\n", line.c_str()); });

  add_context(counters);
  register_benchmarks(model);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run_main(argc, argv);
  } catch (const tb::Error& e) {
    std::fprintf(stderr, "bench_kernels: %s\n", e.what());
    return 2;
  }
}
