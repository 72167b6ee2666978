// Fuzz target: the GGUF reader on arbitrary bytes. Everything a file can say is either read or refused
// with tb::Error; anything else (a crash, a sanitizer report, another exception) is a bug.
#include <cstddef>
#include <cstdint>

#include "base/error.h"
#include "model/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const tb::gguf::File f = tb::gguf::File::parse(data, size, "fuzz input");
    for (const auto& [key, value] : f.metadata()) {
      (void)value;
      try {
        (void)f.get_string(key);
      } catch (const tb::Error&) {
      }
      try {
        (void)f.get_int(key);
      } catch (const tb::Error&) {
      }
    }
    for (const auto& t : f.tensors()) {
      if (t.nbytes > (uint64_t(16) << 20)) continue;  // decoding is linear in size: keep executions fast
      try {
        (void)tb::gguf::read_ternary(f, t.name);
      } catch (const tb::Error&) {
      }
      try {
        (void)tb::gguf::read_floats(f, t.name);
      } catch (const tb::Error&) {
      }
    }
  } catch (const tb::Error&) {
  }
  return 0;
}
