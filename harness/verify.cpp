// `harness verify`: the bit-exact promise, checked on this machine and on a model's real shapes.
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <cstdlib>
#include <cstring>
#include <set>

#include "base/rng.h"
#include "harness/commands.h"
#include "harness/ternary_matrix.h"
#include "harness/thread_spec.h"
#include "model/runner.h"
#include "harness/crosscheck.h"

namespace tb {

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Inputs of one matmul case: weights and int8 activations, by name.
struct Case {
  const char* name;
  std::vector<int8_t> w, q;
};
std::vector<Case> cases(int64_t N, int64_t K, int64_t T, uint64_t seed) {
  std::vector<Case> out;
  // random: ternary weights, activations over the whole int8 range.
  Case r{"random", ternary_matrix(N, K, seed), std::vector<int8_t>(static_cast<size_t>(T * K))};
  uint64_t s = seed * kGolden64 + 7;
  for (auto& v : r.q) v = int8_t(uint8_t(xorshift64(s) >> 24));
  out.push_back(std::move(r));
  // extremes: every product at its largest magnitude, both signs (the int16 and int32 bounds of the kernels).
  out.push_back({"all -1 x -128", std::vector<int8_t>(static_cast<size_t>(N * K), -1), std::vector<int8_t>(static_cast<size_t>(T * K), -128)});
  out.push_back({"all +1 x -128", std::vector<int8_t>(static_cast<size_t>(N * K), 1), std::vector<int8_t>(static_cast<size_t>(T * K), -128)});
  return out;
}

struct Tally {
  int checks = 0, failures = 0;
};

void report(Tally& t, const std::string& what, const std::string& kernel, const std::string& where, const std::string& result) {
  ++t.checks;
  const bool ok = result.empty();
  if (!ok) ++t.failures;
  std::printf("| %s | %s | %s | %s |\n", what.c_str(), kernel.c_str(), where.c_str(), ok ? "ok" : result.c_str());
  std::fflush(stdout);
}

// "" when equal, else the first differing index and both values.
std::string first_difference_i32(const std::vector<int32_t>& got, const std::vector<int32_t>& want, int64_t N) {
  for (size_t i = 0; i < got.size(); ++i)
    if (got[i] != want[i])
      return "MISMATCH at token " + std::to_string(int64_t(i) / N) + ", row " + std::to_string(int64_t(i) % N) + ": " +
             std::to_string(got[i]) + ", oracle " + std::to_string(want[i]);
  return "";
}
std::string first_difference_f32(const std::vector<float>& got, const std::vector<float>& want, const char* unit, int64_t per) {
  for (size_t i = 0; i < got.size(); ++i)
    if (std::memcmp(&got[i], &want[i], sizeof(float)) != 0) {
      char b[160];
      std::snprintf(b, sizeof b, "MISMATCH at %s %lld, index %lld: %.9g, reference %.9g", unit, (long long)(int64_t(i) / per),
                    (long long)(int64_t(i) % per), double(got[i]), double(want[i]));
      return b;
    }
  return "";
}

}  // namespace

namespace {

// 1. Every variant against the oracle on every matmul shape of c, bit for bit (int32 and float outputs).
void verify_matmuls(const ModelConfig& c, const VerifyArgs& a, const Kernel& oracle,
                    const std::vector<const Kernel*>& variants, int max_threads, const std::string& fault, Tally& tally) {
  std::set<std::pair<int64_t, int64_t>> shapes;
  for (const auto& mm : c.layer_matmuls()) shapes.insert({mm.N, mm.K});
  std::fprintf(stderr, "verify %s: %zu variants x %zu shapes against %s, then logits end to end\n", c.name.c_str(),
               variants.size(), shapes.size(), oracle.name);
  std::printf("| check | kernel | where | result |\n|---|---|---|---|\n");
  for (const auto& [N, K] : shapes) {
    for (int64_t T : {int64_t(1), int64_t(3), a.tokens}) {
      if (T == 3 && a.tokens == 3) continue;
      for (const Case& cs : cases(N, K, T, a.seed + uint64_t(N * 31 + K))) {
        const std::vector<float> scales(static_cast<size_t>(T), 0.5f);
        const QuantizedActs acts = acts_from_int8(cs.q.data(), T, K, scales.data());
        std::vector<int32_t> want(static_cast<size_t>(T * N));
        std::vector<float> want_f(want.size());
        {
          const PackedWeights pw = pack_weights(*oracle.format, cs.w.data(), N, K, 0.25f);
          PreparedActs px;
          prepare_activations(oracle, acts, px);
          run_i32(oracle, pw, px, want.data(), max_threads);
          run_f32(oracle, pw, px, want_f.data(), max_threads);
        }
        for (const Kernel* k : variants) {
          const std::string where = std::to_string(N) + "x" + std::to_string(K) + ", T=" + std::to_string(T) + ", " + cs.name;
          const std::string bad_shape = k->format->check_shape(N, K);
          if (!bad_shape.empty()) {
            report(tally, "matmul", k->name, where, "FORMAT CANNOT TAKE THIS SHAPE: " + bad_shape);
            continue;
          }
          const PackedWeights pw = pack_weights(*k->format, cs.w.data(), N, K, 0.25f);
          PreparedActs px;
          prepare_activations(*k, acts, px);
          std::vector<int32_t> got(want.size());
          std::vector<float> got_f(want.size());
          run_i32(*k, pw, px, got.data(), max_threads);
          run_f32(*k, pw, px, got_f.data(), max_threads);
          if (fault == k->name) got.back() += 1;  // the self-test of this failure path (tests/harness)
          std::string diff = first_difference_i32(got, want, N);
          if (diff.empty()) diff = first_difference_f32(got_f, want_f, "token", N);
          report(tally, "matmul", k->name, where, diff);
        }
      }
    }
  }
}

// 2. Logits end to end: every kernel (the oracle first) and thread count against the oracle at the first thread
// count, bit for bit, over a prefill and a few decode steps.
void verify_logits(ModelConfig c, const VerifyArgs& a, const std::vector<const Kernel*>& all, double t0, Tally& tally) {
  if (a.layers > 0) c.layers = a.layers;
  const auto src = synthetic_weights(c, a.seed);
  const int64_t decode_steps = 3;
  const std::vector<int32_t> prompt = synthetic_prompt(a.tokens, a.seed, c.vocab);
  std::vector<float> reference;
  const std::string where_model = c.name + (a.layers > 0 ? " (" + std::to_string(c.layers) + " layers)" : "") + ", pp" +
                                  std::to_string(a.tokens) + " + " + std::to_string(decode_steps) + " decode";
  for (size_t i = 0; i < all.size(); ++i) {
    const Kernel* k = all[i];
    std::fprintf(stderr, "[%zu/%zu] end to end with %s (%.0f s so far)\n", i + 1, all.size(), k->name, now() - t0);
    RunnerOptions o;
    o.path = resolve_linear(k->name);
    o.context = a.tokens + decode_steps;
    Runner run(*src, o, a.tokens);
    for (int th : a.threads) {
      run.set_threads(th);
      run.reset();
      std::vector<float> logits(static_cast<size_t>(c.vocab * (1 + decode_steps)));
      run.forward(prompt.data(), a.tokens, logits.data());
      for (int64_t s = 0; s < decode_steps; ++s) {
        const int32_t tok = prompt[size_t(s) % prompt.size()];
        run.forward(&tok, 1, logits.data() + (s + 1) * c.vocab);
      }
      const std::string where = where_model + ", " + std::to_string(th) + " thread" + (th == 1 ? "" : "s");
      if (reference.empty()) {  // the oracle's logits: what every other run must reproduce
        reference = logits;
        std::printf("| logits | %s | %s | reference |\n", k->name, where.c_str());
        continue;
      }
      report(tally, "logits", k->name, where, first_difference_f32(logits, reference, "step", c.vocab));
    }
  }
}

}  // namespace

int cmd_verify(const VerifyArgs& a) {
  const ModelConfig c = load_model_config(a.model);
  if (a.tokens < 1) throw Error("--tokens must be at least 1");
  if (a.layers < 0 || a.layers > c.layers)
    throw Error("--layers " + std::to_string(a.layers) + ": " + c.name + " has " + std::to_string(c.layers) + " layers");
  const Kernel& oracle = oracle_kernel();
  std::vector<const Kernel*> variants;
  for (const Kernel& k : all_kernels())
    if (&k != &oracle && cpu_supports(k.isa)) variants.push_back(&k);
  int max_threads = 1;
  for (int t : a.threads) max_threads = std::max(max_threads, t);
  Tally tally;
  const double t0 = now();
  const char* fault_env = std::getenv("TERNBENCH_VERIFY_FAULT");
  verify_matmuls(c, a, oracle, variants, max_threads, fault_env ? fault_env : "", tally);
  std::vector<const Kernel*> all = {&oracle};
  all.insert(all.end(), variants.begin(), variants.end());
  verify_logits(c, a, all, t0, tally);
  std::fprintf(stderr, "%d checks, %d failed, %.0f s\n", tally.checks, tally.failures, now() - t0);
  if (tally.failures)
    std::fprintf(stderr, "verify: %d of %d checks FAILED (rows marked MISMATCH above; step 0 is the prefill's last token)\n",
                 tally.failures, tally.checks);
  return tally.failures ? 1 : 0;
}

}  // namespace tb

namespace tb {

namespace {
// The first n blocks of a model (the rest of its weights untouched), for a check that fits in memory.
class FirstLayers : public WeightSource {
 public:
  FirstLayers(std::unique_ptr<WeightSource> src, int64_t n) : src_(std::move(src)), cfg_(src_->config()) {
    cfg_.layers = n;
    cfg_.name += " (first " + std::to_string(n) + " layers)";
  }
  const ModelConfig& config() const override { return cfg_; }
  std::string describe() const override { return src_->describe() + ", first " + std::to_string(cfg_.layers) + " layers"; }
  TernaryTensor linear(int64_t l, const std::string& n) const override { return src_->linear(l, n); }
  std::vector<float> norm(int64_t l, const std::string& n) const override { return src_->norm(l, n); }
  void embedding_rows(int64_t r0, int64_t r1, float* out) const override { src_->embedding_rows(r0, r1, out); }
  bool untied_head() const override { return src_->untied_head(); }
  void head_rows(int64_t r0, int64_t r1, float* out) const override { src_->head_rows(r0, r1, out); }

 private:
  std::unique_ptr<WeightSource> src_;
  ModelConfig cfg_;
};
}  // namespace

int cmd_verify_reference(const VerifyArgs& a) {
  if (a.tokens < 1) throw Error("--tokens must be at least 1");
  if (a.steps < 0) throw Error("--steps must be at least 0");
  const bool gguf = a.model.size() > 5 && a.model.compare(a.model.size() - 5, 5, ".gguf") == 0;
  std::string choice;
  std::unique_ptr<WeightSource> src;
  if (gguf) src = gguf_weights(a.model, &choice);
  else src = synthetic_weights(load_model_config(a.model), a.seed);
  const ModelConfig full_cfg = src->config();
  if (a.layers < 0 || a.layers > full_cfg.layers)
    throw Error("--layers " + std::to_string(a.layers) + ": " + full_cfg.name + " has " + std::to_string(full_cfg.layers) + " layers");
  if (a.layers > 0 && a.layers < full_cfg.layers) src = std::make_unique<FirstLayers>(std::move(src), a.layers);
  const ModelConfig& c = src->config();
  if (!choice.empty()) std::fprintf(stderr, "%s\n", choice.c_str());
  ref::CrossCheckOptions o;
  o.kernel = a.kernel;
  o.threads = a.threads.empty() ? 1 : a.threads.front();
  o.context = a.tokens + a.steps;
  o.max_batch = std::min<int64_t>(a.tokens, 512);
  std::fprintf(stderr, "verify --reference %s: runner (%s, %d thread%s) beside the Eigen reference (fake-quant, teacher-forced) "
               "and full precision; %lld-token prompt + %lld decode steps; loading...\n", c.name.c_str(), a.kernel.c_str(),
               o.threads, o.threads == 1 ? "" : "s", (long long)a.tokens, (long long)a.steps);
  const double t0 = now();
  ref::CrossCheck cc(*src, o);
  const std::vector<int32_t> prompt = synthetic_prompt(a.tokens, a.seed, c.vocab);
  int32_t t = cc.step(prompt.data(), a.tokens);
  for (int64_t s = 0; s < a.steps; ++s) {
    std::fprintf(stderr, "\r  step %lld/%lld (%.0f s)", (long long)(s + 1), (long long)a.steps, now() - t0);
    t = cc.step(&t, 1);
  }
  if (a.steps) std::fprintf(stderr, "\n");
  const ref::CrossCheckReport& r = cc.report();
  std::printf("runner %s beside the Eigen reference on %s: %lld tokens in %lld steps\n\n", cc.runner().kernel_name().c_str(),
              c.name.c_str(), (long long)r.tokens, (long long)r.steps);
  std::printf("| layer | quantization point | codes | flips | max pre-quant. diff (steps) | bound (steps) | scales differing |\n"
              "|---:|---|---:|---:|---:|---:|---:|\n");
  for (size_t l = 0; l < r.layers.size(); ++l)
    for (int s = 0; s < 4; ++s) {
      const auto& st = r.layers[l].site[s];
      std::printf("| %zu | %s | %lld | %lld | %.3g | %.3g | %lld |\n", l, quant_site_name(QuantSite(s)), (long long)st.values,
                  (long long)st.flips, st.max_diff_steps, st.bound_steps, (long long)st.scale_diffs);
    }
  std::printf("\n| layer | linear outputs identical | residual stream identical | quantization error vs fp32 (rel. RMS of the residual stream) |\n"
              "|---:|---:|---:|---:|\n");
  for (size_t l = 0; l < r.layers.size(); ++l) {
    const auto& L = r.layers[l];
    std::printf("| %zu | %lld / %lld | %lld / %lld | %.4g |\n", l, (long long)(L.linear_values - L.linear_mismatches),
                (long long)L.linear_values, (long long)(L.residual_values - L.residual_mismatches), (long long)L.residual_values,
                L.quant_err);
  }
  std::printf("\nflips: %lld (a flip is a code that differs because the two float paths round differently near a .5 "
              "boundary; counted, then the runner's codes are fed to both sides)\n", (long long)r.total_flips);
  for (size_t i = 0; i < r.flips.size() && i < 10; ++i) {
    const auto& f = r.flips[i];
    std::printf("  layer %lld %s position %lld index %lld: runner %d, reference %d (inputs %.3g steps apart)\n",
                (long long)f.layer, quant_site_name(f.site), (long long)f.pos, (long long)f.index, f.runner_code,
                f.reference_code, f.diff_steps);
  }
  std::printf("logits: largest difference %.3g of its rounding bound (%.3g of max |logit|); against full precision %.4g of "
              "max |logit| (quantization error)\n", r.logit_excess, r.logit_diff_rel, r.logit_err_full);
  std::fprintf(stderr, "%.0f s\n", now() - t0);
  if (!r.ok()) {
    std::fprintf(stderr, "verify --reference: FAILED\n%s", r.failures().c_str());
    return 1;
  }
  std::printf("ok: every linear output identical given identical codes, every difference within its bound\n");
  return 0;
}

static Command add_verify_command(CLI::App& app) {
  struct Args {
    VerifyArgs args;
    std::string threads = "1,max";
  };
  auto a = std::make_shared<Args>();
  CLI::App* verify = app.add_subcommand("verify", "check every kernel bit for bit against the oracle on the model's shapes, "
                                    "and that logits are identical across kernels and thread counts");
  add_model_option(verify, a->args.model, "preset name or .json config");
  verify->add_option("--threads,-t", a->threads, "thread counts the logits must agree across")->capture_default_str();
  verify->add_option("--layers", a->args.layers, "end-to-end check on the first N layers only (0: all)")->capture_default_str();
  verify->add_option("--tokens", a->args.tokens, "GEMM tokens of the matmul check and prompt tokens of the end-to-end check")->capture_default_str();
  add_seed_option(verify, a->args.seed, "seed of the weights and activations");
  verify->add_flag("--reference", a->args.reference,
                   "instead: the runner beside the Eigen reference, layer by layer (flips, pre-quantization "
                   "differences, identical linear outputs, quantization error per layer); -m may be a .gguf file");
  verify->add_option("--kernel,-k", a->args.kernel, "with --reference: the runner's kernel (format or variant)")->capture_default_str();
  verify->add_option("--steps", a->args.steps, "with --reference: greedy decode steps after the prompt")->capture_default_str();
  return {verify, [a] {
            a->args.threads = parse_thread_spec(a->threads);
            return a->args.reference ? cmd_verify_reference(a->args) : cmd_verify(a->args);
          }};
}
[[maybe_unused]] const bool registered = register_command(20, add_verify_command);

}  // namespace tb
