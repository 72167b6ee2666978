// WeightSource over a GGUF file: ternary tensors decoded by the GGUF reader, config from metadata.
#include <memory>

#include "base/error.h"
#include "model/gguf.h"
#include "model/weights.h"

namespace tb {
namespace {

class GgufWeights : public WeightSource {
 public:
  GgufWeights(gguf::File f, ModelConfig c, std::string path)
      : f_(std::move(f)), c_(std::move(c)), path_(std::move(path)) {}
  const ModelConfig& config() const override { return c_; }
  std::string describe() const override { return path_; }

  TernaryTensor linear(int64_t layer, const std::string& name) const override {
    const std::string tn = gguf_tensor_name(layer, name);
    const gguf::Ternary t = gguf::read_ternary(f_, tn);
    f_.release(*f_.find(tn));  // decoded: the file's pages need not stay resident
    for (const auto& m : c_.layer_matmuls())
      if (name == m.name && (t.rows != m.N || t.cols != m.K))
        throw Error(path_ + ": " + tn + " is " + std::to_string(t.rows) + "x" + std::to_string(t.cols) + " but the " +
                    c_.family + " architecture with these dimensions needs " + std::to_string(m.N) + "x" +
                    std::to_string(m.K));
    TernaryTensor out;
    out.N = t.rows;
    out.K = t.cols;
    out.w = t.w;
    out.scale = t.scale;
    return out;
  }
  std::vector<float> norm(int64_t layer, const std::string& name) const override {
    std::vector<float> v = gguf::read_floats(f_, gguf_tensor_name(layer, name));
    const int64_t want = name == "attn_sub_norm" ? c_.q_dim() : name == "ffn_sub_norm" ? c_.ffn : c_.hidden;
    if (int64_t(v.size()) != want)
      throw Error(path_ + ": " + gguf_tensor_name(layer, name) + " has " + std::to_string(v.size()) +
                  " values, the architecture needs " + std::to_string(want));
    return v;
  }
  void embedding_rows(int64_t r0, int64_t r1, float* out) const override { rows("token_embd.weight", r0, r1, out); }
  bool untied_head() const override { return f_.find("output.weight") != nullptr; }
  void head_rows(int64_t r0, int64_t r1, float* out) const override {
    rows(untied_head() ? "output.weight" : "token_embd.weight", r0, r1, out);
  }

 private:
  // Decodes just the rows asked for (a whole fp32 copy of 2B4T's embedding would be 1.3 GB of RSS beside the
  // runner's own table), then drops those rows' file pages from the resident set.
  void rows(const std::string& name, int64_t r0, int64_t r1, float* out) const {
    const gguf::TensorInfo* t = f_.find(name);
    if (!t || t->dims.size() < 2 || int64_t(t->dims[0]) != c_.hidden)
      throw Error(path_ + ": " + name + " is not a matrix of " + std::to_string(c_.hidden) + "-float rows");
    if (r1 > int64_t(t->dims[1])) throw Error(path_ + ": " + name + " has fewer rows than the vocabulary");
    gguf::read_float_rows(f_, name, r0, r1, out);
    const uint64_t row_bytes = t->nbytes / t->dims[1];
    f_.release(*t, uint64_t(r0) * row_bytes, uint64_t(r1 - r0) * row_bytes);
  }
  gguf::File f_;
  ModelConfig c_;
  std::string path_;
};

}  // namespace

std::unique_ptr<WeightSource> gguf_weights(const std::string& path, std::string* choice) {
  gguf::File f = gguf::File::open(path);
  ModelConfig c;
  const std::string arch = f.get_string("general.architecture");
  c.family = arch;
  std::string why;
  if (arch == "bitnet-b1.58" || arch == "bitnet-25") {
    c.ffn_act = FfnAct::relu2;
    c.sub_norms = true;
    why = "BitNet b1.58 2B4T forward (ReLU-squared FFN, sub-norms)";
  } else if (arch == "bitnet") {
    c.ffn_act = FfnAct::silu;
    c.sub_norms = true;
    why = "BitNet b1.58 (large/3B) forward (SiLU-gated FFN, sub-norms)";
  } else if (arch == "llama") {
    c.ffn_act = FfnAct::silu;
    c.sub_norms = false;
    why = "LLaMA forward (SiLU-gated FFN, no sub-norms) with ternary linear layers";
  } else {
    throw Error(path + ": architecture '" + arch + "' is not one ternbench runs (bitnet-b1.58, bitnet-25, bitnet, llama)");
  }
  const std::string p = arch + ".";
  c.name = f.has("general.name") ? f.get_string("general.name") : path;
  c.ternary = true;
  c.hidden = f.get_int(p + "embedding_length");
  c.layers = f.get_int(p + "block_count");
  c.ffn = f.get_int(p + "feed_forward_length");
  c.heads = f.get_int(p + "attention.head_count");
  c.kv_heads = f.has(p + "attention.head_count_kv") ? f.get_int(p + "attention.head_count_kv") : c.heads;
  c.head_dim = f.has(p + "attention.key_length") ? f.get_int(p + "attention.key_length") : c.hidden / c.heads;
  c.context = f.get_int(p + "context_length");
  c.rope_theta = f.has(p + "rope.freq_base") ? f.get_float(p + "rope.freq_base") : 10000.0;
  c.norm_eps = f.has(p + "attention.layer_norm_rms_epsilon") ? f.get_float(p + "attention.layer_norm_rms_epsilon") : 1e-5;
  const gguf::TensorInfo* emb = f.find("token_embd.weight");
  if (!emb || emb->dims.size() != 2) throw Error(path + ": no 2-D token_embd.weight tensor");
  c.vocab = int64_t(emb->dims[1]);
  c.tied_embedding = f.find("output.weight") == nullptr;
  c.source = path;
  c.validate();
  if (choice) *choice = path + ": architecture '" + arch + "', running the " + why;
  return std::make_unique<GgufWeights>(std::move(f), c, path);
}

}  // namespace tb
