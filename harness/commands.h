// The `harness` command line. Each subcommand adds itself (its options, help and examples) in its own file and
// returns what runs it once parsed; main.cpp builds the app, parses and dispatches, nothing else.
#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace tb {

struct Command {
  CLI::App* app = nullptr;   // the subcommand; app->parsed() after parsing says it was chosen
  std::function<int()> run;  // reads the parsed options; throws tb::Error on bad input
};
// The sweep puts its options on the app itself (the default command) and on its alias `run`, and returns the
// alias; main.cpp runs it when no subcommand is given (cli_sweep.cpp).
Command add_sweep_command(CLI::App& app);
// Every other subcommand registers the function that adds it from its own file, at start-up:
//   [[maybe_unused]] const bool registered = register_command(20, add_verify_command);
// `order` is its place in `harness --help`; main.cpp adds the registered ones in that order.
using AddCommand = Command (*)(CLI::App& app);
bool register_command(int order, AddCommand add);
std::vector<AddCommand> registered_commands();

// The options several subcommands share, spelled once.
inline CLI::Option* add_model_option(CLI::App* app, std::string& model, const std::string& help) {
  return app->add_option("--model,-m", model, help)->capture_default_str();
}
inline CLI::Option* add_seed_option(CLI::App* app, uint64_t& seed, const std::string& help) {
  return app->add_option("--seed", seed, help)->capture_default_str();
}

int cmd_models();

// `harness verify`: every kernel variant this CPU runs against the int8_ref oracle, bit for bit, on
// every matmul shape of the model (GEMV and GEMM); then the model's logits (prefill and decode) across
// every variant and thread count, bit for bit. Non-zero exit on any mismatch, naming where.
struct VerifyArgs {
  std::string model = "2B4T";
  std::vector<int> threads = {1};
  int64_t layers = 0;   // end-to-end on the first N layers (0: all)
  int64_t tokens = 8;   // GEMM tokens; prompt length end to end
  uint64_t seed = 1;
  // --reference: instead, the runner beside the Eigen reference, layer by layer with teacher forcing
  // (harness/crosscheck.h): flips, pre-quantization differences, identical linear outputs, quantization
  // error per layer against full precision. model may be a .gguf file.
  bool reference = false;
  std::string kernel = "i2s";
  int64_t steps = 8;    // decode steps after the prompt
};
int cmd_verify(const VerifyArgs& a);
int cmd_verify_reference(const VerifyArgs& a);

// `harness lossless`: exact-match rate of greedy continuations against the fp32 reference ([A1] Table 7).
struct LosslessArgs {
  std::string model = "ladder-700M";
  std::string kernels = "i2s,tl1,tl2";  // comma-separated formats or variants
  int64_t prompts = 100, tokens = 100, prompt_len = 8;
  uint64_t seed = 1;
  int threads = 0;
  bool json = false;
};
int cmd_lossless(const LosslessArgs& a);
}  // namespace tb
