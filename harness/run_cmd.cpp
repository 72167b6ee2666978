// `harness run`: end-to-end prefill (pp) and generation (tg) throughput of the quantized runner, the
// way llama-bench measures them: one warm-up, then repetitions; pp = one batch of N prompt tokens from
// an empty cache, tg = N single-token steps from an empty cache. (The full sweep with results files,
// roofline and energy is `harness --model ...`, the harness issue.)
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>

#include "harness/commands.h"
#include "model/runner.h"

namespace tb {

namespace {
struct Stats {
  double mean = 0, sd = 0, median = 0;
};
Stats stats(std::vector<double> v) {
  Stats s;
  for (double x : v) s.mean += x;
  s.mean /= double(v.size());
  for (double x : v) s.sd += (x - s.mean) * (x - s.mean);
  s.sd = v.size() > 1 ? std::sqrt(s.sd / double(v.size() - 1)) : 0.0;
  std::sort(v.begin(), v.end());
  s.median = v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
  return s;
}
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
}  // namespace

int cmd_run(const RunArgs& a) {
  std::unique_ptr<WeightSource> w;
  std::string choice;
  if (a.model.size() > 5 && a.model.substr(a.model.size() - 5) == ".gguf") {
    w = gguf_weights(a.model, &choice);
    std::fprintf(stderr, "%s\n", choice.c_str());
  } else {
    w = synthetic_weights(load_model_config(a.model), a.seed);
  }
  const ModelConfig& c = w->config();
  if (a.pp < 1 || a.tg < 1 || a.reps < 1) throw Error("--pp, --tg and --reps must be at least 1");
  if (a.pp + a.tg > c.context)
    throw Error("--pp " + std::to_string(a.pp) + " + --tg " + std::to_string(a.tg) + " exceeds " + c.name +
                "'s context of " + std::to_string(c.context) + " tokens");
  for (int t : a.threads)
    if (t > omp_get_num_procs())
      std::fprintf(stderr, "warning: %d threads on a machine with %d logical CPUs\n", t, omp_get_num_procs());
  std::printf("| model | kernel | head | threads | test | t/s (mean ± sd) | median t/s |\n|---|---|---|---|---|---|---|\n");
  std::vector<int32_t> prompt(size_t(a.pp));
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = int32_t((i * 2654435761u + a.seed) % uint64_t(c.vocab));
  std::vector<float> logits(size_t(c.vocab));
  const size_t total = a.kernels.size() * a.threads.size() * 2;
  size_t done = 0;
  const double t_start = now();
  for (const auto& kname : a.kernels) {
    RunnerOptions o;
    o.kernel = kname;
    o.head = parse_head_precision(a.head);
    o.context = a.pp + a.tg;
    std::fprintf(stderr, "packing %s for %s (%s)...\n", c.name.c_str(), kname.c_str(), w->describe().c_str());
    Runner run(*w, o, a.pp);
    std::fprintf(stderr, "packed in %.1f s: %.3f GB of linear weights, %.3f GB embedding/head, %.3f GB KV cache\n",
                 run.pack_seconds(), double(run.memory().linear_weights) / 1e9, double(run.memory().embedding) / 1e9,
                 double(run.memory().kv_cache) / 1e9);
    for (int th : a.threads) {
      run.set_threads(th);
      for (int test = 0; test < 2; ++test) {
        const bool pp = test == 0;
        const int64_t n = pp ? a.pp : a.tg;
        std::vector<double> tps;
        for (int r = 0; r <= a.reps; ++r) {  // r == 0: warm-up
          run.reset();
          if (r == 1) run.reset_timers();
          const double t0 = now();
          if (pp) run.forward(prompt.data(), n, logits.data());
          else
            for (int64_t i = 0; i < n; ++i) {
              const int32_t tok = prompt[size_t(i) % prompt.size()];
              run.forward(&tok, 1, logits.data());
            }
          if (r > 0) tps.push_back(double(n) / (now() - t0));
        }
        const Stats s = stats(tps);
        const Runner::Timers& tm = run.timers();
        const double tt = tm.linear + tm.attention + tm.norms_and_quant + tm.head;
        std::fprintf(stderr, "  where the time went: linear %.0f%%, attention %.0f%%, norms+quantization %.0f%%, LM head %.0f%%\n",
                     100 * tm.linear / tt, 100 * tm.attention / tt, 100 * tm.norms_and_quant / tt, 100 * tm.head / tt);
        ++done;
        const double el = now() - t_start;
        std::fprintf(stderr, "[%zu/%zu] %s t=%d %s%lld: %.2f t/s; about %.0f s left\n", done, total, run.kernel_name().c_str(), th,
                     pp ? "pp" : "tg", (long long)n, s.median, el / double(done) * double(total - done));
        std::printf("| %s | %s | %s | %d | %s%lld | %.2f ± %.2f | %.2f |\n", c.name.c_str(), run.kernel_name().c_str(),
                    a.head.c_str(), th, pp ? "pp" : "tg", (long long)n, s.mean, s.sd, s.median);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}

}  // namespace tb
