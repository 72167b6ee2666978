// Results that last: JSONL lines appended whole as each measurement completes, a machine fingerprint on
// every line, and a reader that keeps what precedes damage at a file's end (results/README.md: schema).
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace tb {

using json = nlohmann::json;
inline constexpr const char* kResultSchema = "ternbench-result-1";

std::string utc_now_iso();  // 2026-12-02T14:03:11Z
// mkdir -p; an error names the folder that could not be made, the reason, and `fix`.
void make_dirs(const std::string& dir, const std::string& fix);

// Appends lines to a results file. The folder is created if missing; a file or folder that cannot be
// written is an error at open time (before any measurement), naming the path and the fix. Each append
// is one write() of a whole line with O_APPEND, then fsync: a kill leaves no partial line behind.
class ResultsFile {
 public:
  explicit ResultsFile(const std::string& path);
  ~ResultsFile();
  ResultsFile(const ResultsFile&) = delete;
  ResultsFile& operator=(const ResultsFile&) = delete;
  void append(const json& row);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

// Reads a JSONL results file. A damaged last line (a run killed mid-write by an older tool, a disk that
// filled) is skipped with a warning pushed to `warnings`; damage before the last line, or a file that
// cannot be read, throws tb::Error naming the file and line. Rows of another schema are skipped with a warning.
std::vector<json> read_results(const std::string& path, std::vector<std::string>* warnings);
// The same from text (`source` names it in messages).
std::vector<json> parse_results(const std::string& text, const std::string& source, std::vector<std::string>* warnings);

}  // namespace tb
