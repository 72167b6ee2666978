#include "model/export.h"

#include <cstring>

#include "base/error.h"
#include "model/gguf.h"

namespace tb {

void export_gguf(const WeightSource& src, const std::string& format, const std::string& path, bool embedding_f16) {
  if (format != "i2s") throw Error("export: format '" + format + "' cannot be written yet; use i2s");
  const ModelConfig& c = src.config();
  const std::string arch = c.family == "bitnet-b1.58" || c.family == "bitnet" || c.family == "llama" ? c.family : "bitnet-b1.58";
  using gguf::ValueType;
  using gguf::Scalar;
  std::map<std::string, gguf::Value> md;
  auto u32 = [](int64_t v) { return gguf::make_value(ValueType::U32, uint64_t(v)); };
  auto f32 = [](double v) { return gguf::make_value(ValueType::F32, v); };
  md["general.architecture"] = gguf::make_value(ValueType::String, Scalar(arch));
  md["general.name"] = gguf::make_value(ValueType::String, Scalar(c.name));
  md["general.file_type"] = u32(36);  // as bitnet.cpp writes for I2_S files
  md["general.quantization_version"] = u32(2);
  md[arch + ".vocab_size"] = u32(c.vocab);
  md[arch + ".context_length"] = u32(c.context);
  md[arch + ".embedding_length"] = u32(c.hidden);
  md[arch + ".block_count"] = u32(c.layers);
  md[arch + ".feed_forward_length"] = u32(c.ffn);
  md[arch + ".attention.head_count"] = u32(c.heads);
  md[arch + ".attention.head_count_kv"] = u32(c.kv_heads);
  md[arch + ".attention.layer_norm_rms_epsilon"] = f32(c.norm_eps);
  md[arch + ".rope.freq_base"] = f32(c.rope_theta);
  md[arch + ".rope.dimension_count"] = u32(c.head_dim);
  if (c.head_dim * c.heads != c.hidden) md[arch + ".attention.key_length"] = u32(c.head_dim);

  std::vector<gguf::WriteTensor> ts;
  auto floats = [&](const std::string& name, const std::vector<float>& v, std::vector<uint64_t> dims, bool f16) {
    gguf::WriteTensor t;
    t.name = name;
    t.dims = std::move(dims);
    if (f16) {
      t.type = gguf::kF16;
      t.bytes = gguf::encode_f16(v.data(), int64_t(v.size()));
    } else {
      t.type = gguf::kF32;
      t.bytes.resize(v.size() * 4);
      std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
    }
    ts.push_back(std::move(t));
  };
  std::vector<float> emb(size_t(c.vocab * c.hidden));
  src.embedding_rows(0, c.vocab, emb.data());
  floats("token_embd.weight", emb, {uint64_t(c.hidden), uint64_t(c.vocab)}, embedding_f16);
  emb = {};
  for (int64_t l = 0; l < c.layers; ++l) {
    auto norm = [&](const char* n) {
      const std::vector<float> v = src.norm(l, n);
      floats(gguf_tensor_name(l, n), v, {uint64_t(v.size())}, false);
    };
    norm("attn_norm");
    for (const auto& m : c.layer_matmuls()) {
      const TernaryTensor w = src.linear(l, m.name);
      gguf::WriteTensor t;
      t.name = gguf_tensor_name(l, m.name);
      t.dims = {uint64_t(w.K), uint64_t(w.N)};
      t.type = gguf::kI2_S;
      t.bytes = gguf::encode_i2s(w.w.data(), w.N, w.K, w.scale);
      ts.push_back(std::move(t));
    }
    norm("ffn_norm");
    if (c.sub_norms) {
      norm("attn_sub_norm");
      norm("ffn_sub_norm");
    }
  }
  floats("output_norm.weight", src.norm(-1, "output_norm"), {uint64_t(c.hidden)}, false);
  gguf::write(path, md, ts);
}

}  // namespace tb
