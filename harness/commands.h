// Subcommands of `harness` that live in their own files.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tb {
int cmd_models();

struct RunArgs {
  std::string model = "2B4T";     // preset name, .json config or .gguf file
  std::vector<std::string> kernels = {"i2s"};
  std::vector<int> threads = {1};
  int64_t pp = 128, tg = 128;
  int reps = 3;
  uint64_t seed = 1;
  std::string head = "fp16";
};
int cmd_run(const RunArgs& a);
}  // namespace tb
