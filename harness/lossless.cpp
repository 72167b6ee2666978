// `harness lossless`: [A1] Table 7's measurement. For many prompts, the greedy continuation of the model run
// by each kernel is compared, token for token, with two references:
// - "FP32 kernel": the same runner with the linear layers computed by the int8_ref oracle. Its int32 sums
//   are exactly what an fp32 kernel computes for ternary x int8 products (every partial sum is an integer
//   below 127 K < 2^24, so fp32 holds it exactly): [A1]'s setting, where only the kernel is swapped.
// - the independent Eigen fp32 reference with fake-quantized activations: same math, its own code for norms,
//   attention and rounding order. Float differences outside the kernels can move a value across an int8
//   rounding boundary and, on a model whose logits are close (synthetic weights), change a greedy token.
// The share of prompts whose whole continuation matches is the exact-match rate. The LM head runs in fp32.
#include <chrono>
#include <cstdio>
#include <memory>

#include "base/rng.h"
#include "base/strings.h"
#include "harness/commands.h"
#include "harness/results.h"
#include "model/runner.h"
#include "reference/bitnet_ref.h"

namespace tb {

namespace {
int32_t argmax(const std::vector<float>& v) {
  size_t best = 0;
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i] > v[best]) best = i;
  return int32_t(best);
}
// Greedy continuation of `n` tokens after the prompt.
template <class Model>
std::vector<int32_t> greedy(Model& m, const std::vector<int32_t>& prompt, int64_t n, int64_t vocab) {
  std::vector<float> logits(static_cast<size_t>(vocab));
  m.reset();
  m.forward(prompt.data(), int64_t(prompt.size()), logits.data());
  std::vector<int32_t> out;
  for (int64_t i = 0; i < n; ++i) {
    out.push_back(argmax(logits));
    if (i + 1 < n) m.forward(&out.back(), 1, logits.data());
  }
  return out;
}
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
}  // namespace

int cmd_lossless(const LosslessArgs& a) {
  if (a.prompts < 1 || a.tokens < 1 || a.prompt_len < 1) throw Error("--prompts, --tokens and --prompt-len must be at least 1");
  ModelConfig c = load_model_config(a.model);
  if (a.prompt_len + a.tokens > c.context)
    throw Error("--prompt-len + --tokens exceeds " + c.name + "'s context of " + std::to_string(c.context));
  const auto src = synthetic_weights(c, a.seed);
  const int64_t ctx = a.prompt_len + a.tokens;
  std::fprintf(stderr, "lossless %s: %lld prompts x %lld tokens; fp32 reference (fake-quant activations)...\n", c.name.c_str(),
               (long long)a.prompts, (long long)a.tokens);
  ref::Reference reference(*src, ref::Activations::fake_quant, ctx);
  RunnerOptions oo;
  oo.path = resolve_linear(oracle_kernel().name);
  oo.head = HeadPrecision::fp32;
  oo.context = ctx;
  Runner oracle(*src, oo, a.prompt_len);
  oracle.set_threads(a.threads);
  std::vector<std::vector<int32_t>> prompts, want, want_oracle;
  uint64_t s = a.seed * kGolden64 + 11;
  const double t0 = now();
  for (int64_t p = 0; p < a.prompts; ++p) {
    std::vector<int32_t> pr(static_cast<size_t>(a.prompt_len));
    for (auto& t : pr) t = int32_t(xorshift64(s) % uint64_t(c.vocab));
    prompts.push_back(pr);
    want.push_back(greedy(reference, pr, a.tokens, c.vocab));
    want_oracle.push_back(greedy(oracle, pr, a.tokens, c.vocab));
    if (p == 0 || (p + 1) % 10 == 0)
      std::fprintf(stderr, "  reference: %lld/%lld prompts (%.0f s)\n", (long long)(p + 1), (long long)a.prompts, now() - t0);
  }
  json out = {{"model", c.name}, {"reference", "FP32 kernel: the runner with the int8_ref oracle kernel (exact in fp32)"},
              {"reference_independent", "the Eigen fp32 reference, fake-quantized int8 activations"}, {"head", "fp32"},
              {"prompts", a.prompts}, {"tokens", a.tokens}, {"prompt_len", a.prompt_len}, {"seed", a.seed},
              {"kernels", json::array()}};
  for (const std::string& k : split_list(a.kernels)) {
    RunnerOptions o;
    o.path = resolve_linear(k);
    o.head = HeadPrecision::fp32;
    o.context = ctx;
    Runner run(*src, o, a.prompt_len);
    run.set_threads(a.threads);
    int64_t matched = 0, matched_ind = 0, agree = 0, agree_oracle = 0;
    for (size_t p = 0; p < prompts.size(); ++p) {
      const std::vector<int32_t> got = greedy(run, prompts[p], a.tokens, c.vocab);
      matched += got == want_oracle[p];
      matched_ind += got == want[p];
      size_t i = 0, j = 0;
      while (i < got.size() && got[i] == want[p][i]) ++i;
      while (j < got.size() && got[j] == want_oracle[p][j]) ++j;
      agree += int64_t(i);
      agree_oracle += int64_t(j);
    }
    const double rate = double(matched) / double(a.prompts), rate_ind = double(matched_ind) / double(a.prompts);
    std::fprintf(stderr, "  %s: %lld of %lld continuations identical to the FP32 kernel's (%.1f%%), %lld to the Eigen reference's\n",
                 run.kernel_name().c_str(), (long long)matched, (long long)a.prompts, 100 * rate, (long long)matched_ind);
    out["kernels"].push_back({{"kernel", run.kernel_name()}, {"exact_match_rate", rate}, {"matched", matched},
                              {"tokens_before_first_divergence_mean", double(agree_oracle) / double(a.prompts)},
                              {"exact_match_rate_independent", rate_ind}, {"matched_independent", matched_ind},
                              {"tokens_before_first_divergence_independent_mean", double(agree) / double(a.prompts)}});
  }
  if (a.json) {
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("| kernel | identical to the FP32 kernel ([A1] Table 7) | identical to the Eigen fp32 reference | mean tokens before divergence (Eigen) |\n|---|---:|---:|---:|\n");
    for (const json& k : out["kernels"])
      std::printf("| %s | %lld / %lld (%.1f%%) | %lld / %lld (%.1f%%) | %.1f of %lld |\n", k["kernel"].get<std::string>().c_str(),
                  (long long)k["matched"].get<int64_t>(), (long long)a.prompts, 100 * k["exact_match_rate"].get<double>(),
                  (long long)k["matched_independent"].get<int64_t>(), (long long)a.prompts,
                  100 * k["exact_match_rate_independent"].get<double>(),
                  k["tokens_before_first_divergence_independent_mean"].get<double>(), (long long)a.tokens);
  }
  return 0;
}

static Command add_lossless_command(CLI::App& app) {
  auto a = std::make_shared<LosslessArgs>();
  CLI::App* lossless = app.add_subcommand("lossless", "share of greedy continuations identical to the fp32 reference, per kernel "
                                      "([A1] Table 7)");
  add_model_option(lossless, a->model, "preset name or .json config");
  lossless->add_option("--kernels,-k", a->kernels, "formats or variants")->capture_default_str();
  lossless->add_option("--prompts", a->prompts, "synthetic prompts")->capture_default_str();
  lossless->add_option("--tokens", a->tokens, "greedy tokens generated per prompt")->capture_default_str();
  lossless->add_option("--prompt-len", a->prompt_len, "tokens per prompt")->capture_default_str();
  add_seed_option(lossless, a->seed, "seed of the weights and prompts");
  lossless->add_option("--threads,-t", a->threads, "threads of the kernels (the reference runs on one)");
  lossless->add_flag("--json", a->json, "JSON on stdout instead of a table");
  return {lossless, [a] { return cmd_lossless(*a); }};
}
[[maybe_unused]] const bool registered = register_command(30, add_lossless_command);

}  // namespace tb
