// The full-precision reference of BitNet b1.58 (and the b1.58 / ternary LLaMA families), written with
// Eigen in fp32: embedding, RMSNorm, q/k/v with NEOX RoPE, grouped-query causal attention with a KV
// cache, attn_sub_norm, output projection, gated FFN (ReLU squared or SiLU) with ffn_sub_norm, final
// norm, tied LM head. Weights are dequantized (w * scale). It shares the config and the weight source
// with the runner but never a kernel, so it stays an independent oracle.
#pragma once
#include <cstdint>
#include <memory>

#include "model/weights.h"

namespace tb::ref {

enum class Activations {
  full,        // activations stay fp32
  fake_quant,  // before every linear layer, x -> rne(x * a) / a with a = 127 / max|x| per token, as the
               // int8 path quantizes (REFERENCE.md §1)
};

class Reference {
 public:
  // Dequantizes every weight to fp32 (about 4 bytes per parameter); refuses, before allocating, a
  // model that does not fit in available memory.
  Reference(const WeightSource& src, Activations mode, int64_t context = 0);
  ~Reference();
  static size_t memory_bytes(const ModelConfig& c, int64_t context);

  void reset();
  int64_t position() const;
  // Tokens at the next positions; logits of the last token (vocab floats) when logits != nullptr.
  void forward(const int32_t* tokens, int64_t T, float* logits);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tb::ref
