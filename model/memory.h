#pragma once
#include <cstddef>
#include <string>

namespace tb {
// Bytes of memory available to this process now (MemAvailable on Linux, free pages elsewhere); 0 if unknown.
size_t available_memory_bytes();
// Throws tb::Error naming what `what` needs and what there is, when need > available (unknown passes).
void check_memory(size_t need, const std::string& what);
}  // namespace tb
