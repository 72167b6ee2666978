// Model configurations: data files under configs/models/<name>.json (docs/reference.md §5).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tb {

enum class FfnAct { relu2, silu };

struct ModelConfig {
  std::string name;
  std::string family;     // GGUF architecture: "bitnet-b1.58" (2B4T), "bitnet" (b1.58 large/3B), "llama"
  bool ternary = true;    // linear layers are BitLinear (ternary weights, int8 activations)
  int64_t hidden = 0, layers = 0, ffn = 0, heads = 0, kv_heads = 0, head_dim = 0, vocab = 0, context = 0;
  double rope_theta = 500000.0, norm_eps = 1e-5;
  FfnAct ffn_act = FfnAct::relu2;
  bool sub_norms = true;        // attn_sub_norm and ffn_sub_norm (the BitNet families)
  bool tied_embedding = true;   // LM head shares token_embd
  std::string source, note;     // where the numbers come from; caveats

  // Counts (weights, not bytes).
  int64_t q_dim() const { return heads * head_dim; }
  int64_t kv_dim() const { return kv_heads * head_dim; }
  int64_t linear_params_per_layer() const;  // q, k, v, o, gate, up, down
  int64_t linear_params() const { return linear_params_per_layer() * layers; }
  int64_t norm_params() const;              // every RMSNorm weight (per layer and final)
  int64_t non_embedding_params() const { return linear_params() + norm_params(); }
  int64_t embedding_params() const;         // token_embd, plus the LM head when untied

  // Every matmul shape of one layer (out x in), with its GGUF tensor suffix.
  struct Matmul {
    const char* name;
    int64_t N, K;
  };
  std::vector<Matmul> layer_matmuls() const;
  // The distinct shapes among them, in layer order, each with the names that share it ("attn_q,attn_output").
  struct Shape {
    std::string names;
    int64_t N, K;
  };
  std::vector<Shape> distinct_matmul_shapes() const;

  // Throws tb::Error naming the field when the numbers do not make a model.
  void validate() const;
};

// Directory of the model presets: $TERNBENCH_CONFIGS/models if set, else the source tree's configs/models.
std::string model_config_dir();
// A preset name (e.g. "2B4T") or a path to a .json file. Throws tb::Error listing the presets.
ModelConfig load_model_config(const std::string& name_or_path);
ModelConfig parse_model_config(const std::string& json_text, const std::string& what);
std::vector<std::string> list_model_configs();  // preset names, sorted

}  // namespace tb
