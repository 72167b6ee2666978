// Result rows on stdout: a markdown table with llama-bench's columns and ternbench's (md), CSV, a JSON array
// at the end (json) or one object per line (jsonl). Rows of ternbench and of imported peers side by side;
// a field a row does not have prints as "-" (never 0).
#pragma once
#include <string>

#include "harness/results.h"

namespace tb {

class Table {
 public:
  // md, csv, json, jsonl; throws tb::Error otherwise. counters: md and csv add the rows' hardware counters
  // (cycles and LLC misses per token, IPC; "-" or empty where a row has none).
  explicit Table(std::string mode, bool counters = false);
  void header();
  void row(const json& r);  // prints (md, csv, jsonl) and keeps the row
  // The end: json mode prints the array; md mode adds the speedup of every row over `baseline`
  // ("ENGINE:KERNEL", e.g. "llama.cpp:F16" or "ternbench:fp16"; the kernel may be a prefix such as
  // "ternbench:i2s") at the same test, length and thread count.
  void finish(const std::string& baseline = "ternbench:fp16");
  const json& rows() const { return all_; }

 private:
  std::string mode_;
  bool counters_ = false;
  json all_ = json::array();
};

// "pp128", "tg32", "pp128+tg32"
std::string test_name(const json& r);

}  // namespace tb
