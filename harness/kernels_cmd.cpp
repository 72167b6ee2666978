// `harness kernels`: the kernels, their formats and the ISA path each uses on this CPU.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include "harness/commands.h"
#include "kernels/kernel.h"

namespace tb {

namespace {

int cmd_kernels() {
  const CpuInfo& cpu = cpu_info();
  std::string flags;
  for (const auto& f : cpu.flags) flags += (flags.empty() ? "" : " ") + f;
  std::printf("CPU: %s\nfeatures: %s\n", cpu.model.c_str(), flags.empty() ? "(none detected)" : flags.c_str());
  std::string paths;
  for (Isa i : {Isa::scalar, Isa::neon, Isa::avx2, Isa::avx512vnni})
    if (cpu_supports(i)) paths += (paths.empty() ? "" : ", ") + std::string(isa_name(i));
  std::printf("paths this CPU runs: %s\n", paths.c_str());
  if (!cpu.notes.empty()) std::printf("missing paths: %s\n", cpu.notes.c_str());
  const std::string forced = forced_isa();
  if (!forced.empty()) std::printf("forced path: %s (TERNBENCH_ISA or --isa)\n", forced.c_str());
  uint32_t allowed = allowed_isas();
  std::printf("\n| kernel | bits/weight | shapes | variants in this binary | used here |\n");
  std::printf("|---|---|---|---|---|\n");
  for (const Format* f : all_formats()) {
    std::string variants;
    for (const Kernel& k : all_kernels())
      if (k.format == f) variants += (variants.empty() ? "" : ", ") + std::string(isa_name(k.isa));
    std::printf("| %s | %.2f | %s | %s | %s |\n", f->name, f->bits_per_weight, f->constraint, variants.c_str(),
                select_kernel(*f, allowed).name);
  }
  std::printf("\n");
  for (const Format* f : all_formats()) std::printf("%-9s %s\n", f->name, f->summary);
  return 0;
}

}  // namespace

// For scripts: the CPU, the paths it runs, and per format its bits per weight, shape rule, variants and the one
// used here.
int cmd_kernels_json() {
  using json = nlohmann::json;
  const CpuInfo& cpu = cpu_info();
  json out = {{"cpu", cpu.model}, {"features", cpu.flags}, {"paths", json::array()}, {"forced", forced_isa()},
              {"formats", json::array()}};
  for (Isa i : {Isa::scalar, Isa::neon, Isa::avx2, Isa::avx512vnni})
    if (cpu_supports(i)) out["paths"].push_back(isa_name(i));
  for (const Format* f : all_formats()) {
    json variants = json::array();
    for (const Kernel& k : all_kernels())
      if (k.format == f) variants.push_back(k.name);
    out["formats"].push_back({{"name", f->name}, {"bits_per_weight", f->bits_per_weight}, {"shapes", f->constraint},
                              {"summary", f->summary}, {"oracle", f->oracle}, {"variants", variants},
                              {"used_here", select_kernel(*f, allowed_isas()).name}});
  }
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

static Command add_kernels_command(CLI::App& app) {
  auto as_json = std::make_shared<bool>(false);
  CLI::App* sub = app.add_subcommand("kernels", "list kernels, their formats and the ISA path each uses on this CPU");
  sub->add_flag("--json", *as_json, "the same as JSON for scripts");
  return {sub, [as_json] { return *as_json ? cmd_kernels_json() : cmd_kernels(); }};
}
[[maybe_unused]] const bool registered = register_command(10, add_kernels_command);

}  // namespace tb
