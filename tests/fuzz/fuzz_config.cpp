// Fuzz target: the model-config reader (nlohmann JSON + field checks) and the TL tiles reader (its own
// small JSON reader) on arbitrary text. Only tb::Error may come out.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "kernels/error.h"
#include "kernels/tl_tiles.h"
#include "model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    tb::ModelConfig c = tb::parse_model_config(text, "fuzz input");
    (void)c.layer_matmuls();
    (void)c.non_embedding_params();
  } catch (const tb::Error&) {
  }
  // The tiles reader reads files: one temporary file per process, rewritten per input.
  static const std::string path = "/tmp/ternbench-fuzz-tiles-" + std::to_string(getpid()) + ".json";
  if (FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(data, 1, size, f);
    std::fclose(f);
    try {
      tb::tl_tiles_load(path);
      (void)tb::tl_tiles_for("tl2", 2560, 2560);
    } catch (const tb::Error&) {
    }
  }
  return 0;
}
