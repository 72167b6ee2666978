// Thread-count lists as users write them: "1..16" (each integer), "1,2,4,8", "1..16:2" (a step), "max",
// and mixes ("1,4..8,max"). Errors name the offending item and the accepted forms.
#pragma once
#include <omp.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "base/strings.h"

namespace tb {

inline std::vector<int> parse_thread_spec(const std::string& spec) {
  const std::string forms = "use N, A..B, A..B:STEP or max, comma-separated (e.g. 1..16, 1,2,4,8, 1..16:2)";
  auto num = [&](const std::string& t) -> int {
    if (t == "max") return omp_get_num_procs();
    size_t used = 0;
    long v = 0;
    try {
      v = std::stol(t, &used);
    } catch (...) {
      used = 0;
    }
    if (used != t.size() || t.empty()) throw Error("thread count '" + t + "' is not a number: " + forms);
    if (v <= 0) throw Error("thread count " + t + " must be at least 1: " + forms);
    return int(v);
  };
  std::vector<int> out;
  const auto items = split_list(spec);
  if (items.empty()) throw Error("empty thread list: " + forms);
  for (const auto& it : items) {
    const size_t dots = it.find("..");
    if (dots == std::string::npos) {
      out.push_back(num(it));
      continue;
    }
    const size_t colon = it.find(':', dots);
    const int a = num(it.substr(0, dots));
    const int b = num(it.substr(dots + 2, colon == std::string::npos ? std::string::npos : colon - dots - 2));
    const int step = colon == std::string::npos ? 1 : num(it.substr(colon + 1));
    if (b < a) throw Error("thread range '" + it + "' runs backwards: write " + std::to_string(b) + ".." + std::to_string(a));
    for (int v = a; v <= b; v += step) out.push_back(v);
  }
  return out;
}

// 1, 2, 4, ... up to the logical CPUs, and that count itself.
inline std::string default_thread_ladder() {
  const int n = omp_get_num_procs();
  std::string s;
  for (int t = 1; t < n; t *= 2) s += std::to_string(t) + ",";
  return s + std::to_string(n);
}

}  // namespace tb
