// Observation points of one forward pass, offered by the quantized runner and by the Eigen reference alike,
// so that a checker can run the two side by side (harness/crosscheck.h: tests and `harness verify
// --reference`). A forward pass with no probe pays one null-pointer test per linear layer.
#pragma once
#include <cstdint>

namespace tb {

// The four BitLinear inputs of a block, in the order a forward pass meets them.
enum class QuantSite { attn_in = 0, attn_out = 1, ffn_in = 2, ffn_out = 3 };
inline const char* quant_site_name(QuantSite s) {
  switch (s) {
    case QuantSite::attn_in: return "attn_in";
    case QuantSite::attn_out: return "attn_out";
    case QuantSite::ffn_in: return "ffn_in";
    case QuantSite::ffn_out: return "ffn_out";
  }
  return "?";
}
// The seven linear layers of a block, in the order their outputs are produced.
enum class Matmul { q = 0, k, v, o, gate, up, down };
inline const char* matmul_name(Matmul m) {
  static const char* const n[] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
  return n[int(m)];
}

// One quantization point: the float input x (T x K, row-major) of a BitLinear and the per-token int8
// codes q (T x K) and scales a (T, a = 127 / max|x|) that this forward pass computed from it. A probe may
// overwrite q and a: the forward pass then runs its linear layers on those ("teacher forcing").
struct QuantPoint {
  QuantPoint(int64_t layer_, QuantSite site_, int64_t pos_, int64_t T_, int64_t K_, const float* x_, int8_t* q_, float* a_)
      : layer(layer_), site(site_), pos(pos_), T(T_), K(K_), x(x_), q(q_), a(a_) {}
  int64_t layer = 0;
  QuantSite site = QuantSite::attn_in;
  int64_t pos = 0;  // position of the first of the T tokens
  int64_t T = 0, K = 0;
  const float* x = nullptr;
  int8_t* q = nullptr;
  float* a = nullptr;
};

class Probe {
 public:
  virtual ~Probe() = default;
  // Before the linear layers that read this input.
  virtual void quantized(QuantPoint&) {}
  // After one linear layer: y is T x N.
  virtual void linear_out(int64_t /*layer*/, Matmul, int64_t /*T*/, int64_t /*N*/, const float* /*y*/) {}
  // The attention output of block `layer` (T x n, all heads), before attn_sub_norm.
  virtual void attention(int64_t /*layer*/, int64_t /*T*/, int64_t /*n*/, const float* /*o*/) {}
  // The residual stream after block `layer` (T x n).
  virtual void residual(int64_t /*layer*/, int64_t /*T*/, int64_t /*n*/, const float* /*x*/) {}
  // The final normed hidden state of the last token (n floats), which the LM head multiplies.
  virtual void final_hidden(int64_t /*n*/, const float* /*x*/) {}
};

}  // namespace tb
