// `harness verify`: the bit-exact promise, checked on this machine and on a model's real shapes.
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

#include "harness/commands.h"
#include "harness/ternary_matrix.h"
#include "model/runner.h"

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
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 7;
  for (auto& v : r.q) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    v = int8_t(uint8_t(s >> 24));
  }
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

int cmd_verify(const VerifyArgs& a) {
  ModelConfig c = load_model_config(a.model);
  if (a.tokens < 1) throw Error("--tokens must be at least 1");
  if (a.layers < 0 || a.layers > c.layers)
    throw Error("--layers " + std::to_string(a.layers) + ": " + c.name + " has " + std::to_string(c.layers) + " layers");
  const Kernel& oracle = find_kernel("int8_ref__scalar");
  std::vector<const Kernel*> variants;
  for (const Kernel& k : all_kernels())
    if (&k != &oracle && cpu_supports(k.isa)) variants.push_back(&k);
  int max_threads = 1;
  for (int t : a.threads) max_threads = std::max(max_threads, t);
  Tally tally;
  const double t0 = now();
  const char* fault_env = std::getenv("TERNBENCH_VERIFY_FAULT");
  const std::string fault = fault_env ? fault_env : "";

  // ---- 1. every variant against the oracle on every matmul shape ----
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

  // ---- 2. logits end to end: every variant and thread count against the oracle at the first thread count ----
  if (a.layers > 0) c.layers = a.layers;
  const auto src = synthetic_weights(c, a.seed);
  const int64_t decode_steps = 3;
  std::vector<int32_t> prompt(static_cast<size_t>(a.tokens));
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = int32_t((i * 2654435761u + a.seed) % uint64_t(c.vocab));
  std::vector<float> reference;
  std::vector<const Kernel*> all = {&oracle};
  all.insert(all.end(), variants.begin(), variants.end());
  const std::string where_model = c.name + (a.layers > 0 ? " (" + std::to_string(c.layers) + " layers)" : "") + ", pp" +
                                  std::to_string(a.tokens) + " + " + std::to_string(decode_steps) + " decode";
  for (size_t i = 0; i < all.size(); ++i) {
    const Kernel* k = all[i];
    std::fprintf(stderr, "[%zu/%zu] end to end with %s (%.0f s so far)\n", i + 1, all.size(), k->name, now() - t0);
    RunnerOptions o;
    o.kernel = k->name;
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
  std::fprintf(stderr, "%d checks, %d failed, %.0f s\n", tally.checks, tally.failures, now() - t0);
  if (tally.failures)
    std::fprintf(stderr, "verify: %d of %d checks FAILED (rows marked MISMATCH above; step 0 is the prefill's last token)\n",
                 tally.failures, tally.checks);
  return tally.failures ? 1 : 0;
}

}  // namespace tb
