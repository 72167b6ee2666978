// The quantized runner against the Eigen fp32 reference: fake-quant mode side by side with teacher forcing
// (harness/crosscheck.h), and the float baselines against full precision.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <Eigen/Core>

#include "model/runner.h"
#include "reference/bitnet_ref.h"
#include "harness/crosscheck.h"
#include "tests/error_of.h"

namespace {

tb::ModelConfig two_layer_2b4t() {
  tb::ModelConfig c = tb::load_model_config("2B4T");
  c.name = "2B4T-2layers";
  c.layers = 2;
  c.context = 256;
  return c;
}

struct Diff {
  double max_abs = 0, max_logit = 0;
};
Diff diff(const std::vector<float>& a, const std::vector<float>& b) {
  Diff d;
  for (size_t i = 0; i < a.size(); ++i) {
    d.max_abs = std::max(d.max_abs, double(std::fabs(a[i] - b[i])));
    d.max_logit = std::max(d.max_logit, double(std::fabs(b[i])));
  }
  return d;
}
int argmax(const std::vector<float>& v) { return int(std::max_element(v.begin(), v.end()) - v.begin()); }

std::vector<int32_t> prompt_for(const tb::ModelConfig& cfg, size_t n) {
  std::vector<int32_t> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = int32_t((i * 7919 + 13) % size_t(cfg.vocab));
  return p;
}

// Prompt, then greedy decode on the runner's tokens, runner and teacher-forced fake-quant reference side by side
// (harness/crosscheck.h: the bounds each check asserts are derived in crosscheck.cpp).
tb::ref::CrossCheckReport cross_check(const tb::WeightSource& w, const tb::ref::CrossCheckOptions& o, size_t prompt_len,
                                      int decode_steps, std::vector<float>* ref_logits = nullptr) {
  tb::ref::CrossCheck cc(w, o);
  const std::vector<int32_t> prompt = prompt_for(w.config(), prompt_len);
  int32_t t = cc.step(prompt.data(), int64_t(prompt.size()));
  for (int s = 0; s < decode_steps; ++s) {
    if (ref_logits) ref_logits->insert(ref_logits->end(), cc.reference_logits().begin(), cc.reference_logits().end());
    t = cc.step(&t, 1);
  }
  if (ref_logits) ref_logits->insert(ref_logits->end(), cc.reference_logits().begin(), cc.reference_logits().end());
  const tb::ref::CrossCheckReport& r = cc.report();
  int64_t lin = 0, bad = 0;
  double qerr = 0;
  for (const auto& L : r.layers) lin += L.linear_values, bad += L.linear_mismatches, qerr = std::max(qerr, L.quant_err);
  std::printf("%s %s, %zu-token prompt + %d decode steps (batch %lld): %lld flips; %lld of %lld linear outputs identical; "
              "logit differences up to %.3g of their bound (%.3g of max |logit|); quantization error per layer up to "
              "%.3g, logits vs full precision %.3g\n",
              w.config().name.c_str(), cc.runner().kernel_name().c_str(), prompt_len, decode_steps, (long long)o.max_batch,
              (long long)r.total_flips, (long long)(lin - bad), (long long)lin, r.logit_excess, r.logit_diff_rel, qerr,
              r.logit_err_full);
  for (size_t l = 0; l < r.layers.size(); ++l)
    for (int s = 0; s < 4; ++s) {
      const auto& st = r.layers[l].site[s];
      std::printf("  layer %zu %-8s flips %4lld of %8lld, max pre-quantization difference %.3g steps (bound %.3g)\n", l,
                  tb::quant_site_name(tb::QuantSite(s)), (long long)st.flips, (long long)st.values, st.max_diff_steps,
                  st.bound_steps);
    }
  return r;
}

// The check must be able to fail: every site compared something, every linear output was compared.
void expect_meaningful(const tb::ref::CrossCheckReport& r) {
  for (const auto& L : r.layers) {
    EXPECT_GT(L.linear_values, 0);
    EXPECT_GT(L.residual_values, 0);
    for (const auto& st : L.site) EXPECT_GT(st.values, 0);
  }
}

// Eigen's blocked GEMM picks its K blocking from the L1 size that CPUID reports (16 KiB assumed without CPUID,
// as under qemu): the outcome must not depend on it. The reference's linear layers sum integers exactly, so the
// fake-quant reference gives the same logits, bit for bit, at every L1 size, and the cross-check holds at each.
TEST(RunnerVsReference, TinyModelAnyEigenCacheSize) {
  const tb::ModelConfig cfg = tb::load_model_config("tiny");
  auto w = tb::synthetic_weights(cfg, 7);
  std::ptrdiff_t l1, l2, l3;
  Eigen::internal::manage_caching_sizes(Eigen::GetAction, &l1, &l2, &l3);
  std::vector<float> first;
  for (std::ptrdiff_t kib : {16, 32, 48, 64}) {
    Eigen::setCpuCacheSizes(kib * 1024, l2, l3);
    tb::ref::CrossCheckOptions o;
    o.kernel = "i2s";
    o.threads = 2;
    o.context = 128;
    std::vector<float> logits;
    const auto r = cross_check(*w, o, 17, 32, &logits);
    EXPECT_TRUE(r.ok()) << "Eigen L1 " << kib << " KiB:\n" << r.failures();
    expect_meaningful(r);
    if (first.empty()) first = logits;
    else EXPECT_EQ(0, std::memcmp(first.data(), logits.data(), first.size() * sizeof(float)))
             << "the fake-quant reference's logits depend on Eigen's L1 size (" << kib << " KiB)";
  }
  Eigen::setCpuCacheSizes(l1, l2, l3);
}

// Every kernel, 64 decode steps after a prompt longer than the driver's token tile (32) and than the runner's
// batch (chunks of 24: the prefill runs in three).
TEST(RunnerVsReference, TinyModelEveryKernel) {
  const tb::ModelConfig cfg = tb::load_model_config("tiny");
  auto w = tb::synthetic_weights(cfg, 7);
  for (const tb::Kernel& k : tb::all_kernels()) {
    if (!tb::cpu_supports(k.isa)) {
      std::printf("%s: skipped, this CPU lacks the %s path\n", k.name, tb::isa_name(k.isa));
      continue;
    }
    if (!k.format->check_shape(cfg.ffn, cfg.hidden).empty() || !k.format->check_shape(cfg.hidden, cfg.ffn).empty()) {
      std::printf("%s: skipped, the format cannot take the tiny model's shapes\n", k.name);
      continue;
    }
    tb::ref::CrossCheckOptions o;
    o.kernel = k.name;
    o.threads = 2;
    o.context = 128;
    o.max_batch = 24;
    const auto r = cross_check(*w, o, 57, 64);
    EXPECT_TRUE(r.ok()) << k.name << ":\n" << r.failures();
    expect_meaningful(r);
    // A quantized network is not the full-precision one: the gap is quantization error, measured (a few
    // percent here); a wrong scale or activation would be off by far more.
    EXPECT_GT(r.logit_err_full, 0.0);
    EXPECT_LT(r.logit_err_full, 0.5);
  }
}

// 2B4T shapes (hidden 2560, FFN 6912, 20 x 128 heads, 5 KV heads), two layers, a prompt spanning two driver
// tiles, 64 decode steps. Flips occur here (the float paths round differently near .5 boundaries); they are
// counted and forced away, and everything else is held to its bound.
TEST(RunnerVsReference, TwoLayers2B4TShapes) {
  if (const char* q = std::getenv("TERNBENCH_QUICK_TESTS"); q && *q && std::string(q) != "0")
    GTEST_SKIP() << "TERNBENCH_QUICK_TESTS (emulated and sanitizer runs): the 2B4T-shape comparison runs in the native suite";
  tb::ModelConfig cfg = two_layer_2b4t();
  auto w = tb::synthetic_weights(cfg, 7);
  tb::ref::CrossCheckOptions o;
  o.kernel = "i2s";
  o.threads = 2;
  o.context = 128;
  const auto r = cross_check(*w, o, 40, 64);
  EXPECT_TRUE(r.ok()) << r.failures();
  expect_meaningful(r);
}

// A model with its own output.weight (an untied head, as ternary LLaMA files have): both sides must use it.
TEST(RunnerVsReference, UntiedHead) {
  struct Untied : tb::WeightSource {
    std::unique_ptr<tb::WeightSource> s;
    tb::ModelConfig c;
    explicit Untied(std::unique_ptr<tb::WeightSource> src) : s(std::move(src)), c(s->config()) { c.tied_embedding = false; }
    const tb::ModelConfig& config() const override { return c; }
    std::string describe() const override { return "untied " + s->describe(); }
    tb::TernaryTensor linear(int64_t l, const std::string& n) const override { return s->linear(l, n); }
    std::vector<float> norm(int64_t l, const std::string& n) const override { return s->norm(l, n); }
    void embedding_rows(int64_t r0, int64_t r1, float* out) const override { s->embedding_rows(r0, r1, out); }
    bool untied_head() const override { return true; }
    void head_rows(int64_t r0, int64_t r1, float* out) const override {  // the embedding's rows in reverse order
      for (int64_t r = r0; r < r1; ++r) s->embedding_rows(c.vocab - 1 - r, c.vocab - r, out + (r - r0) * c.hidden);
    }
  };
  Untied w(tb::synthetic_weights(tb::load_model_config("tiny"), 7));
  tb::ref::CrossCheckOptions o;
  o.kernel = "int8_ref";
  o.context = 64;
  const auto r = cross_check(w, o, 9, 8);
  EXPECT_TRUE(r.ok()) << r.failures();
}

// Each check fails on a deliberately broken variant (here of the reference; the checks are symmetric).
TEST(RunnerVsReference, BrokenVariantsAreCaught) {
  const tb::ModelConfig cfg = tb::load_model_config("tiny");
  auto w = tb::synthetic_weights(cfg, 7);
  struct Case {
    tb::ref::Fault f;
    const char* expect;  // in the failure text
  };
  for (const Case& c : {Case{tb::ref::Fault::epilogue_order, "linear output values differ"},
                        Case{tb::ref::Fault::skip_last_token, "linear output values differ"},
                        Case{tb::ref::Fault::rope_neighbour_pairs, "attn_out: pre-quantization difference"}}) {
    tb::ref::CrossCheckOptions o;
    o.kernel = "int8_ref";
    o.context = 64;
    o.fault = c.f;
    o.full_precision = false;
    const auto r = cross_check(*w, o, 9, 2);
    EXPECT_FALSE(r.ok()) << "fault " << int(c.f) << " went unnoticed";
    EXPECT_NE(r.failures().find(c.expect), std::string::npos) << r.failures();
  }
}

// Logits are identical across kernels and thread counts: every linear layer is exact in int32 and shares
// one epilogue, and everything else is computed the same way.
TEST(Runner, LogitsIdenticalAcrossKernelsAndThreads) {
  const tb::ModelConfig cfg = tb::load_model_config("tiny");
  auto w = tb::synthetic_weights(cfg, 3);
  const std::vector<int32_t> prompt = {1, 40, 77, 114, 151, 188, 225, 262, 299};
  std::vector<float> first;
  for (const tb::Kernel& k : tb::all_kernels()) {
    if (!tb::cpu_supports(k.isa)) continue;
    for (int threads : {1, 2, 3}) {
      tb::RunnerOptions o;
      o.path = tb::resolve_linear(k.name);
      tb::Runner run(*w, o, 4);  // batches of 4: prefill in 3 chunks
      run.set_threads(threads);
      std::vector<float> l(size_t(cfg.vocab));
      run.forward(prompt.data(), int64_t(prompt.size()), l.data());
      const int32_t next = 5;
      run.forward(&next, 1, l.data());
      if (first.empty()) first = l;
      else ASSERT_EQ(0, std::memcmp(first.data(), l.data(), l.size() * sizeof(float))) << k.name << " threads " << threads;
    }
  }
}

TEST(Runner, BadInputIsRefused) {
  const tb::ModelConfig cfg = tb::load_model_config("tiny");
  auto w = tb::synthetic_weights(cfg, 3);
  tb::RunnerOptions o;
  // Options whose path was never resolved name no kernel: refused, by the runner and by the memory plan.
  EXPECT_TRUE(tbtest::throws_error([&] { tb::Runner unresolved(*w, o); }, {"names no kernel", "resolve_linear"}));
  EXPECT_TRUE(tbtest::throws_error([&] { tb::plan_memory(cfg, o, 1); }, {"names no kernel"}));
  o.path = tb::resolve_linear("i2s");
  o.context = 8;
  tb::Runner run(*w, o);
  std::vector<float> l(size_t(cfg.vocab));
  const std::vector<int32_t> nine(9, 1);
  EXPECT_THROW(run.forward(nine.data(), 9, l.data()), tb::Error);  // beyond the context
  const int32_t bad = int32_t(cfg.vocab);
  EXPECT_THROW(run.forward(&bad, 1, l.data()), tb::Error);
  // A model far larger than memory is refused before anything is allocated.
  tb::ModelConfig huge = tb::load_model_config("ladder-100B");
  auto hw = tb::synthetic_weights(huge, 1);
  o.head = tb::HeadPrecision::fp32;
  EXPECT_TRUE(tbtest::throws_error([&] { tb::ref::Reference r(*hw, tb::ref::Activations::full); },
                                   {"needs"})) << "a 100B fp32 reference was accepted";
}

}  // namespace

namespace {

// The float baselines (fp32 and fp16 weights, activations not quantized) against the full-precision
// reference. fp32: the same math in another summation order; rounding ~K * 2^-24 per stage (K <= 768:
// 4.6e-5) over 2 blocks and the head: 1e-4 of max |logit|. fp16 weights add a relative rounding of
// 2^-11 per weight, which averages over K products to ~2^-11 / sqrt(K) per output, compounded over the
// layers: 2e-3 of max |logit| bounds it (a wrong scale or layout is off by far more).
TEST(FloatBaselines, MatchFullPrecisionReference) {
  const tb::ModelConfig cfg = tb::load_model_config("tiny");
  auto w = tb::synthetic_weights(cfg, 5);
  const std::vector<int32_t> prompt = {1, 40, 77, 114, 151, 188, 225};
  for (const auto& [name, tol] : std::vector<std::pair<std::string, double>>{{"fp32", 1e-4}, {"fp16", 2e-3}}) {
    tb::RunnerOptions o;
    o.path = tb::resolve_linear(name);
    o.head = tb::HeadPrecision::fp32;
    tb::Runner run(*w, o, 8);
    tb::ref::Reference ref(*w, tb::ref::Activations::full, 64);
    std::vector<float> a(size_t(cfg.vocab)), b(a.size());
    run.forward(prompt.data(), int64_t(prompt.size()), a.data());
    ref.forward(prompt.data(), int64_t(prompt.size()), b.data());
    for (int s = 0; s < 8; ++s) {
      const Diff d = diff(a, b);
      ASSERT_LE(d.max_abs, tol * d.max_logit) << name << " step " << s;
      const int32_t t = argmax(b);
      run.forward(&t, 1, a.data());
      ref.forward(&t, 1, b.data());
    }
    EXPECT_EQ(run.kernel_name(), name);
    EXPECT_EQ(run.memory().linear_weights, size_t(cfg.linear_params()) * (name == "fp32" ? 4 : 2));
  }
}

}  // namespace

namespace {

// LM head precision in the runner. The head matmuls themselves are checked exactly in
// tests/kernels/test_float_matmul.cpp. Here: memory figures, and the end-to-end effect. With a tied head
// the input embedding is read from the same rounded table, and in a quantized network a perturbation of
// the input moves some activations across rounding boundaries, which spreads to noise of the order of
// the quantization noise itself (see the 2B4T test above): so the end-to-end bound is that noise (the
// full-vs-fake-quant gap of this model, 4.6% measured; the bound is about twice that), not the head's
// own rounding.
TEST(Runner, HeadPrecisions) {
  const tb::ModelConfig cfg = tb::load_model_config("tiny");
  auto w = tb::synthetic_weights(cfg, 9);
  const std::vector<int32_t> prompt = {5, 17, 300, 42};
  std::vector<float> ref(size_t(cfg.vocab));
  for (const auto& [head, tol] : std::vector<std::pair<tb::HeadPrecision, double>>{
           {tb::HeadPrecision::fp32, 0.0}, {tb::HeadPrecision::fp16, 0.1}, {tb::HeadPrecision::int8, 0.1}}) {
    tb::RunnerOptions o;
    o.path = tb::resolve_linear("i2s");
    o.head = head;
    tb::Runner run(*w, o);
    std::vector<float> l(size_t(cfg.vocab));
    run.forward(prompt.data(), int64_t(prompt.size()), l.data());
    if (head == tb::HeadPrecision::fp32) {
      ref = l;
      continue;
    }
    const Diff d = diff(l, ref);
    std::printf("head %s: max |logit - fp32 head| %.3g of max |logit| %.3g\n", tb::head_precision_name(head), d.max_abs,
                d.max_logit);
    EXPECT_LE(d.max_abs, tol * d.max_logit) << tb::head_precision_name(head);
    EXPECT_GT(d.max_abs, 0.0) << "a lossy head that changes nothing is not being used";
    const size_t per = head == tb::HeadPrecision::fp16 ? 2 : 1;
    EXPECT_EQ(run.memory().embedding, size_t(cfg.vocab * cfg.hidden) * per + (per == 1 ? size_t(cfg.vocab) * 4 : 0));
  }
  EXPECT_THROW(tb::parse_head_precision("int4"), tb::Error);
}

}  // namespace
