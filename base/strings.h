// String helpers shared by the folders.
#pragma once
#include <cstddef>
#include <cstdio>
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

// One number through a printf format: fmt("%.2f", 1.234) -> "1.23" (64 characters at most).
inline std::string fmt(const char* printf_format, double v) {
  char b[64];
  std::snprintf(b, sizeof b, printf_format, v);
  return b;
}

// An enum value's name from a table in enum order; Last, the enum's last value, checks at compile time that the
// table names every value: enum_name<Color::blue>(c, {"red", "green", "blue"}).
template <auto Last, size_t N>
const char* enum_name(decltype(Last) e, const char* const (&names)[N]) {
  static_assert(N == size_t(Last) + 1, "one name per enum value");
  return names[size_t(e)];
}

}  // namespace tb
