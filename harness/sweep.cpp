#include "harness/sweep.h"

#include <omp.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "base/strings.h"
#include "energy/estimate.h"
#include "energy/recorder.h"
#include "harness/bandwidth.h"
#include "harness/counters.h"
#include "harness/llama_bench.h"
#include "harness/machine.h"
#include "harness/peers.h"
#include "harness/results.h"
#include "harness/roofline.h"
#include "kernels/float_matmul.h"
#include "harness/sweep_row.h"
#include "harness/table.h"
#include "harness/tiles.h"
#include "model/linear_path.h"
#include "model/memory.h"
#include "model/runner.h"

namespace tb {

namespace {

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

std::string gb(double bytes) { return fmt("%.2f GB", bytes / 1e9); }

// ---- the plan: every option checked, every kernel resolved once and held to the model's shapes and this
// machine's memory, the weights opened, before anything is measured ----
struct Plan {
  std::unique_ptr<WeightSource> weights;
  ModelConfig cfg;
  int64_t full_layers = 0;
  std::string source;  // "synthetic (seed 1)" or the GGUF path
  HeadPrecision head = HeadPrecision::fp16;
  int64_t ctx = 0;     // the KV cache: the longest test
  int64_t batch = 1;   // the largest chunk: the prompt
  std::vector<LinearPath> paths;
  std::vector<PeerRun> peers;
  std::vector<int> pin_order;  // empty: no pinning
  std::vector<int32_t> prompt;
  RunnerOptions options(const LinearPath& p) const {
    RunnerOptions o;
    o.path = p;  // resolved once, here
    o.head = head;
    o.context = ctx;
    return o;
  }
};

void check_options(const SweepArgs& a) {
  if (a.baseline.find(':') == std::string::npos)
    throw Error("--baseline '" + a.baseline + "' is not ENGINE:KERNEL (e.g. llama.cpp:F16, ternbench:fp16)");
  if (a.pin != "none" && a.pin != "compact" && a.pin != "cores")
    throw Error("--pin '" + a.pin + "' is not one of none, compact (logical CPUs in order), cores (one per physical core first)");
  if (a.pp < 0 || a.tg < 0 || (a.pp == 0 && a.tg == 0)) throw Error("--pp and --tg must be >= 0, and not both 0");
  if (a.reps < 1) throw Error("--reps must be at least 1 (one warm-up always runs before them)");
  for (int t : a.threads)
    if (t > omp_get_num_procs())
      std::fprintf(stderr, "warning: %d threads on a machine with %d logical CPUs: threads will share cores\n", t,
                   omp_get_num_procs());
}

// The weights: a preset's synthetic weights (the first --layers of them) or a GGUF checkpoint.
void open_weights(const SweepArgs& a, Plan& p) {
  const bool gguf = a.model.size() > 5 && a.model.substr(a.model.size() - 5) == ".gguf";
  if (gguf) {
    std::string choice;
    p.weights = gguf_weights(a.model, &choice);
    if (!a.quiet) std::fprintf(stderr, "%s\n", choice.c_str());
    p.source = a.model;
  } else {
    p.weights = synthetic_weights(load_model_config(a.model), a.seed);
    p.source = "synthetic (seed " + std::to_string(a.seed) + ")";
  }
  p.cfg = p.weights->config();
  p.full_layers = p.cfg.layers;
  if (a.layers < 0 || a.layers > p.cfg.layers)
    throw Error("--layers " + std::to_string(a.layers) + ": " + p.cfg.name + " has " + std::to_string(p.cfg.layers) + " layers");
  if (a.layers > 0 && a.layers < p.cfg.layers) {
    // The first N layers of the same weights: a config with fewer layers draws identical per-layer tensors.
    if (gguf) throw Error("--layers works on presets (synthetic weights), not on GGUF files");
    p.cfg.layers = a.layers;
    p.weights = synthetic_weights(p.cfg, a.seed);
  }
}

Plan plan_sweep(const SweepArgs& a) {
  check_options(a);
  Plan p;
  p.peers = pair_peers(a.peers, a.peer_models, a.peer_args);
  p.head = parse_head_precision(a.head);
  for (const std::string& k : a.kernels.empty() ? default_linear_names() : a.kernels) {
    p.paths.push_back(resolve_linear(k));
    const LinearPath& lp = p.paths.back();
    // A format named without a path whose best variant here is the portable loop (TLW has no AVX2 or NEON variant):
    // it runs, and says so, rather than leaving a reader to wonder at the row.
    if (lp.kernel && lp.kernel->isa == Isa::scalar && best_allowed_isa() != Isa::scalar && k == lp.format)
      std::fprintf(stderr, "note: %s has no %s variant; running %s, its portable scalar loop\n", k.c_str(),
                   isa_name(best_allowed_isa()), lp.kernel->name);
  }
  open_weights(a, p);
  const ModelConfig& c = p.cfg;
  p.ctx = std::max(a.pp, a.tg);
  p.batch = std::max<int64_t>(a.pp, 1);
  if (p.ctx > c.context)
    throw Error("--pp/--tg of " + std::to_string(p.ctx) + " tokens exceeds " + c.name + "'s context of " +
                std::to_string(c.context) + " tokens; use at most " + std::to_string(c.context));
  for (const LinearPath& lp : p.paths) {  // every kernel takes every shape and fits in memory, or none is measured
    if (const std::string bad = check_shapes(lp, c); !bad.empty()) throw Error(bad + "; leave it out of --kernels");
    check_memory(plan_memory(c, p.options(lp), p.batch).total(), "model " + c.name + " with kernel " + lp.name);
  }
  if (a.pin != "none") p.pin_order = pin_order(a.pin);
  p.prompt = synthetic_prompt(p.batch, a.seed, c.vocab);
  return p;
}

// ---- one test: one warm-up, then the timed repetitions; returns what it measured and prints nothing
// (on_rep hears of each repetition: index, 0 for the warm-up, and seconds) ----
TestMeasurement measure_test(Runner& run, const std::vector<int32_t>& prompt, bool pp, int64_t n, int reps,
                             const HwCounters& counters, energy::Meter* meter,
                             const std::function<void(int, double)>& on_rep) {
  TestMeasurement m;
  std::vector<float> logits(size_t(run.config().vocab));
  std::unique_ptr<energy::EnergyRecorder> rec;
  if (meter) {
    rec = std::make_unique<energy::EnergyRecorder>(*meter);
    rec->start();
  }
  const energy::Phase ph = pp ? energy::Phase::prefill : energy::Phase::decode;
  for (int r = 0; r <= reps; ++r) {  // r == 0: warm-up
    run.reset();
    if (r == 1) run.reset_timers();
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
    if (counters.available() && r > 0) m.counted += counters.read() - c0;
    if (rec && r > 0) rec->end(ph, n, 0);
    if (r > 0) m.tps.push_back(double(n) / dt);
    on_rep(r, dt);
  }
  m.timers = run.timers();
  if (rec) m.energy = rec->stop();
  return m;
}

// ---- progress on stderr: where one test's time went ----
void print_test_summary(const json& row, const Runner::Timers& tm, const SweepArgs& a) {
  const Stats s = stats(row["samples_ts"].get<std::vector<double>>());
  const double tt = tm.linear + tm.attention + tm.norms_and_quant + tm.head;
  const double* ls = tm.linear_by_shape;
  const json& ts = row["time_split"];
  const double fj_us = row["fork_join_us"].get<double>();
  std::fprintf(stderr, "  %.2f t/s median (cv %.1f%%); time: linear %.0f%% (qkv %.0f, o %.0f, gate+up %.0f, down %.0f), "
               "attention %.0f%%, norms+quant %.0f%%, LM head %.0f%%; threading ~%.1f%% (%.0f fork-joins/token x %.1f us)\n",
               s.median, 100 * s.cv, 100 * tm.linear / tt, 100 * ls[0] / tt, 100 * ls[1] / tt, 100 * ls[2] / tt,
               100 * ls[3] / tt, 100 * tm.attention / tt, 100 * tm.norms_and_quant / tt, 100 * tm.head / tt,
               100 * double(tm.parallel_regions) * fj_us * 1e-6 / tt, ts["fork_joins_per_token"].get<double>(), fj_us);
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
  if (row.contains("roofline_share") && row["roofline_share"].get<double>() > 1.05) {
    std::string probes;
    for (const json& g : row["roofline_probes_gbs"]) probes += (probes.empty() ? "" : ", ") + fmt("%.1f", g.get<double>());
    std::fprintf(stderr, "  warning: the test streamed %.1f GB/s, more than the read bandwidth the probes found (%s GB/s): "
                 "the machine's bandwidth moved (other load?); this row's share of the roofline is no bound\n",
                 row["bandwidth_gbs"].get<double>(), probes.c_str());
  }
}

// TL tiles for every shape of the model: found (a file, this machine's cache, configs/tiles) or tuned now,
// before anything is timed. Returns the row's "tiles" field: the tiles of each shape and where they came from.
json install_model_tiles(const LinearPath& p, const ModelConfig& c, bool tune) {
  std::vector<TileNeed> needs;
  for (const ModelConfig::Shape& s : c.distinct_matmul_shapes()) needs.push_back({p.format, s.N, s.K, p.kernel});
  TuneOptions to;
  to.quick = true;
  to.reps = 3;
  to.cold_mb = 128;
  json from = json::array(), shapes = json::array();
  install_tiles(needs, tune, to, [&](const std::string& line) {
    from.push_back(line);
    std::fprintf(stderr, "%s\n", line.c_str());
  });
  for (const TileNeed& n : needs) {
    std::string src;
    const TlTiles t = tl_tiles_for(n.format, n.N, n.K, &src);
    shapes.push_back({{"N", n.N}, {"K", n.K}, {"BM", t.BM}, {"BK", t.BK}, {"bm", t.bm}, {"tuned", src == "set"}});
  }
  return {{"shapes", shapes}, {"from", from}};
}

// ---- the sweep: the plan's kernels x threads x tests, then the peers; each row appended as it completes ----
class Sweep {
 public:
  Sweep(const SweepArgs& a, const HwCounters& counters)
      : a_(a), counters_(counters), table_(a.output, a.counters), plan_(plan_sweep(a)) {
    if (a.out_file != "none") out_ = std::make_unique<ResultsFile>(a.out_file);
    meter_ = energy::best_hardware_meter();
    energy_source_ = meter_ ? meter_->name() : "estimate";
    if (!a.quiet) {
      if (!meter_)
        std::fprintf(stderr, "note: no hardware energy counter is usable here (harness energy says why); J/token is the "
                     "operation-count estimate\n");
      if (!counters.available()) std::fprintf(stderr, "counters: %s\n", counters.why_not().c_str());
      if (!counters.notes().empty()) std::fprintf(stderr, "%s\n", counters.notes().c_str());
    }
    machine_ = machine_fingerprint();
    machine_["energy_source"] = energy_source_;
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    run_id_ = utc_now_iso() + "-" + host + "-" + std::to_string(getpid());
    total_ = plan_.paths.size() * a.threads.size() * size_t((a.pp > 0) + (a.tg > 0));
  }

  int run() {
    g_signal.store(0);
    auto old_int = std::signal(SIGINT, on_signal);
    auto old_term = std::signal(SIGTERM, on_signal);
    table_.header();
    const double t_start = now();
    int rc = 0;
    try {
      for (const LinearPath& p : plan_.paths) run_kernel(p);
      for (const PeerRun& p : plan_.peers) run_peer_rows(p);
    } catch (const Interrupted&) {
      rc = g_signal.load() == SIGTERM ? 143 : 130;
    }
    std::signal(SIGINT, old_int);
    std::signal(SIGTERM, old_term);
    table_.finish(a_.baseline);
    if (!a_.quiet || rc) {
      std::fprintf(stderr, "%s%zu of %zu results in %.0f s", rc ? "interrupted: kept " : "done: ", done_, total_, now() - t_start);
      if (out_) std::fprintf(stderr, ", %zu appended to %s", written_, out_->path().c_str());
      std::fprintf(stderr, "\n");
    }
    return rc;
  }

 private:
  void emit(const json& row) {
    if (out_) {
      out_->append(row);
      ++written_;
    }
    table_.row(row);
  }

  void run_kernel(const LinearPath& p) {
    check_interrupt();
    const ModelConfig& c = plan_.cfg;
    const RunnerOptions o = plan_.options(p);
    KernelContext k;
    if (p.tiled()) k.tiles = install_model_tiles(p, c, a_.tune_tiles);
    // Read bandwidth now, beside this kernel's tests (machines are shared and it moves), and before the runner
    // exists: the probe's buffer is freed again, out of this kernel's peak RSS. Decode tests probe once more after
    // they ran (run_test).
    std::map<int, double> bw_now;
    if (a_.tg > 0)
      for (int th : a_.threads) {
        check_interrupt();
        bw_now[th] = measure_read_gbs(th);
      }
    for (int th : a_.threads) {
      if (!a_.quiet && !roof_.find(th))
        std::fprintf(stderr, "measuring this machine's roofline at %d thread%s (once: cached in %s)...\n", th,
                     th == 1 ? "" : "s", roof_.path().c_str());
      roof_.get(th);
    }
    k.peak_reset = reset_peak_rss();
    kernel_peak_ = 0;
    if (!a_.quiet) std::fprintf(stderr, "packing %s for %s (%s)...\n", c.name.c_str(), p.name.c_str(), plan_.weights->describe().c_str());
    Runner run(*plan_.weights, o, plan_.batch);
    const MemoryPlan& mem = run.memory();
    if (!a_.quiet)
      std::fprintf(stderr, "packed in %.1f s: %s linear weights, %s embedding/head, %s KV cache\n", run.pack_seconds(),
                   gb(double(mem.linear_weights)).c_str(), gb(double(mem.embedding)).c_str(), gb(double(mem.kv_cache)).c_str());
    energy::EstimateOptions eo;
    eo.linear = p.is_float() ? energy::LinearArith::fp16 : energy::LinearArith::ternary_int8;
    const energy::Estimate est(c, eo);
    k.cfg = &c;
    k.full_layers = plan_.full_layers;
    k.source = plan_.source;
    k.head = plan_.head;
    k.pin = a_.pin;
    k.run_id = run_id_;
    k.machine = &machine_;
    k.path = &p;
    k.mem = mem;
    k.energy_source = energy_source_;
    k.estimate = &est;
    k.estimate_node = eo.ops.label;
    k.reps = a_.reps;
    k.cv_warn = a_.cv_warn;
    for (int th : a_.threads) {
      run.set_threads(th);
      // The LM head walks its rows the way the read probe found faster at this thread count (no result changes).
      set_row_streams(roof_.get(th).read_streams);
      // The GEMV kernels fetch ahead as far as measured fastest for their path here (no result changes either).
      set_gemv_prefetch(p.kernel ? roof_.get(th).prefetch_of(isa_name(p.kernel->isa)) : kDefaultGemvPrefetch);
      if (!plan_.pin_order.empty()) pin_threads(plan_.pin_order, th);
      for (bool pp : {true, false})
        if ((pp ? a_.pp : a_.tg) > 0) run_test(run, k, th, pp, bw_now[th]);
    }
  }

  void run_test(Runner& run, const KernelContext& k, int th, bool pp, double bw_now) {
    check_interrupt();
    const int64_t n = pp ? a_.pp : a_.tg;
    const double t_cfg = now();
    if (!a_.quiet) {
      const double left = done_ ? measured_s_ / double(done_) * double(total_ - done_) : 0;
      std::fprintf(stderr, "[%zu/%zu] %s, %d thread%s, %s%lld%s\n", done_ + 1, total_, run.kernel_name().c_str(), th,
                   th == 1 ? "" : "s", pp ? "pp" : "tg", (long long)n,
                   done_ ? (", about " + fmt("%.0f", left) + " s left").c_str() : "");
    }
    const TestMeasurement m = measure_test(run, plan_.prompt, pp, n, a_.reps, counters_, meter_.get(), [&](int r, double dt) {
      if (!a_.quiet && dt > 1.0)
        std::fprintf(stderr, "  %s %d/%d: %.2f t/s\n", r ? "rep" : "warm-up", r, a_.reps, double(n) / dt);
    });
    TestContext t;
    t.threads = th;
    t.pp = pp;
    t.n = n;
    t.roof = &roof_.get(th);
    t.fork_join_s = fork_join_seconds(th);
    // This kernel's peak so far (packing included), kept across the resets below.
    kernel_peak_ = t.peak_rss = std::max(kernel_peak_, peak_rss_bytes());
    if (!pp) {
      t.read_gbs_probes = {bw_now};
      // Again after the test, once its peak RSS is read; then the peak is reset, so the probe's buffer (freed
      // again) is in no later test's figure. Where the peak cannot be reset, or the buffer would not fit beside the
      // model, the one probe before packing stands.
      if (k.peak_reset && available_memory_bytes() > 2 * bandwidth_probe_bytes()) {
        t.read_gbs_probes.push_back(measure_read_gbs(th));
        reset_peak_rss();
      }
    }
    const json row = sweep_row(k, t, m, counters_);
    emit(row);
    ++done_;
    measured_s_ += now() - t_cfg;
    if (!a_.quiet) print_test_summary(row, m.timers, a_);
  }

  // A peer's llama-bench, after ternbench's own runs (never at the same time), with the same tests.
  void run_peer_rows(const PeerRun& p) {
    check_interrupt();
    if (!a_.quiet) std::fprintf(stderr, "peer: %s on %s (pp%lld, tg%lld, %d reps)...\n", p.llama_bench.c_str(), p.model.c_str(),
                                (long long)a_.pp, (long long)a_.tg, a_.reps);
    std::vector<json> rows;
    try {
      rows = run_peer(p, a_.pp, a_.tg, a_.reps, a_.threads);
    } catch (const Error& e) {
      check_interrupt();  // a Ctrl-C that stopped the peer is an interruption, not a failure
      std::fprintf(stderr, "warning: %s; skipped\n", e.what());
      return;
    }
    check_interrupt();
    for (json& r : rows) {
      r["run_id"] = run_id_;
      r["machine"]["energy_source"] = "none (llama-bench does not measure energy)";
      const bool asked = (r["test"] == "pp" && r["n_prompt"] == a_.pp) || (r["test"] == "tg" && r["n_gen"] == a_.tg);
      if (!asked)
        std::fprintf(stderr, "warning: %s printed a %s test at %s threads, which this sweep did not ask for; kept as printed\n",
                     p.llama_bench.c_str(), test_name(r).c_str(), r["threads"].dump().c_str());
      emit(r);
    }
  }

  const SweepArgs& a_;
  const HwCounters& counters_;
  Table table_;
  Plan plan_;
  std::unique_ptr<ResultsFile> out_;
  std::unique_ptr<energy::Meter> meter_;
  std::string energy_source_, run_id_;
  json machine_;
  RooflineCache roof_;
  size_t total_ = 0, done_ = 0, written_ = 0;
  double measured_s_ = 0;  // time spent in finished tests, for the estimate of what is left
  size_t kernel_peak_ = 0;  // the running kernel's peak RSS over its tests so far
};

}  // namespace

int cmd_sweep(const SweepArgs& a) {
  // Hardware counters first: inherited counters count only the threads started after their open, and no
  // OpenMP thread exists yet. Always on where they open (counting costs no interrupts, only the PMU's save
  // and restore at context switches); --counters adds them to the table and CSV, the row has them anyway.
  const HwCounters counters;
  Sweep sweep(a, counters);  // the plan: everything checked before the first measurement
  return sweep.run();
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
