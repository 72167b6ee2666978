#include "harness/results.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "base/error.h"
#include "model/memory.h"

namespace tb {

void make_dirs(const std::string& dir, const std::string& fix) {
  if (dir.empty()) return;
  std::string cur;
  std::stringstream ss(dir);
  std::string part;
  if (dir[0] == '/') cur = "/";
  while (std::getline(ss, part, '/')) {
    if (part.empty()) continue;
    cur += (cur.empty() || cur.back() == '/' ? "" : "/") + part;
    if (mkdir(cur.c_str(), 0777) != 0 && errno != EEXIST)
      throw Error("cannot create the folder " + cur + ": " + std::strerror(errno) + "; " + fix);
  }
}

std::string utc_now_iso() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

ResultsFile::ResultsFile(const std::string& path) : path_(path) {
  const size_t slash = path.rfind('/');
  if (slash != std::string::npos) make_dirs(path.substr(0, slash), "pick another results file with --out FILE.jsonl");
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
  if (fd_ < 0)
    throw Error("cannot write results to " + path + ": " + std::strerror(errno) + "; pick another file with --out FILE.jsonl");
}

ResultsFile::~ResultsFile() {
  if (fd_ >= 0) ::close(fd_);
}

void ResultsFile::append(const json& row) {
  const std::string line = row.dump() + "\n";
  // One write of the whole line: O_APPEND makes it atomic with respect to other appenders, and a kill
  // lands before or after it. A short write (disk full) is rolled back so no partial line remains.
  struct stat st {};
  const off_t before = fstat(fd_, &st) == 0 ? st.st_size : -1;
  const ssize_t n = ::write(fd_, line.data(), line.size());
  if (n != ssize_t(line.size())) {
    const int err = n < 0 ? errno : ENOSPC;
    if (n > 0 && before >= 0) (void)!ftruncate(fd_, before);
    throw Error("could not append a result to " + path_ + ": " + std::strerror(err) +
                " (the results before it are intact)");
  }
  fsync(fd_);
}

std::vector<json> read_results(const std::string& path, std::vector<std::string>* warnings) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read results file " + path + ": " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_results(ss.str(), path, warnings);
}

std::vector<json> parse_results(const std::string& text, const std::string& path, std::vector<std::string>* warnings) {
  std::vector<std::string> lines;
  std::stringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::vector<json> rows;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (l.find_first_not_of(" \t\r") == std::string::npos) continue;
    json j = json::parse(l, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      bool last = true;
      for (size_t k = i + 1; k < lines.size(); ++k)
        if (lines[k].find_first_not_of(" \t\r") != std::string::npos) last = false;
      const std::string where = path + ":" + std::to_string(i + 1);
      if (!last) throw Error(where + ": damaged line (not a JSON object) before the end of the file; fix or remove it");
      if (warnings) warnings->push_back(where + ": damaged last line skipped (an interrupted write?); the " +
                                        std::to_string(rows.size()) + " rows before it are read");
      break;
    }
    const std::string schema = j.contains("schema") && j["schema"].is_string() ? j["schema"].get<std::string>() : "";
    if (schema != kResultSchema) {
      if (warnings) warnings->push_back(path + ":" + std::to_string(i + 1) + ": schema '" + schema + "' is not " +
                                        kResultSchema + "; row skipped");
      continue;
    }
    rows.push_back(std::move(j));
  }
  return rows;
}

}  // namespace tb
