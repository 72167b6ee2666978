// `harness export`: a model's synthetic weights written as a GGUF file (model/export.h).
#include <cstdio>
#include <memory>
#include <string>

#include "harness/commands.h"
#include "model/config.h"
#include "model/export.h"
#include "model/weights.h"

namespace tb {

static Command add_export_command(CLI::App& app) {
  struct Args {
    std::string model = "2B4T", format = "i2s", out;
    uint64_t seed = 1;
  };
  auto a = std::make_shared<Args>();
  CLI::App* exp = app.add_subcommand("export", "write a model (synthetic weights) as a GGUF file in a ternary format");
  add_model_option(exp, a->model, "preset name or .json config");
  exp->add_option("--format", a->format, "tensor format: i2s (bitnet.cpp's I2_S, type 36)")->capture_default_str();
  add_seed_option(exp, a->seed, "seed of the synthetic weights");
  exp->add_option("--out", a->out, "output .gguf path")->required();
  return {exp, [a] {
            const ModelConfig c = load_model_config(a->model);
            export_gguf(*synthetic_weights(c, a->seed), a->format, a->out);
            std::fprintf(stderr, "wrote %s (%s, %s weights, seed %llu)\n", a->out.c_str(), c.name.c_str(), a->format.c_str(),
                         (unsigned long long)a->seed);
            return 0;
          }};
}
[[maybe_unused]] const bool registered = register_command(110, add_export_command);

}  // namespace tb
