#pragma once
#include <stdexcept>
#include <string>

namespace tb {
// Every user-facing failure in ternbench: the message names what was wrong and what to do.
struct Error : std::runtime_error {
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};
}  // namespace tb
