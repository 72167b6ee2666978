// A temporary directory the test fills with fake sysfs / device files, removed afterwards.
#pragma once
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <stdexcept>
#include <string>

namespace tbtest {

class TempTree {
 public:
  TempTree() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/tb_energy_XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed for " + tmpl);
    root_ = tmpl;
  }
  ~TempTree() {
    std::error_code ec;
    // Restore permissions that a test removed, so that everything can be deleted.
    for (auto it = std::filesystem::recursive_directory_iterator(root_, ec);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
      ::chmod(it->path().c_str(), it->is_directory() ? 0755 : 0644);
    std::filesystem::remove_all(root_, ec);
  }
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;

  const std::string& root() const { return root_; }
  std::string path(const std::string& rel) const { return root_ + "/" + rel; }

  // Writes `content` to root/rel, creating directories; rewrites in place (same inode), as sysfs values change.
  void write(const std::string& rel, const std::string& content) const {
    const std::string p = path(rel);
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    if (!f) throw std::runtime_error("cannot write " + p);
    f << content;
  }
  // Rewrites root/rel in place with one pwrite of `content` padded with spaces to 32 bytes, so that a
  // reader polling the file at the same time (the sampling thread) sees the old or the new value, never an
  // empty file as a truncating rewrite would show (real sysfs values change atomically).
  void put(const std::string& rel, const std::string& content) const {
    const std::string p = path(rel);
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    std::string padded = content;
    if (padded.size() < 32) padded.resize(32, ' ');
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT, 0644);
    if (fd < 0) throw std::runtime_error("cannot open " + p);
    const ssize_t n = ::pwrite(fd, padded.data(), padded.size(), 0);
    ::close(fd);
    if (n != ssize_t(padded.size())) throw std::runtime_error("cannot write " + p);
  }
  void mkdir(const std::string& rel) const { std::filesystem::create_directories(path(rel)); }
  void chmod(const std::string& rel, mode_t mode) const { ::chmod(path(rel).c_str(), mode); }

  // A register file: 8 little-endian bytes at offset reg x stride (a sparse file). /dev/cpu/N/msr uses
  // stride 1 (the offset is the register number); fakes use 8 so that adjacent registers do not overlap.
  void write_register(const std::string& rel, uint32_t reg, uint64_t value, int stride = 8) const {
    const std::string p = path(rel);
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT, 0644);
    if (fd < 0) throw std::runtime_error("cannot open " + p);
    const ssize_t n = ::pwrite(fd, &value, sizeof value, off_t(reg) * stride);
    ::close(fd);
    if (n != ssize_t(sizeof value)) throw std::runtime_error("cannot write register in " + p);
  }

  // Whether the current process can still open `rel` for reading (true as root even after chmod 000).
  bool readable(const std::string& rel) const {
    const int fd = ::open(path(rel).c_str(), O_RDONLY);
    if (fd < 0) return false;
    ::close(fd);
    return true;
  }

 private:
  std::string root_;
};

// One Linux powercap zone as /sys/class/powercap/<id>/ holds it: name, counter in microjoules, wrap range.
struct RaplZone {
  std::string id, name;
  uint64_t uj = 0;
  std::string range = "262143328850";  // a real Intel max_energy_range_uj (2^32 x 61.035 uJ)
};
inline void rapl_zones(const TempTree& t, std::initializer_list<RaplZone> zones) {
  for (const RaplZone& z : zones) {
    t.write(z.id + "/name", z.name + "\n");
    t.write(z.id + "/energy_uj", std::to_string(z.uj) + "\n");
    t.write(z.id + "/max_energy_range_uj", z.range + "\n");
  }
}
// A zone's counter moves (rewritten in place, as sysfs values change).
inline void rapl_set(const TempTree& t, const std::string& id, uint64_t uj) {
  t.put(id + "/energy_uj", std::to_string(uj) + "\n");
}

}  // namespace tbtest
