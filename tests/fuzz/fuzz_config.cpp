// Fuzz target: the model-config reader and the TL tiles reader (both nlohmann JSON + field checks) on arbitrary
// text. Only tb::Error may come out.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/error.h"
#include "harness/tiles.h"
#include "model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    tb::ModelConfig c = tb::parse_model_config(text, "fuzz input");
    (void)c.layer_matmuls();
    (void)c.non_embedding_params();
  } catch (const tb::Error&) {
  }
  try {
    (void)tb::parse_tiles(text, "fuzz input");
  } catch (const tb::Error&) {
  }
  return 0;
}
