// `harness models`: the presets, their parameter counts and weight memory per format.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include "harness/commands.h"
#include "kernels/kernel.h"
#include "model/config.h"
#include "model/linear_path.h"
#include "model/runner.h"

namespace tb {

namespace {
std::string gb(double bytes) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", bytes / 1e9);
  return b;
}
}  // namespace

int cmd_models() {
  const auto names = list_model_configs();
  if (names.empty()) throw Error("no model presets found in " + model_config_dir() + " (set TERNBENCH_CONFIGS?)");
  std::string fmt_cols;
  std::vector<const Format*> formats;
  for (const Format* f : all_formats())
    if (!f->oracle) formats.push_back(f);
  std::printf("Weight memory in GB (1e9 bytes) of the linear layers (non-embedding), per storage format; the\n"
              "embedding (and LM head) is listed apart, at fp16. Shapes a format cannot take show '-'.\n\n");
  std::printf("| model | family | layers | hidden | ffn | heads/kv | vocab | non-emb params | emb params | fp32 | fp16 |");
  for (const Format* f : formats) std::printf(" %s |", f->name);
  std::printf(" emb fp16 |\n|---|---|---|---|---|---|---|---|---|---|---|");
  for (size_t i = 0; i < formats.size(); ++i) std::printf("---|");
  std::printf("---|\n");
  for (const auto& n : names) {
    const ModelConfig c = load_model_config(n);
    const double lin = double(c.linear_params());
    std::printf("| %s | %s%s | %lld | %lld | %lld | %lld/%lld | %lld | %.3f B | %.3f B | %s | %s |", c.name.c_str(),
                c.family.c_str(), c.ternary ? "" : " (float)", (long long)c.layers, (long long)c.hidden,
                (long long)c.ffn, (long long)c.heads, (long long)c.kv_heads, (long long)c.vocab,
                double(c.non_embedding_params()) / 1e9, double(c.embedding_params()) / 1e9, gb(lin * 4).c_str(),
                gb(lin * 2).c_str());
    for (const Format* f : formats) {
      double bytes = 0;
      bool ok = true;
      for (const auto& m : c.layer_matmuls()) {
        if (!f->check_shape(m.N, m.K).empty()) ok = false;
        else bytes += double(f->packed_bytes(m.N, m.K)) * double(c.layers);
      }
      std::printf(" %s |", ok ? gb(bytes).c_str() : "-");
    }
    std::printf(" %s |\n", gb(double(c.embedding_params()) * 2).c_str());
  }
  std::printf("\nParameters: non-embedding = the 7 linear layers per block + norm weights; emb = token_embd (+ output.weight\n"
              "when untied). Sources and caveats (e.g. the vocab assumed for the [A1] ladder) are in configs/models/*.json.\n");
  return 0;
}

// What a sweep allocates besides the linear weights, per part, from plan_memory (the check a sweep makes before it
// packs), so that a script adds up what the harness will ask for instead of re-deriving it: the embedding/head at
// each head precision, norms, the KV cache per layer and context token, and activation scratch (a part per batch
// token, a part fixed).
nlohmann::json memory_parts(const ModelConfig& c) {
  RunnerOptions o;
  o.path = resolve_linear("fp16");
  o.context = 1;
  nlohmann::json heads;
  for (HeadPrecision h : {HeadPrecision::fp32, HeadPrecision::fp16, HeadPrecision::int8}) {
    o.head = h;
    heads[head_precision_name(h)] = plan_memory(c, o, 1).embedding;
  }
  const MemoryPlan one = plan_memory(c, o, 1), two = plan_memory(c, o, 2);
  return {{"head_bytes", heads},
          {"norm_bytes", one.norms},
          {"kv_bytes_per_layer_per_token", one.kv_cache / size_t(c.layers)},
          {"activation_bytes_per_batch_token", two.activations - one.activations},
          {"activation_bytes_fixed", 2 * one.activations - two.activations}};
}

// The same facts for scripts (scripts/reproduce.py, plot.py): every preset's shape and parameter counts, and per
// storage format its bits per weight and the exact packed bytes of the linear layers, all and per layer (null where
// the format cannot take a shape), and the other parts of a sweep's memory (memory_parts), so no script re-derives
// them.
int cmd_models_json() {
  using json = nlohmann::json;
  json out = {{"formats", json::array()}, {"models", json::array()}};
  std::vector<const Format*> formats;
  for (const Format* f : all_formats())
    if (!f->oracle) formats.push_back(f);
  out["formats"].push_back({{"name", "fp32"}, {"bits_per_weight", 32.0}});
  out["formats"].push_back({{"name", "fp16"}, {"bits_per_weight", 16.0}});
  for (const Format* f : formats) out["formats"].push_back({{"name", f->name}, {"bits_per_weight", f->bits_per_weight}});
  for (const auto& n : list_model_configs()) {
    const ModelConfig c = load_model_config(n);
    json m = {{"name", c.name}, {"family", c.family}, {"ternary", c.ternary}, {"layers", c.layers},
              {"hidden", c.hidden}, {"ffn", c.ffn}, {"heads", c.heads}, {"kv_heads", c.kv_heads},
              {"head_dim", c.head_dim}, {"kv_dim", c.kv_dim()}, {"vocab", c.vocab}, {"context", c.context},
              {"tied_embedding", c.tied_embedding}, {"linear_params", c.linear_params()},
              {"layer_linear_params", c.linear_params() / c.layers}, {"norm_params", c.norm_params()},
              {"non_embedding_params", c.non_embedding_params()}, {"embedding_params", c.embedding_params()},
              {"matmuls", json::array()}, {"linear_bytes", json::object()}, {"layer_linear_bytes", json::object()},
              {"memory", memory_parts(c)}};
    for (const auto& mm : c.layer_matmuls()) m["matmuls"].push_back({{"name", mm.name}, {"N", mm.N}, {"K", mm.K}});
    const int64_t layer_params = c.linear_params() / c.layers;
    for (const auto& [name, bytes] : {std::pair<const char*, int64_t>{"fp32", 4}, {"fp16", 2}}) {
      m["linear_bytes"][name] = c.linear_params() * bytes;
      m["layer_linear_bytes"][name] = layer_params * bytes;
    }
    for (const Format* f : formats) {
      json layer = 0;
      for (const auto& mm : c.layer_matmuls()) {
        if (!f->check_shape(mm.N, mm.K).empty()) {
          layer = nullptr;
          break;
        }
        layer = layer.get<int64_t>() + int64_t(f->packed_bytes(mm.N, mm.K));
      }
      m["layer_linear_bytes"][f->name] = layer;
      m["linear_bytes"][f->name] = layer.is_null() ? json(nullptr) : json(layer.get<int64_t>() * c.layers);
    }
    out["models"].push_back(m);
  }
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

static Command add_models_command(CLI::App& app) {
  auto as_json = std::make_shared<bool>(false);
  CLI::App* models = app.add_subcommand("models", "list model presets with parameter counts and weight memory per format");
  models->add_flag("--json", *as_json, "the same as JSON for scripts: shapes, parameter counts, and per format its bits "
                   "per weight and the packed bytes of the linear layers (null where it cannot take a shape), and the "
                   "other parts of a sweep's memory (head at each precision, KV cache, scratch)");
  return {models, [as_json] { return *as_json ? cmd_models_json() : cmd_models(); }};
}
[[maybe_unused]] const bool registered = register_command(90, add_models_command);

}  // namespace tb
