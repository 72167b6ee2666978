#include "energy/meter.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "energy/msr.h"
#include "energy/perf_power.h"
#include "energy/powercap.h"
#include "energy/powermetrics.h"
#include "base/error.h"

namespace tb::energy {

double Reading::at(const std::string& domain) const {
  auto it = joules.find(domain);
  if (it != joules.end()) return it->second;
  std::string have;
  for (const auto& kv : joules) have += (have.empty() ? "" : ", ") + kv.first;
  throw Error("energy reading has no domain '" + domain + "' (it has: " + (have.empty() ? "none" : have) + ")");
}

Reading difference(const Reading& b, const Reading& a) {
  Reading d;
  d.seconds = b.seconds - a.seconds;
  for (const auto& kv : b.joules) {
    auto it = a.joules.find(kv.first);
    d.joules[kv.first] = kv.second - (it == a.joules.end() ? 0.0 : it->second);
  }
  for (const auto& pk : b.per_package) {
    auto ap = a.per_package.find(pk.first);
    for (const auto& kv : pk.second) {
      double before = 0;
      if (ap != a.per_package.end()) {
        auto it = ap->second.find(kv.first);
        if (it != ap->second.end()) before = it->second;
      }
      d.per_package[pk.first][kv.first] = kv.second - before;
    }
  }
  return d;
}

Reading Meter::read_at(Clock::time_point) {
  throw Error("energy source '" + name() + "' reads only the present; read_at() is for deferred sources");
}

uint64_t counter_delta(uint64_t last, uint64_t cur, uint64_t modulus, const std::string& source) {
  if (modulus == 0) {
    if (cur < last)
      throw Error(source + ": 64-bit energy counter went backwards (" + std::to_string(last) + " -> " +
                  std::to_string(cur) + "); the counter was reset or the source is not what it claims");
    return cur - last;
  }
  if (cur >= modulus || last >= modulus)
    throw Error(source + ": value " + std::to_string(std::max(cur, last)) + " is not below the wrap range " +
                std::to_string(modulus) + " (max_energy_range_uj or counter width); the file is malformed");
  // One wrap at most between polls: the sampling interval is chosen so (see max_poll_interval_s()).
  return cur >= last ? cur - last : (modulus - last) + cur;
}

void CounterMeter::start() {
  if (!available()) throw Error("energy source '" + name() + "' is not available: " + why_not_);
  std::lock_guard<std::mutex> lock(mu_);
  for (Counter& c : counters_) {
    c.last = c.read();
    c.counts = 0;
  }
  t0_ = Clock::now();
  started_ = true;
}

void CounterMeter::sample() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!started_) return;
  for (Counter& c : counters_) {
    const uint64_t cur = c.read();
    c.counts += counter_delta(c.last, cur, c.modulus, c.source);
    c.last = cur;
  }
}

Reading CounterMeter::read() {
  if (!started_) throw Error("energy source '" + name() + "': read() before start()");
  sample();
  std::lock_guard<std::mutex> lock(mu_);
  Reading r;
  r.seconds = std::chrono::duration<double>(Clock::now() - t0_).count();
  for (const Counter& c : counters_) {
    const double j = double(c.counts) * c.joules_per_count;
    r.joules[c.domain] += j;
    if (c.package >= 0) r.per_package[c.package][c.domain] += j;
  }
  return r;
}

double CounterMeter::max_poll_interval_s() const {
  double best = std::numeric_limits<double>::infinity();
  for (const Counter& c : counters_)
    if (c.modulus != 0) best = std::min(best, double(c.modulus) * c.joules_per_count / kMaxPlausibleWatts);
  return best;
}

void CounterMeter::set_domains_from_counters() {
  static const char* order[] = {"package", "core", "uncore", "gpu", "dram", "psys"};
  domains_.clear();
  for (const char* d : order)
    for (const Counter& c : counters_)
      if (c.domain == d) {
        domains_.push_back(d);
        break;
      }
  for (const Counter& c : counters_)
    if (std::find(domains_.begin(), domains_.end(), c.domain) == domains_.end()) domains_.push_back(c.domain);
  primary_ = domains_.empty() ? "" : domains_.front();
}

// ---- files ----

std::string describe_errno(const std::string& path, int err, const std::string& fix) {
  std::string m = "cannot read " + path + ": " + std::strerror(err);
  if ((err == EACCES || err == EPERM) && !fix.empty()) m += ". " + fix;
  return m;
}

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::string read_text_file(const std::string& path, const std::string& fix) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(describe_errno(path, errno, fix));
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      throw Error(describe_errno(path, err, fix));
    }
    if (n == 0) break;
    out.append(buf, size_t(n));
  }
  ::close(fd);
  return out;
}

uint64_t parse_u64(const std::string& text, const std::string& what) {
  size_t b = 0, e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  const std::string t = text.substr(b, e - b);
  auto bad = [&](const char* why) {
    std::string shown = t.size() > 40 ? t.substr(0, 40) + "..." : t;
    return Error(what + ": expected an unsigned decimal integer, got \"" + shown + "\" (" + why + ")");
  };
  if (t.empty()) throw bad("empty");
  uint64_t v = 0;
  for (char ch : t) {
    if (ch < '0' || ch > '9') throw bad("not a digit");
    const uint64_t d = uint64_t(ch - '0');
    if (v > (UINT64_MAX - d) / 10) throw bad("does not fit in 64 bits");
    v = v * 10 + d;
  }
  return v;
}

bool path_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> names;
  DIR* d = ::opendir(path.c_str());
  if (!d) return names;
  while (const dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

SysfsValue::SysfsValue(const std::string& path, const std::string& fix) : path_(path), fix_(fix) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw Error(describe_errno(path, errno, fix));
}
SysfsValue::~SysfsValue() {
  if (fd_ >= 0) ::close(fd_);
}
SysfsValue::SysfsValue(SysfsValue&& o) noexcept : path_(std::move(o.path_)), fix_(std::move(o.fix_)), fd_(o.fd_) {
  o.fd_ = -1;
}

uint64_t SysfsValue::read_u64() const {
  char buf[64];
  const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
  if (n < 0) throw Error(describe_errno(path_, errno, fix_));
  if (n == sizeof buf - 1) throw Error(path_ + ": value longer than 62 bytes; the file is malformed");
  return parse_u64(std::string(buf, size_t(n)), path_);
}

// ---- every source ----

std::vector<std::unique_ptr<Meter>> hardware_meters(const SourcePaths& p) {
  std::vector<std::unique_ptr<Meter>> m;
  m.push_back(std::make_unique<PowercapMeter>(p.powercap_root));
  m.push_back(std::make_unique<PerfPowerMeter>(p.perf_pmu_dir, p.perf_paranoid));
  MsrOptions mo;
  mo.dev_dir = p.msr_dev_dir;
  mo.cpu_sysfs = p.cpu_sysfs;
  mo.cpuinfo = p.cpuinfo;
  m.push_back(std::make_unique<MsrMeter>(mo));
  m.push_back(std::make_unique<PowermetricsMeter>());
  return m;
}

std::unique_ptr<Meter> best_hardware_meter(const SourcePaths& p) {
  for (auto& m : hardware_meters(p))
    if (m->available()) return std::move(m);
  return nullptr;
}

}  // namespace tb::energy
