#include "model/config.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <type_traits>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/error.h"

#ifndef TB_SOURCE_DIR
#define TB_SOURCE_DIR "."
#endif

namespace tb {

int64_t ModelConfig::linear_params_per_layer() const {
  return hidden * q_dim() + 2 * hidden * kv_dim() + q_dim() * hidden + 3 * hidden * ffn;
}

int64_t ModelConfig::norm_params() const {
  // attn_norm + ffn_norm per layer (+ attn_sub_norm over q_dim, ffn_sub_norm over ffn), and output_norm.
  int64_t per_layer = 2 * hidden;
  if (sub_norms) per_layer += q_dim() + ffn;  // attn_sub_norm on the attention output, ffn_sub_norm on the FFN
  return per_layer * layers + hidden;
}

int64_t ModelConfig::embedding_params() const { return vocab * hidden * (tied_embedding ? 1 : 2); }

std::vector<ModelConfig::Matmul> ModelConfig::layer_matmuls() const {
  return {{"attn_q", q_dim(), hidden},  {"attn_k", kv_dim(), hidden}, {"attn_v", kv_dim(), hidden},
          {"attn_output", hidden, q_dim()}, {"ffn_gate", ffn, hidden}, {"ffn_up", ffn, hidden},
          {"ffn_down", hidden, ffn}};
}

std::vector<ModelConfig::Shape> ModelConfig::distinct_matmul_shapes() const {
  std::vector<Shape> out;
  for (const Matmul& m : layer_matmuls()) {
    Shape* same = nullptr;
    for (Shape& s : out)
      if (s.N == m.N && s.K == m.K) same = &s;
    if (same) same->names += std::string(",") + m.name;
    else out.push_back({m.name, m.N, m.K});
  }
  return out;
}

void ModelConfig::validate() const {
  auto need = [&](bool ok, const std::string& what) {
    if (!ok) throw Error("model config '" + name + "': " + what);
  };
  need(hidden > 0 && layers > 0 && ffn > 0 && heads > 0 && kv_heads > 0 && head_dim > 0 && vocab > 0 && context > 0,
       "hidden, layers, ffn, heads, kv_heads, head_dim, vocab and context must all be positive");
  need(heads % kv_heads == 0, "heads (" + std::to_string(heads) + ") must be a multiple of kv_heads (" +
                                  std::to_string(kv_heads) + ")");
  need(head_dim % 2 == 0, "head_dim must be even (RoPE rotates pairs)");
  need(rope_theta > 0 && norm_eps > 0, "rope_theta and norm_eps must be positive");
}

std::string model_config_dir() {
  if (const char* e = std::getenv("TERNBENCH_CONFIGS"); e && *e) return std::string(e) + "/models";
  return std::string(TB_SOURCE_DIR) + "/configs/models";
}

ModelConfig parse_model_config(const std::string& text, const std::string& what) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw Error(what + ": not valid JSON (" + e.what() + ")");
  }
  if (!j.is_object()) throw Error(what + ": expected a JSON object");
  ModelConfig c;
  auto get = [&](const char* key, auto& out, bool required = true) {
    if (!j.contains(key)) {
      if (required) throw Error(what + ": missing field '" + key + "'");
      return;
    }
    // An integer field must hold a JSON integer: nlohmann converts a float (1e300) to int64 with a cast whose
    // overflow is undefined (found by fuzz_config under UBSan).
    if constexpr (std::is_integral_v<std::decay_t<decltype(out)>> && !std::is_same_v<std::decay_t<decltype(out)>, bool>) {
      if (!j.at(key).is_number_integer())
        throw Error(what + ": field '" + key + "' must be an integer, not " + j.at(key).dump().substr(0, 40));
    }
    try {
      j.at(key).get_to(out);
    } catch (const std::exception&) {
      throw Error(what + ": field '" + key + "' has the wrong type");
    }
  };
  get("name", c.name);
  get("family", c.family);
  get("ternary", c.ternary);
  for (const auto& [key, field] : {std::pair<const char*, int64_t*>{"hidden", &c.hidden}, {"layers", &c.layers},
                                   {"ffn", &c.ffn}, {"heads", &c.heads}, {"kv_heads", &c.kv_heads},
                                   {"head_dim", &c.head_dim}, {"vocab", &c.vocab}, {"context", &c.context}})
    get(key, *field);
  get("rope_theta", c.rope_theta);
  get("norm_eps", c.norm_eps);
  std::string act;
  get("ffn_act", act);
  if (act == "relu2") c.ffn_act = FfnAct::relu2;
  else if (act == "silu") c.ffn_act = FfnAct::silu;
  else throw Error(what + ": ffn_act must be \"relu2\" or \"silu\", not \"" + act + "\"");
  get("sub_norms", c.sub_norms);
  get("tied_embedding", c.tied_embedding);
  get("source", c.source, false);
  get("note", c.note, false);
  c.validate();
  return c;
}

std::vector<std::string> list_model_configs() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(model_config_dir(), ec))
    if (e.path().extension() == ".json") out.push_back(e.path().stem().string());
  std::sort(out.begin(), out.end());
  return out;
}

ModelConfig load_model_config(const std::string& name_or_path) {
  std::string path = name_or_path;
  const bool is_path = name_or_path.find('/') != std::string::npos ||
                       (name_or_path.size() > 5 && name_or_path.substr(name_or_path.size() - 5) == ".json");
  if (!is_path) path = model_config_dir() + "/" + name_or_path + ".json";
  std::ifstream in(path);
  if (!in) {
    if (is_path) throw Error("cannot read model config " + path);
    std::string names;
    for (const auto& n : list_model_configs()) names += (names.empty() ? "" : ", ") + n;
    throw Error("unknown model '" + name_or_path + "': presets are " +
                (names.empty() ? "(none found in " + model_config_dir() + ")" : names) +
                "; or give a path to a .json config or a .gguf file");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_model_config(ss.str(), path);
}

}  // namespace tb
