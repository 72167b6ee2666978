#include "harness/sweep.h"

#include <omp.h>
#include <unistd.h>
#ifdef __linux__
#include <sched.h>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <vector>
#include <sys/resource.h>

#include "energy/estimate.h"
#include "energy/recorder.h"
#include "harness/counters.h"
#include "harness/llama_bench.h"
#include "harness/peers.h"
#include "harness/results.h"
#include "harness/roofline.h"
#include "harness/tiles.h"
#include "harness/table.h"
#include "harness/thread_spec.h"
#include "model/memory.h"
#include "model/runner.h"

namespace tb {

namespace {

// One empty OpenMP fork-join with `threads` threads: the median of 7 batches of 200, after a warm-up
// (memoized per thread count: it is a property of the machine and runtime, ~1-10 us).
double fork_join_seconds(int threads) {
  static std::map<int, double> memo;
  if (auto it = memo.find(threads); it != memo.end()) return it->second;
  std::vector<double> v;
  for (int b = 0; b < 8; ++b) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 200; ++i) {
#pragma omp parallel num_threads(threads)
      { __asm__ __volatile__("" ::: "memory"); }
    }
    if (b > 0) v.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 200);
  }
  std::sort(v.begin(), v.end());
  return memo[threads] = v[v.size() / 2];
}

// ---- Ctrl-C: finish nothing new, keep what is done ----
std::atomic<int> g_signal{0};
extern "C" void on_signal(int sig) {
  g_signal.store(sig);
  std::signal(sig, SIG_DFL);  // a second Ctrl-C ends the process at once (results on disk are whole)
}
struct Interrupted {};
void check_interrupt() {
  if (g_signal.load()) throw Interrupted{};
}

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

struct Stats {
  double mean = 0, sd = 0, median = 0, cv = 0;
};
Stats stats(std::vector<double> v) {
  Stats s;
  for (double x : v) s.mean += x;
  s.mean /= double(v.size());
  for (double x : v) s.sd += (x - s.mean) * (x - s.mean);
  s.sd = v.size() > 1 ? std::sqrt(s.sd / double(v.size() - 1)) : 0.0;
  std::sort(v.begin(), v.end());
  s.median = v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
  s.cv = s.mean > 0 ? s.sd / s.mean : 0.0;
  return s;
}

// ---- peak RSS of one configuration: Linux resets the high-water mark on request ----
bool reset_peak_rss() {
#ifdef __linux__
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.flush();
  return bool(f);
#else
  return false;
#endif
}
size_t peak_rss_bytes() {
#ifdef __linux__
  std::ifstream in("/proc/self/status");
  for (std::string key; in >> key;) {
    if (key == "VmHWM:") {
      size_t kb = 0;
      in >> kb;
      return kb * 1024;
    }
    in.ignore(1 << 20, '\n');
  }
#endif
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
#ifdef __APPLE__
  return size_t(ru.ru_maxrss);  // bytes on macOS
#else
  return size_t(ru.ru_maxrss) * 1024;
#endif
}

// ---- thread pinning ----
// compact: logical CPUs in order; cores: one thread per physical core first, then the SMT siblings.
std::vector<int> pin_order(const std::string& mode) {
#ifdef __linux__
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) throw Error("--pin: cannot read this process's CPU affinity");
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  if (mode == "compact") return cpus;
  // cores: rank each CPU by its position among the SMT siblings of its core.
  std::map<std::pair<int, int>, int> seen;  // (package, core) -> siblings seen so far
  std::vector<std::pair<int, int>> ranked;  // (sibling rank, cpu)
  for (int c : cpus) {
    auto read_int = [&](const char* what) {
      std::ifstream f("/sys/devices/system/cpu/cpu" + std::to_string(c) + "/topology/" + what);
      int v = -1;
      f >> v;
      return v;
    };
    const int rank = seen[{read_int("physical_package_id"), read_int("core_id")}]++;
    ranked.push_back({rank, c});
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](auto& a, auto& b) { return a.first < b.first; });
  std::vector<int> out;
  for (auto& r : ranked) out.push_back(r.second);
  return out;
#else
  (void)mode;
  throw Error("--pin needs Linux (sched_setaffinity); on this OS leave threads to the scheduler (--pin none)");
#endif
}
void pin_threads(const std::vector<int>& order, int threads) {
#ifdef __linux__
  bool ok = true;
#pragma omp parallel num_threads(threads) reduction(&& : ok)
  {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(order[size_t(omp_get_thread_num()) % order.size()], &set);
    ok = sched_setaffinity(0, sizeof set, &set) == 0;
  }
  if (!ok) throw Error("--pin: sched_setaffinity failed (a container limiting CPUs?); run with --pin none");
#else
  (void)order;
  (void)threads;
#endif
}

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}
std::string gb(double bytes) { return fmt("%.2f GB", bytes / 1e9); }

// Energy of one test: a hardware meter when this machine has one, else the operation-count estimate.
struct EnergySource {
  std::unique_ptr<energy::Meter> hw;
  std::string name, why;  // why: the reason no hardware meter is used
};

bool fbase_name(const std::string& k) { return k == "fp16" || k == "fp32"; }
const Format& find_format_of(const std::string& k) {
  return k.find("__") != std::string::npos ? *find_kernel(k).format : find_format(k);
}

}  // namespace

std::vector<std::string> default_sweep_kernels() {
  std::vector<std::string> out;
  for (const Format* f : all_formats()) {
    if (std::string(f->name) == "int8_ref") continue;  // the oracle: correct, not fast
    out.push_back(f->name);
  }
  out.push_back("fp16");
  return out;
}

int cmd_sweep(const SweepArgs& a) {
  // Hardware counters first: inherited counters count only the threads started after their open, and no
  // OpenMP thread exists yet. Always on where they open (counting costs no interrupts, only the PMU's save
  // and restore at context switches); --counters adds them to the table and CSV, the row has them anyway.
  const HwCounters counters;
  // ---- check everything before the first measurement ----
  Table pr(a.output, a.counters);
  const std::vector<PeerRun> peers = pair_peers(a.peers, a.peer_models, a.peer_args);
  if (a.baseline.find(':') == std::string::npos)
    throw Error("--baseline '" + a.baseline + "' is not ENGINE:KERNEL (e.g. llama.cpp:F16, ternbench:fp16)");
  if (a.pin != "none" && a.pin != "compact" && a.pin != "cores")
    throw Error("--pin '" + a.pin + "' is not one of none, compact (logical CPUs in order), cores (one per physical core first)");
  if (a.pp < 0 || a.tg < 0 || (a.pp == 0 && a.tg == 0)) throw Error("--pp and --tg must be >= 0, and not both 0");
  if (a.reps < 1) throw Error("--reps must be at least 1 (one warm-up always runs before them)");
  const HeadPrecision head = parse_head_precision(a.head);
  std::vector<std::string> kernels = a.kernels.empty() ? default_sweep_kernels() : a.kernels;
  for (const std::string& k : kernels)
    if (k != "fp16" && k != "fp32") {  // unknown names fail here, naming the known ones
      const Kernel& kk = k.find("__") != std::string::npos ? find_kernel(k) : select_kernel(k);
      if (!cpu_supports(kk.isa))
        throw Error("kernel " + std::string(kk.name) + " needs the " + isa_name(kk.isa) + " path, which this CPU lacks (harness kernels lists what runs here)");
    }

  std::unique_ptr<WeightSource> w;
  std::string source;
  const bool gguf = a.model.size() > 5 && a.model.substr(a.model.size() - 5) == ".gguf";
  if (gguf) {
    std::string choice;
    w = gguf_weights(a.model, &choice);
    if (!a.quiet) std::fprintf(stderr, "%s\n", choice.c_str());
    source = a.model;
  } else {
    w = synthetic_weights(load_model_config(a.model), a.seed);
    source = "synthetic (seed " + std::to_string(a.seed) + ")";
  }
  ModelConfig c = w->config();
  const int64_t full_layers = c.layers;
  if (a.layers < 0 || a.layers > c.layers)
    throw Error("--layers " + std::to_string(a.layers) + ": " + c.name + " has " + std::to_string(c.layers) + " layers");
  if (a.layers > 0 && a.layers < c.layers) {
    // The first N layers of the same weights: a config with fewer layers draws identical per-layer tensors.
    c.layers = a.layers;
    if (gguf) throw Error("--layers works on presets (synthetic weights), not on GGUF files");
    w = synthetic_weights(c, a.seed);
  }
  const int64_t ctx = std::max(a.pp, a.tg);
  if (ctx > c.context)
    throw Error("--pp/--tg of " + std::to_string(ctx) + " tokens exceeds " + c.name + "'s context of " +
                std::to_string(c.context) + " tokens; use at most " + std::to_string(c.context));
  // Every kernel must take every shape and fit in memory: refused now, before anything is measured.
  for (const std::string& k : kernels) {
    RunnerOptions o;
    o.kernel = k;
    o.head = head;
    o.context = ctx;
    const Format* f = fbase_name(k) ? nullptr : &find_format_of(k);
    if (f)
      for (const auto& mm : c.layer_matmuls())
        if (const std::string bad = f->check_shape(mm.N, mm.K); !bad.empty())
          throw Error("kernel " + k + " cannot run " + c.name + "'s " + mm.name + " (" + std::to_string(mm.N) + "x" +
                      std::to_string(mm.K) + "): " + bad + "; leave it out of --kernels");
    check_memory(plan_memory(c, f, o, std::max<int64_t>(a.pp, 1)).total(), "model " + c.name + " with kernel " + k);
  }
  for (int t : a.threads)
    if (t > omp_get_num_procs())
      std::fprintf(stderr, "warning: %d threads on a machine with %d logical CPUs: threads will share cores\n", t,
                   omp_get_num_procs());
  std::unique_ptr<ResultsFile> out;
  if (a.out_file != "none") out = std::make_unique<ResultsFile>(a.out_file);

  // ---- energy source and machine ----
  EnergySource es;
  es.hw = energy::best_hardware_meter();
  if (es.hw) es.name = es.hw->name();
  else {
    es.name = "estimate";
    es.why = "no hardware energy counter is usable here (harness energy says why); J/token is the operation-count estimate";
    if (!a.quiet) std::fprintf(stderr, "note: %s\n", es.why.c_str());
  }
  if (!a.quiet) {
    if (!counters.available()) std::fprintf(stderr, "counters: %s\n", counters.why_not().c_str());
    if (!counters.notes().empty()) std::fprintf(stderr, "%s\n", counters.notes().c_str());
  }
  json machine = machine_fingerprint();
  machine["energy_source"] = es.name;
  char host[64] = "host";
  gethostname(host, sizeof host - 1);
  const std::string run_id = utc_now_iso() + "-" + host + "-" + std::to_string(getpid());
  RooflineCache roof;
  std::vector<int> order;
  if (a.pin != "none") order = pin_order(a.pin);

  std::vector<int32_t> prompt(static_cast<size_t>(std::max<int64_t>(a.pp, 1)));
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = int32_t((i * 2654435761u + a.seed) % uint64_t(c.vocab));
  std::vector<float> logits(static_cast<size_t>(c.vocab));

  g_signal.store(0);
  auto old_int = std::signal(SIGINT, on_signal);
  auto old_term = std::signal(SIGTERM, on_signal);
  pr.header();
  const int tests = (a.pp > 0) + (a.tg > 0);
  const size_t total = kernels.size() * a.threads.size() * size_t(tests);
  size_t done = 0, written = 0;
  double measured_s = 0;  // time spent in finished tests, for the estimate of what is left
  const double t_start = now();
  int rc = 0;
  try {
    for (const std::string& kname : kernels) {
      check_interrupt();
      RunnerOptions o;
      o.kernel = kname;
      o.head = head;
      o.context = ctx;
      // Memory first (the runner checks again): a model that cannot fit is refused before any probing.
      check_memory(plan_memory(c, fbase_name(kname) ? nullptr : &find_format_of(kname), o, std::max<int64_t>(a.pp, 1)).total(),
                   "model " + c.name + " with kernel " + kname);
      // TL tiles: found (a file, this machine's cache, configs/tiles) or tuned now, before anything is timed;
      // every row of the kernel names them.
      json tiles_rows, tiles_from = json::array();
      const std::string fname0 = fbase_name(kname) ? kname : std::string(find_format_of(kname).name);
      if (fname0 == "tl1" || fname0 == "tl2") {
        std::vector<TileNeed> needs;
        for (const ModelConfig::Matmul& m : c.layer_matmuls()) {
          bool seen = false;
          for (const TileNeed& n : needs) seen |= n.N == m.N && n.K == m.K;
          if (!seen) needs.push_back({fname0, m.N, m.K});
        }
        TuneOptions to;
        to.quick = true;
        to.reps = 3;
        to.cold_mb = 128;
        install_tiles(needs, a.tune_tiles, to, [&](const std::string& line) {
          tiles_from.push_back(line);
          std::fprintf(stderr, "%s\n", line.c_str());
        });
        tiles_rows = json::array();
        for (const TileNeed& n : needs) {
          std::string src;
          const TlTiles t = tl_tiles_for(n.format, n.N, n.K, &src);
          tiles_rows.push_back({{"N", n.N}, {"K", n.K}, {"BM", t.BM}, {"BK", t.BK}, {"bm", t.bm}, {"tuned", src == "set"}});
        }
      }
      // Read bandwidth now, beside this kernel's tests (machines are shared and it moves), and before
      // the runner exists: the probe's buffer is freed again, out of this kernel's peak RSS.
      std::map<int, double> bw_now;
      if (a.tg > 0)
        for (int th : a.threads) {
          check_interrupt();
          bw_now[th] = measure_read_gbs(th);
        }
      for (int th : a.threads) roof.get(th);
      const bool peak_reset = reset_peak_rss();
      if (!a.quiet) std::fprintf(stderr, "packing %s for %s (%s)...\n", c.name.c_str(), kname.c_str(), w->describe().c_str());
      Runner run(*w, o, std::max<int64_t>(a.pp, 1));
      const MemoryPlan& mem = run.memory();
      const bool fbase = kname == "fp16" || kname == "fp32";
      const double bpw = fbase ? (kname == "fp16" ? 16.0 : 32.0) : run.kernel().format->bits_per_weight;
      if (!a.quiet)
        std::fprintf(stderr, "packed in %.1f s: %s linear weights, %s embedding/head, %s KV cache\n", run.pack_seconds(),
                     gb(double(mem.linear_weights)).c_str(), gb(double(mem.embedding)).c_str(), gb(double(mem.kv_cache)).c_str());
      energy::EstimateOptions eo;
      eo.linear = fbase ? energy::LinearArith::fp16 : energy::LinearArith::ternary_int8;
      const energy::Estimate est(c, eo);
      for (int th : a.threads) {
        run.set_threads(th);
        if (!order.empty()) pin_threads(order, th);
        for (int test = 0; test < 2; ++test) {
          const bool pp = test == 0;
          const int64_t n = pp ? a.pp : a.tg;
          if (n == 0) continue;
          check_interrupt();
          const double t_cfg = now();
          const double roof_gbs = pp ? 0.0 : bw_now[th];
          const RooflinePoint& rp = roof.get(th);
          if (!a.quiet) {
            const double left = done ? measured_s / double(done) * double(total - done) : 0;
            std::fprintf(stderr, "[%zu/%zu] %s, %d thread%s, %s%lld%s\n", done + 1, total, run.kernel_name().c_str(), th,
                         th == 1 ? "" : "s", pp ? "pp" : "tg", (long long)n,
                         done ? (", about " + fmt("%.0f", left) + " s left").c_str() : "");
          }
          std::vector<double> tps;
          CounterSample counted{};  // the timed repetitions only, as the timers
          std::unique_ptr<energy::EnergyRecorder> rec;
          if (es.hw) {
            rec = std::make_unique<energy::EnergyRecorder>(*es.hw);
            rec->start();
          }
          for (int r = 0; r <= a.reps; ++r) {  // r == 0: warm-up
            run.reset();
            if (r == 1) run.reset_timers();
            const energy::Phase ph = pp ? energy::Phase::prefill : energy::Phase::decode;
            if (rec && r > 0) rec->begin(ph);
            const CounterSample c0 = counters.available() && r > 0 ? counters.read() : CounterSample{};
            const double t0 = now();
            if (pp) run.forward(prompt.data(), n, logits.data());
            else
              for (int64_t i = 0; i < n; ++i) {
                check_interrupt();
                const int32_t tok = prompt[size_t(i) % prompt.size()];
                run.forward(&tok, 1, logits.data());
              }
            const double dt = now() - t0;
            if (counters.available() && r > 0) counted += counters.read() - c0;
            if (rec && r > 0) rec->end(ph, n, 0);
            if (r > 0) tps.push_back(double(n) / dt);
            if (!a.quiet && dt > 1.0)
              std::fprintf(stderr, "  %s %d/%d: %.2f t/s\n", r ? "rep" : "warm-up", r, a.reps, double(n) / dt);
          }
          const Stats s = stats(tps);
          const Runner::Timers& tm = run.timers();
          const double per_tok = 1.0 / (double(a.reps) * double(n));

          json row;
          row["schema"] = kResultSchema;
          row["time"] = utc_now_iso();
          row["run_id"] = run_id;
          row["engine"] = "ternbench";
          row["engine_commit"] = machine["commit"];
          row["machine"] = machine;
          row["model"] = c.name;
          row["model_source"] = source;
          row["n_layers"] = c.layers;
          row["model_layers"] = full_layers;
          row["params"] = c.non_embedding_params();
          row["kernel"] = run.kernel_name();
          row["format"] = fbase ? kname : std::string(run.kernel().format->name);
          row["bits_per_weight"] = bpw;
          if (!tiles_rows.is_null()) row["tiles"] = {{"shapes", tiles_rows}, {"from", tiles_from}};
          row["head"] = a.head;
          row["threads"] = th;
          row["pin"] = a.pin;
          row["test"] = pp ? "pp" : "tg";
          row["n_prompt"] = pp ? n : 0;
          row["n_gen"] = pp ? 0 : n;
          row["reps"] = a.reps;
          row["samples_ts"] = tps;
          row["avg_ts"] = s.mean;
          row["stddev_ts"] = s.sd;
          row["median_ts"] = s.median;
          row["cv"] = s.cv;
          if (s.cv > a.cv_warn) row["noisy"] = true;
          row["model_bytes"] = mem.linear_weights + mem.norms + mem.embedding;
          const size_t head_bytes = mem.embedding / (c.tied_embedding ? 1 : 2);
          row["memory"] = {{"linear_weights", mem.linear_weights}, {"norms", mem.norms}, {"embedding", mem.embedding},
                           {"head", head_bytes}, {"kv_cache", mem.kv_cache}, {"activations", mem.activations},
                           {"non_embedding", mem.linear_weights + mem.norms}, {"peak_rss", peak_rss_bytes()},
                           {"peak_rss_scope", peak_reset ? "this kernel" : "process lifetime"}};
          // Ceilings in tokens/s: the int8 ceiling of the kernel's own path over the int8 multiply-adds of a
          // token (linear layers, and the head when it is int8), for the kernels that multiply (not the TL
          // lookups, not the float baselines); and for decode the bandwidth probed now over the bytes a token
          // reads. The lower one binds.
          const std::string fname = fbase ? kname : std::string(run.kernel().format->name);
          const bool multiplies = !fbase && fname != "tl1" && fname != "tl2";
          const double path_gmacs = fbase ? 0.0 : rp.gmacs_of(isa_name(run.kernel().isa));
          const double int8_macs = double(c.linear_params()) + (a.head == "int8" ? double(c.vocab * c.hidden) : 0.0);
          double compute_ts = multiplies && path_gmacs > 0 ? path_gmacs * 1e9 / int8_macs : 0.0, bw_ts = 0.0;
          if (pp) {
            const double lin_s = tm.linear / double(a.reps);
            if (!fbase && lin_s > 0) {
              const double gmacs = double(n) * double(c.linear_params()) / lin_s / 1e9;
              row["gmacs"] = gmacs;
              if (path_gmacs > 0) {
                row["int8_peak_gmacs"] = path_gmacs;
                row["compute_share"] = gmacs / path_gmacs;
              }
            }
          } else {
            // Bytes read per generated token: every weight once, the head, and the KV cache at the mean position.
            const double kv = double(2 * c.layers * c.kv_dim()) * sizeof(float) * double(n + 1) / 2;
            const double bytes = double(mem.linear_weights + mem.norms + head_bytes) + kv;
            row["bytes_per_token"] = bytes;
            row["bandwidth_gbs"] = bytes * s.median / 1e9;
            row["roofline_gbs"] = roof_gbs;
            row["roofline_cached_gbs"] = rp.read_gbs;
            row["roofline_share"] = bytes * s.median / 1e9 / roof_gbs;
            bw_ts = roof_gbs * 1e9 / bytes;
            row["bandwidth_ceiling_ts"] = bw_ts;
          }
          if (compute_ts > 0) row["compute_ceiling_ts"] = compute_ts;
          if (compute_ts > 0 || bw_ts > 0) {
            const bool by_bw = bw_ts > 0 && (compute_ts <= 0 || bw_ts <= compute_ts);
            const double ceil_ts = by_bw ? bw_ts : compute_ts;
            row["ceiling_ts"] = ceil_ts;
            row["binding"] = by_bw ? "bandwidth" : std::string(isa_name(run.kernel().isa)) + " int8";
            row["ceiling_share"] = s.median / ceil_ts;
          }
          json e;
          if (rec) {
            const energy::EnergyReport rep = rec->stop();
            e = {{"source", es.name}, {"estimated", false},
                 {"j_per_token", rep.joules_per_token(pp ? energy::Phase::prefill : energy::Phase::decode)},
                 {"domain", rep.domain}};
          } else {
            double j = 0;
            if (pp) j = est.tokens(n, 0).total_j();
            else
              for (int64_t i = 0; i < n; ++i) j += est.tokens(1, i).total_j();
            e = {{"source", "estimate"}, {"estimated", true}, {"j_per_token", j / double(n)}, {"node", eo.ops.label}};
          }
          row["energy"] = e;
          row["counters"] = counters_field(counters, counted, double(a.reps) * double(n));
          row["time_split"] = {{"linear", tm.linear * per_tok}, {"attention", tm.attention * per_tok},
                               {"norms_and_quant", tm.norms_and_quant * per_tok}, {"head", tm.head * per_tok}};
          for (int i = 0; i < 4; ++i)
            row["time_split"][std::string("linear_") + Runner::kLinearParts[i]] = tm.linear_by_shape[i] * per_tok;
          // Threading: fork-joins per token x the cost of one empty fork-join with this many threads, measured
          // here; an estimate of the synchronisation cost (it is inside the other parts, not added to them).
          const double fj = fork_join_seconds(th);
          row["time_split"]["threading_est"] = double(tm.parallel_regions) * per_tok * fj;
          row["time_split"]["fork_joins_per_token"] = double(tm.parallel_regions) * per_tok;
          row["fork_join_us"] = fj * 1e6;
          if (out) {
            out->append(row);
            ++written;
          }
          pr.row(row);
          ++done;
          measured_s += now() - t_cfg;
          if (!a.quiet) {
            const double tt = tm.linear + tm.attention + tm.norms_and_quant + tm.head;
            const double* ls = tm.linear_by_shape;
            std::fprintf(stderr, "  %.2f t/s median (cv %.1f%%); time: linear %.0f%% (qkv %.0f, o %.0f, gate+up %.0f, down %.0f), "
                         "attention %.0f%%, norms+quant %.0f%%, LM head %.0f%%; threading ~%.1f%% (%.0f fork-joins/token x %.1f us)\n",
                         s.median, 100 * s.cv, 100 * tm.linear / tt, 100 * ls[0] / tt, 100 * ls[1] / tt, 100 * ls[2] / tt,
                         100 * ls[3] / tt, 100 * tm.attention / tt, 100 * tm.norms_and_quant / tt, 100 * tm.head / tt,
                         100 * double(tm.parallel_regions) * fork_join_seconds(th) / tt, double(tm.parallel_regions) * per_tok,
                         1e6 * fork_join_seconds(th));
            const json& hc = row["counters"];
            if (a.counters && hc.contains("ipc"))
              std::fprintf(stderr, "  counters: IPC %.2f, %.3g cycles/token, %.3g instructions/token%s%s\n", hc["ipc"].get<double>(),
                           hc["per_token"]["cycles"].get<double>(), hc["per_token"]["instructions"].get<double>(),
                           hc.contains("llc_misses") ? (", " + fmt("%.3g", hc["per_token"]["llc_misses"].get<double>()) +
                                                        " LLC misses/token").c_str() : "",
                           hc["scaled"].get<bool>() ? (", scaled (PMU multiplexed: ran " +
                                                       fmt("%.0f%%", 100 * hc["running_share"].get<double>()) + " of the time)").c_str() : "");
            if (s.cv > a.cv_warn)
              std::fprintf(stderr, "  warning: the %d repetitions vary by %.0f%% (coefficient of variation): other load on "
                           "this machine? the row is marked noisy; more --reps or a quieter machine help\n", a.reps, 100 * s.cv);
          }
        }
      }
    }
    // ---- peers, after ternbench's own runs ----
    for (const PeerRun& p : peers) {
      check_interrupt();
      if (!a.quiet) std::fprintf(stderr, "peer: %s on %s (pp%lld, tg%lld, %d reps)...\n", p.llama_bench.c_str(), p.model.c_str(),
                                 (long long)a.pp, (long long)a.tg, a.reps);
      std::vector<json> rows;
      try {
        rows = run_peer(p, a.pp, a.tg, a.reps, a.threads);
      } catch (const Error& e) {
        check_interrupt();  // a Ctrl-C that stopped the peer is an interruption, not a failure
        std::fprintf(stderr, "warning: %s; skipped\n", e.what());
        continue;
      }
      check_interrupt();
      for (json& r : rows) {
        r["run_id"] = run_id;
        r["machine"]["energy_source"] = "none (llama-bench does not measure energy)";
        const bool asked = (r["test"] == "pp" && r["n_prompt"] == a.pp) || (r["test"] == "tg" && r["n_gen"] == a.tg);
        if (!asked)
          std::fprintf(stderr, "warning: %s printed a %s test at %s threads, which this sweep did not ask for; kept as printed\n",
                       p.llama_bench.c_str(), test_name(r).c_str(), r["threads"].dump().c_str());
        if (out) {
          out->append(r);
          ++written;
        }
        pr.row(r);
      }
    }
  } catch (const Interrupted&) {
    rc = g_signal.load() == SIGTERM ? 143 : 130;
  }
  std::signal(SIGINT, old_int);
  std::signal(SIGTERM, old_term);
  pr.finish(a.baseline);
  if (!a.quiet || rc) {
    std::fprintf(stderr, "%s%zu of %zu results in %.0f s", rc ? "interrupted: kept " : "done: ", done, total, now() - t_start);
    if (out) std::fprintf(stderr, ", %zu appended to %s", written, out->path().c_str());
    std::fprintf(stderr, "\n");
  }
  return rc;
}

int cmd_import(const ImportArgs& a) {
  if (a.files.empty()) throw Error("import needs at least one llama-bench output file (-o json, jsonl or csv)");
  Table pr(a.output);
  ImportOptions io;
  io.this_machine = a.this_machine;
  io.engine = a.engine;
  // Every file is read before anything is written: one bad file leaves the results file as it was.
  std::vector<json> rows;
  for (const std::string& f : a.files)
    for (json& r : import_llama_bench_file(f, io)) rows.push_back(std::move(r));
  std::unique_ptr<ResultsFile> out;
  if (a.out_file != "none") out = std::make_unique<ResultsFile>(a.out_file);
  pr.header();
  for (const json& r : rows) {
    if (out) out->append(r);
    pr.row(r);
  }
  pr.finish(a.baseline);
  std::fprintf(stderr, "imported %zu rows from %zu file%s%s\n", rows.size(), a.files.size(), a.files.size() == 1 ? "" : "s",
               out ? (", appended to " + out->path()).c_str() : "");
  return 0;
}

int cmd_report(const std::vector<std::string>& files, const std::string& output, const std::string& baseline) {
  Table pr(output);
  std::vector<json> rows;
  for (const std::string& f : files) {
    std::vector<std::string> warnings;
    for (json& r : read_results(f, &warnings)) rows.push_back(std::move(r));
    for (const std::string& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  }
  if (rows.empty()) throw Error("no result rows in " + std::to_string(files.size()) + " file(s)");
  pr.header();
  for (const json& r : rows) pr.row(r);
  pr.finish(baseline);
  return 0;
}

}  // namespace tb
