// Fuzz target: the results-file reader (JSONL, damage at the end tolerated) and the llama-bench importer
// (JSON, JSONL, CSV) on arbitrary text. Only tb::Error may come out.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "harness/llama_bench.h"
#include "harness/results.h"
#include "base/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> warnings;
  try {
    (void)tb::parse_results(text, "fuzz input", &warnings);
  } catch (const tb::Error&) {
  }
  try {
    (void)tb::import_llama_bench(text, "fuzz input");
  } catch (const tb::Error&) {
  }
  return 0;
}
