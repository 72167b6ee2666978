// String helpers shared by the folders.
#pragma once
#include <string>
#include <vector>

namespace tb {

// The items of a separated list, empty items dropped: "a,,b," -> {"a", "b"}.
inline std::vector<std::string> split_list(const std::string& s, char sep = ',') {
  std::vector<std::string> out;
  size_t b = 0;
  while (b <= s.size()) {
    const size_t e = s.find(sep, b);
    const std::string item = s.substr(b, e == std::string::npos ? std::string::npos : e - b);
    if (!item.empty()) out.push_back(item);
    if (e == std::string::npos) break;
    b = e + 1;
  }
  return out;
}

}  // namespace tb
