// The full-precision reference of BitNet b1.58 (and the b1.58 / ternary LLaMA families), written with
// Eigen in fp32: embedding, RMSNorm, q/k/v with NEOX RoPE, grouped-query causal attention with a KV
// cache, attn_sub_norm, output projection, gated FFN (ReLU squared or SiLU) with ffn_sub_norm, final
// norm, tied LM head. Weights are dequantized (w * scale). It shares the config and the weight source
// with the runner but never a kernel, so it stays an independent oracle.
#pragma once
#include <cstdint>
#include <memory>

#include "model/probe.h"
#include "model/weights.h"

namespace tb::ref {

enum class Activations {
  full,        // activations stay fp32
  fake_quant,  // before every linear layer x is quantized per token as the int8 path does (q = rne(x * a),
               // a = 127 / max|x|); the layer sums ternary codes times q exactly, then scales by s / a
};

// Deliberate bugs, for showing that the checks that use the reference catch them (tests/reference).
enum class Fault {
  none,
  epilogue_order,        // fake_quant: y = acc * s / a instead of acc / a * s (differs in the last bits)
  skip_last_token,       // fake_quant: a linear layer's last token left at zero (a tiling bug)
  rope_neighbour_pairs,  // RoPE turns dimension 2i with 2i + 1 instead of i with i + d/2
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
  // Verification: quantization points (fake_quant only), linear outputs and the residual stream go to p
  // (model/probe.h), which may rewrite the int8 codes and scales. nullptr: none (the default).
  void set_probe(Probe* p);
  void inject_fault(Fault f);
  // For error bounds: out[i] = sum_k |head[i][k] * x[k]| (vocab doubles), x of hidden floats.
  void head_abs_products(const float* x, double* out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tb::ref
