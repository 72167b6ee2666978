// The table of registered subcommands (harness/commands.h).
#include "harness/commands.h"

#include <algorithm>
#include <utility>

namespace tb {
namespace {

// Filled during static initialisation, from each subcommand's file: a function-local static exists before first use.
std::vector<std::pair<int, AddCommand>>& table() {
  static std::vector<std::pair<int, AddCommand>> t;
  return t;
}

}  // namespace

bool register_command(int order, AddCommand add) {
  table().emplace_back(order, add);
  return true;
}

std::vector<AddCommand> registered_commands() {
  std::vector<std::pair<int, AddCommand>> t = table();
  std::stable_sort(t.begin(), t.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<AddCommand> out;
  for (const auto& e : t) out.push_back(e.second);
  return out;
}

}  // namespace tb
