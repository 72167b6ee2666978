#include "model/weights.h"

#include <cmath>

#include "base/error.h"
#include "base/rng.h"

namespace tb {
namespace {

// A tensor's identity: layer and name hashed with the seed; values are mix(id + index * golden).
uint64_t tensor_id(uint64_t seed, int64_t layer, const std::string& name) {
  uint64_t h = mix64(seed * kGolden64 + uint64_t(layer + 7));
  for (char c : name) h = mix64(h ^ uint64_t(uint8_t(c)));
  return h;
}

double unit(uint64_t id, uint64_t i) {  // uniform [0, 1)
  return double(mix64(id + (i + 1) * kGolden64) >> 11) * (1.0 / 9007199254740992.0);
}

class Synthetic : public WeightSource {
 public:
  Synthetic(const ModelConfig& cfg, uint64_t seed) : cfg_(cfg), seed_(seed) { cfg_.validate(); }
  const ModelConfig& config() const override { return cfg_; }
  std::string describe() const override { return "synthetic weights (seed " + std::to_string(seed_) + ")"; }

  TernaryTensor linear(int64_t layer, const std::string& name) const override {
    TernaryTensor t;
    bool found = false;
    for (const auto& m : cfg_.layer_matmuls())
      if (name == m.name) {
        t.N = m.N;
        t.K = m.K;
        found = true;
      }
    if (!found || layer < 0 || layer >= cfg_.layers)
      throw Error("synthetic weights: no linear layer '" + name + "' in block " + std::to_string(layer));
    const uint64_t id = tensor_id(seed_, layer, name);
    t.w.resize(size_t(t.N * t.K));
    int8_t* w = t.w.data();
    const int64_t n = t.N * t.K;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) w[i] = int8_t(int((mix64(id + uint64_t(i) * kGolden64) >> 32) % 3) - 1);
    t.scale = float((0.9 + 0.2 * unit(id, ~0ull)) / std::sqrt(2.0 * double(t.K) / 3.0));
    return t;
  }

  std::vector<float> norm(int64_t layer, const std::string& name) const override {
    int64_t n = cfg_.hidden;
    if (name == "attn_sub_norm") n = cfg_.q_dim();
    else if (name == "ffn_sub_norm") n = cfg_.ffn;
    else if (name != "attn_norm" && name != "ffn_norm" && !(layer == -1 && name == "output_norm"))
      throw Error("synthetic weights: no norm '" + name + "'");
    const uint64_t id = tensor_id(seed_, layer, name);
    std::vector<float> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[size_t(i)] = float(1.0 + 0.1 * (unit(id, uint64_t(i)) - 0.5));
    return v;
  }

  void embedding_rows(int64_t r0, int64_t r1, float* out) const override {
    if (r0 < 0 || r1 > cfg_.vocab || r0 > r1) throw Error("embedding rows out of range");
    const uint64_t id = tensor_id(seed_, -2, "token_embd");
    const int64_t h = cfg_.hidden;
#pragma omp parallel for schedule(static)
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t i = 0; i < h; ++i)
        out[(r - r0) * h + i] = float(0.1 * (unit(id, uint64_t(r * h + i)) - 0.5));
  }

 private:
  ModelConfig cfg_;
  uint64_t seed_;
};

}  // namespace

std::vector<int32_t> synthetic_prompt(int64_t n, uint64_t seed, int64_t vocab) {
  std::vector<int32_t> p(static_cast<size_t>(n));
  for (size_t i = 0; i < p.size(); ++i) p[i] = int32_t((i * 2654435761u + seed) % uint64_t(vocab));
  return p;
}

std::unique_ptr<WeightSource> synthetic_weights(const ModelConfig& cfg, uint64_t seed) {
  return std::make_unique<Synthetic>(cfg, seed);
}

std::string gguf_tensor_name(int64_t layer, const std::string& name) {
  if (layer < 0) return name + ".weight";
  return "blk." + std::to_string(layer) + "." + name + ".weight";
}

}  // namespace tb
