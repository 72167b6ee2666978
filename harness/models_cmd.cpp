// `harness models`: the presets, their parameter counts and weight memory per format.
#include <cstdio>
#include <string>

#include "harness/commands.h"
#include "kernels/kernel.h"
#include "model/config.h"

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
    if (std::string(f->name) != "int8_ref") formats.push_back(f);
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

Command add_models_command(CLI::App& app) {
  CLI::App* models = app.add_subcommand("models", "list model presets with parameter counts and weight memory per format");
  return {models, [] { return cmd_models(); }};
}

}  // namespace tb
