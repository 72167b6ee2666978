// Subcommands of `harness` that live in their own files.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tb {
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
};
int cmd_verify(const VerifyArgs& a);
}  // namespace tb
