// Where a model's weights come from: deterministic synthetic weights from (config, seed), or a GGUF
// checkpoint. The runner packs them into a kernel's format; the reference dequantizes them to fp32.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/config.h"

namespace tb {

struct TernaryTensor {
  int64_t N = 0, K = 0;   // out x in
  std::vector<int8_t> w;  // N x K in {-1, 0, +1}
  float scale = 0.0f;
};

class WeightSource {
 public:
  virtual ~WeightSource() = default;
  virtual const ModelConfig& config() const = 0;
  virtual std::string describe() const = 0;
  // A linear layer of block `layer`: one of attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down.
  virtual TernaryTensor linear(int64_t layer, const std::string& name) const = 0;
  // A norm weight: attn_norm, ffn_norm, attn_sub_norm, ffn_sub_norm of a layer; layer -1: output_norm.
  virtual std::vector<float> norm(int64_t layer, const std::string& name) const = 0;
  // Rows [r0, r1) of token_embd (vocab x hidden), as fp32, into out ((r1 - r0) x hidden).
  virtual void embedding_rows(int64_t r0, int64_t r1, float* out) const = 0;
  // The LM head (vocab x hidden): the embedding when tied, else the file's output.weight.
  virtual bool untied_head() const { return false; }
  virtual void head_rows(int64_t r0, int64_t r1, float* out) const { embedding_rows(r0, r1, out); }
};

// Synthetic weights with the exact architecture (speed does not depend on the values):
// - ternary weights, each a pure function of (seed, layer, tensor, index), about a third zeros, so
//   any thread count and any order of generation give the same model;
// - per-tensor scale s = (1 +- 10%) / sqrt(2K/3), which keeps activations near unit scale layer after
//   layer (2/3 of the K products are nonzero);
// - norm weights 1 +- 0.05; embeddings uniform in +-0.05 (logits of order 1 through the tied head).
std::unique_ptr<WeightSource> synthetic_weights(const ModelConfig& cfg, uint64_t seed);
// The prompt a sweep or a check feeds the model: n token ids, a pure function of (seed, position), in [0, vocab).
std::vector<int32_t> synthetic_prompt(int64_t n, uint64_t seed, int64_t vocab);

// A GGUF checkpoint (bitnet.cpp's I2_S, llama.cpp's TQ1_0/TQ2_0, ...). The forward pass is chosen
// from general.architecture: "bitnet-b1.58"/"bitnet-25" (2B4T: ReLU squared, sub-norms), "bitnet"
// (b1.58 large/3B: SiLU, sub-norms), "llama" (ternary LLaMA: SiLU, no sub-norms); `choice` (if given)
// receives a sentence saying which one and why. Throws tb::Error naming the file and what is missing.
std::unique_ptr<WeightSource> gguf_weights(const std::string& path, std::string* choice = nullptr);

// The GGUF tensor name of a weight: "blk.3.attn_q.weight", "output_norm.weight", "token_embd.weight".
std::string gguf_tensor_name(int64_t layer, const std::string& name);

}  // namespace tb
