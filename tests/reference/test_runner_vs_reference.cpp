// The quantized runner against the Eigen fp32 reference in fake-quant mode.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "model/runner.h"
#include "reference/bitnet_ref.h"

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
double top2_gap(std::vector<float> v) {
  std::partial_sort(v.begin(), v.begin() + 2, v.end(), std::greater<float>());
  return double(v[0] - v[1]);
}

// Runs prompt + greedy decode on the runner and on the fake-quant reference (each on its own choices),
// and the full-precision reference beside them. Returns the worst relative logit difference of the
// runner and the worst of full vs fake-quant (the size of the quantization noise itself), and asserts
// identical greedy tokens and runner-vs-reference within `tol` (relative to max |logit|).
struct Outcome {
  double runner_vs_fq = 0, full_vs_fq = 0, runner_vs_full = 0, min_gap = 1e30;
};
Outcome run_both(const tb::ModelConfig& cfg, const std::string& kernel, int decode_steps, double tol) {
  auto w = tb::synthetic_weights(cfg, 7);
  tb::RunnerOptions o;
  o.kernel = kernel;
  o.head = tb::HeadPrecision::fp32;
  o.threads = 2;
  o.context = std::min<int64_t>(cfg.context, 128);
  tb::Runner run(*w, o, 64);
  tb::ref::Reference fq(*w, tb::ref::Activations::fake_quant, o.context);
  tb::ref::Reference full(*w, tb::ref::Activations::full, o.context);

  std::vector<int32_t> prompt(17);
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = int32_t((i * 7919 + 13) % size_t(cfg.vocab));
  std::vector<float> lq(size_t(cfg.vocab)), lr(lq.size()), lf(lq.size());
  run.forward(prompt.data(), int64_t(prompt.size()), lq.data());
  fq.forward(prompt.data(), int64_t(prompt.size()), lr.data());
  full.forward(prompt.data(), int64_t(prompt.size()), lf.data());
  Outcome out;
  int32_t tq = argmax(lq), tr = argmax(lr), tf = tr;
  for (int s = 0;; ++s) {
    const Diff d = diff(lq, lr), dn = diff(lf, lr), dr = diff(lq, lf);
    out.runner_vs_full = std::max(out.runner_vs_full, dr.max_abs / dr.max_logit);
    out.runner_vs_fq = std::max(out.runner_vs_fq, d.max_abs / d.max_logit);
    out.full_vs_fq = std::max(out.full_vs_fq, dn.max_abs / dn.max_logit);
    out.min_gap = std::min(out.min_gap, top2_gap(lr) / d.max_logit);
    EXPECT_LE(d.max_abs, tol * d.max_logit) << cfg.name << " " << kernel << ": logits differ at step " << s;
    EXPECT_EQ(tq, tr) << cfg.name << " " << kernel << ": greedy tokens differ at decode step " << s;
    if (s == decode_steps || ::testing::Test::HasFailure()) break;
    run.forward(&tq, 1, lq.data());
    fq.forward(&tr, 1, lr.data());
    full.forward(&tf, 1, lf.data());  // fed the fake-quant reference's tokens, to measure noise, not drift
    tq = argmax(lq);
    tr = argmax(lr);
    tf = tr;
  }
  // The gap to the full-precision model is quantization error, not a bug: measured and reported.
  std::printf("%s %s: worst relative logit diff runner vs fake-quant %.3g, full vs fake-quant %.3g, "
              "runner vs full precision %.3g (quantization error), smallest top-2 gap %.3g, over %d steps\n",
              cfg.name.c_str(), kernel.c_str(), out.runner_vs_fq, out.full_vs_fq, out.runner_vs_full, out.min_gap,
              decode_steps);
  return out;
}

// Tolerance. The runner's linear layers are exact in int32 with one epilogue; the reference sums
// w*s*q/a in fp32 (Eigen's blocked order). Each stage adds at most about K * 2^-24 of relative
// error (K <= 768 here: 4.6e-5), and a block has 7 linear layers and 4 norms: with 2 blocks and the
// head, 1e-4 of max |logit| bounds pure rounding with room. That bound holds only while both sides
// quantize identical int8 activations. A rounding difference can move some x * a across a .5 boundary
// (a "flip"); the flip perturbs the whole residual stream coherently, and the next layer's quantization
// turns that into noise of the order of the quantization noise itself. At the tiny model's sizes no flip
// occurs with these weights (measured: 1e-6); if one did, this test would report it.
TEST(RunnerVsReference, TinyModelEveryKernel) {
  // Open problem, seen only under qemu-aarch64: two Reference instances built from the same weights in
  // one process give different fake-quant logits (the full-vs-fake-quant gap reads 0.0457 in one and
  // 0.0343 in the next), so a runner compared with them meets a flip at some decode step. The native
  // x86 run is deterministic. Until the cause is found, the emulated run (TERNBENCH_EMULATED, set by
  // scripts/test-arm.sh) skips.
  if (const char* q = std::getenv("TERNBENCH_EMULATED"); q && *q && std::string(q) != "0")
    GTEST_SKIP() << "emulated run: the Eigen reference is not run-to-run deterministic under qemu-aarch64 (open)";
  const tb::ModelConfig cfg = tb::load_model_config("tiny");
  for (const char* k : {"int8_ref", "int8", "i2s"}) {
    const Outcome o = run_both(cfg, k, 64, 1e-4);
    EXPECT_GT(o.min_gap, 2e-4) << "a near-tie in the reference: the greedy comparison would be luck";
  }
}

// 2B4T shapes (hidden 2560, FFN 6912, 20 x 128 heads, 5 KV heads), two layers. Rounding differences
// here do cause flips (measured: the first within 17 prompt tokens), after which runner and reference
// are two equally valid quantized evaluations; the math then bounds their difference by the size of
// quantization noise, which the full-precision reference measures beside them. The test asserts the
// runner stays within 1.5x of that noise (a wrong RoPE pairing, FFN activation, scale or GQA mapping
// exceeds it many times) and that greedy decoding agrees for 64 steps.
TEST(RunnerVsReference, TwoLayers2B4TShapes) {
  if (const char* q = std::getenv("TERNBENCH_QUICK_TESTS"); q && *q && std::string(q) != "0")
    GTEST_SKIP() << "TERNBENCH_QUICK_TESTS (emulated and sanitizer runs): the 2B4T-shape comparison runs in the native suite";
  const tb::ModelConfig cfg = two_layer_2b4t();
  const Outcome o = run_both(cfg, "i2s", 64, 1.0);
  EXPECT_LE(o.runner_vs_fq, 1.5 * o.full_vs_fq);
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
      o.kernel = k.name;
      o.threads = threads;
      tb::Runner run(*w, o, 4);  // batches of 4: prefill in 3 chunks
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
  try {
    tb::ref::Reference r(*hw, tb::ref::Activations::full);
    FAIL() << "a 100B fp32 reference was accepted";
  } catch (const tb::Error& e) {
    EXPECT_NE(std::string(e.what()).find("needs"), std::string::npos) << e.what();
  }
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
    o.kernel = name;
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
