// ternbench's runner on the models written by the peers' own tools (tests/data/peers), against the
// logits those tools printed.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include <cstring>

#include "model/export.h"
#include "model/gguf.h"
#include "model/runner.h"
#include "tests/error_of.h"

namespace {

std::vector<float> read_logits(const std::string& path, size_t n) {
  std::ifstream in(path, std::ios::binary);
  std::vector<float> v(n);
  in.read(reinterpret_cast<char*>(v.data()), std::streamsize(n * sizeof(float)));
  if (!in) ADD_FAILURE() << "cannot read " << n << " floats from " << path;
  return v;
}

// Bound. The peers keep K and V in fp16, feed the LM head fp16 activations, and llama.cpp quantizes
// activations per 256-block for TQ1_0/TQ2_0 (ternbench: per token, fp32 K/V). Each of those moves a
// logit of size ~1.4 by a few 1e-2 (tests/data/peers/README.md: an fp64 per-token forward within 0.029
// and 0.034 of these logits); a wrong forward pass misses by 0.36 (RoPE pairs (2i, 2i+1)) to 0.57 (the
// other FFN activation). 0.05 sits between the two, with room for fp32 rounding (~1e-6 here).
constexpr double kBound = 0.05;

void check_file(const std::string& name, const std::string& want_arch_note) {
  const std::string dir = TB_TESTDATA_DIR;
  std::string choice;
  auto w = tb::gguf_weights(dir + "/" + name + ".gguf", &choice);
  EXPECT_NE(choice.find(want_arch_note), std::string::npos) << choice;
  const tb::ModelConfig& c = w->config();
  ASSERT_EQ(c.vocab, 512);
  const std::vector<int32_t> tokens = {1, 40, 77, 114, 151, 188, 225, 262, 299, 336, 373, 410, 447, 484, 21, 58};
  const std::vector<float> want = read_logits(dir + "/" + name + ".logits.f32", tokens.size() * 512);
  for (const char* kernel : {"i2s", "int8"}) {
    tb::RunnerOptions o;
    o.path = tb::resolve_linear(kernel);
    o.head = tb::HeadPrecision::fp32;
    tb::Runner run(*w, o);
    run.set_threads(2);
    std::vector<float> l(512);
    double worst = 0;
    for (size_t p = 0; p < tokens.size(); ++p) {
      run.forward(&tokens[p], 1, l.data());
      const float* ref = want.data() + p * 512;
      size_t am = 0, bm = 0;
      for (size_t i = 0; i < 512; ++i) {
        worst = std::max(worst, double(std::fabs(l[i] - ref[i])));
        if (l[i] > l[am]) am = i;
        if (ref[i] > ref[bm]) bm = i;
      }
      EXPECT_EQ(am, bm) << name << " " << kernel << ": argmax differs at position " << p;
    }
    std::printf("%s (%s): largest |logit - peer's logit| %.4f\n", name.c_str(), kernel, worst);
    EXPECT_LE(worst, kBound) << name << " " << kernel;
  }
}

TEST(PeerFiles, BitnetCppI2S) { check_file("bitnetcpp-tiny-i2_s", "ReLU-squared"); }
TEST(PeerFiles, LlamaCppTQ2_0) { check_file("llamacpp-tiny-tq2_0", "SiLU-gated"); }
TEST(PeerFiles, LlamaCppTQ1_0) { check_file("llamacpp-tiny-tq1_0", "SiLU-gated"); }

}  // namespace

namespace {

// Export synthetic weights as I2_S GGUF, load the file back: identical logits (the weights are ternary
// and I2_S is lossless; norms are written as F32 and the embedding as F16, so the comparison runs with
// an fp16 head on both sides, where fp16(embedding) is exactly what the file holds).
TEST(Export, RoundTripGivesIdenticalLogits) {
  const tb::ModelConfig cfg = tb::load_model_config("tiny");
  auto syn = tb::synthetic_weights(cfg, 11);
  const std::string path = testing::TempDir() + "/ternbench-export-tiny.gguf";
  tb::export_gguf(*syn, "i2s", path);
  std::string choice;
  auto back = tb::gguf_weights(path, &choice);
  EXPECT_NE(choice.find("ReLU-squared"), std::string::npos) << choice;
  EXPECT_EQ(back->config().hidden, cfg.hidden);
  EXPECT_EQ(back->config().vocab, cfg.vocab);
  const std::vector<int32_t> tokens = {3, 99, 250, 7, 511};
  std::vector<float> a(size_t(cfg.vocab)), b(a.size());
  tb::RunnerOptions o;
  o.path = tb::resolve_linear("i2s");
  o.head = tb::HeadPrecision::fp16;
  tb::Runner r1(*syn, o), r2(*back, o);
  for (int32_t t : tokens) {
    r1.forward(&t, 1, a.data());
    r2.forward(&t, 1, b.data());
    ASSERT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << "after token " << t;
  }
  std::remove(path.c_str());
}

TEST(Export, ShapeThatDoesNotMatchTheArchitectureIsRefused) {
  tb::ModelConfig cfg = tb::load_model_config("tiny");
  auto syn = tb::synthetic_weights(cfg, 11);
  const std::string path = testing::TempDir() + "/ternbench-export-tiny2.gguf";
  tb::export_gguf(*syn, "i2s", path);
  // Claim a different FFN width by rewriting the metadata: the loader must refuse the tensor shapes.
  tb::gguf::File f = tb::gguf::File::open(path);
  auto md = f.metadata();
  md["bitnet-b1.58.feed_forward_length"] = tb::gguf::make_value(tb::gguf::ValueType::U32, uint64_t(1024));
  std::vector<tb::gguf::WriteTensor> ts;
  for (const auto& t : f.tensors()) {
    tb::gguf::WriteTensor w;
    w.name = t.name;
    w.dims = t.dims;
    w.type = t.type;
    w.bytes.assign(f.data(t), f.data(t) + t.nbytes);
    ts.push_back(std::move(w));
  }
  const std::string bad = testing::TempDir() + "/ternbench-export-bad.gguf";
  tb::gguf::write(bad, md, ts);
  auto w = tb::gguf_weights(bad);
  tb::RunnerOptions o;
  o.path = tb::resolve_linear("i2s");
  EXPECT_TRUE(tbtest::throws_error([&] { tb::Runner r(*w, o); },
                                   {"ffn_gate"})) << "a file whose tensors do not match its metadata was accepted";
  std::remove(path.c_str());
  std::remove(bad.c_str());
}

}  // namespace
