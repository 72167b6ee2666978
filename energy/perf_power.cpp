#include "energy/perf_power.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#ifdef __linux__
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "base/error.h"

namespace tb::energy {

namespace {

// perf's event names -> the domain names every source uses.
std::string domain_of(const std::string& event) {
  if (event == "energy-pkg") return "package";
  if (event == "energy-cores") return "core";
  if (event == "energy-ram") return "dram";
  if (event == "energy-gpu") return "gpu";
  if (event == "energy-psys") return "psys";
  return event.substr(7);  // "energy-xyz" -> "xyz"
}

uint64_t parse_int_auto(const std::string& s, bool* ok) {
  *ok = false;
  if (s.empty()) return 0;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 0);
  if (errno != 0 || end != s.c_str() + s.size() || s[0] == '-') return 0;
  *ok = true;
  return v;
}

}  // namespace

std::vector<int> parse_cpu_list(const std::string& text, const std::string& what) {
  const std::string t = trim(text);
  std::vector<int> cpus;
  auto bad = [&] { return Error(what + ": expected a CPU list such as \"0\" or \"0,36\" or \"0-3\", got \"" + t + "\""); };
  if (t.empty()) throw bad();
  size_t i = 0;
  while (i <= t.size()) {
    size_t j = t.find(',', i);
    if (j == std::string::npos) j = t.size();
    const std::string part = t.substr(i, j - i);
    const size_t dash = part.find('-');
    bool ok1, ok2 = true;
    const uint64_t a = parse_int_auto(part.substr(0, dash), &ok1);
    const uint64_t b = dash == std::string::npos ? a : parse_int_auto(part.substr(dash + 1), &ok2);
    if (!ok1 || !ok2 || b < a || b > 1u << 20 || !std::isdigit(static_cast<unsigned char>(part[0]))) throw bad();
    for (uint64_t c = a; c <= b; ++c) cpus.push_back(int(c));
    i = j + 1;
  }
  return cpus;
}

uint64_t parse_perf_event_config(const std::string& text, const std::string& what) {
  const std::string t = trim(text);
  if (t.compare(0, 6, "event=") != 0 || t.find(',') != std::string::npos)
    throw Error(what + ": expected \"event=0x..\" alone, got \"" + t +
                "\" (other fields need the PMU's format files, which the power PMU does not use)");
  bool ok;
  const uint64_t v = parse_int_auto(t.substr(6), &ok);
  if (!ok) throw Error(what + ": \"" + t + "\" has no valid event number");
  return v;
}

PerfPowerPmu read_perf_power_pmu(const std::string& dir) {
  PerfPowerPmu pmu;
  const uint64_t type = parse_u64(read_text_file(dir + "/type"), dir + "/type");
  if (type > 0x7fffffff) throw Error(dir + "/type: " + std::to_string(type) + " is not a PMU type");
  pmu.type = int(type);
  pmu.cpus = parse_cpu_list(read_text_file(dir + "/cpumask"), dir + "/cpumask");
  const std::string ev = dir + "/events";
  for (const std::string& f : list_dir(ev)) {
    if (f.compare(0, 7, "energy-") != 0 || f.find('.') != std::string::npos) continue;
    PerfPowerEvent e;
    e.name = f;
    e.domain = domain_of(f);
    e.config = parse_perf_event_config(read_text_file(ev + "/" + f), ev + "/" + f);
    const std::string scale_file = ev + "/" + f + ".scale", unit_file = ev + "/" + f + ".unit";
    const std::string scale_text = trim(read_text_file(scale_file));
    char* end = nullptr;
    e.scale = std::strtod(scale_text.c_str(), &end);
    if (scale_text.empty() || end != scale_text.c_str() + scale_text.size() || !(e.scale > 0) || e.scale > 1)
      throw Error(scale_file + ": expected a positive number of joules per count such as "
                  "2.3283064365386962890625e-10, got \"" + scale_text + "\"");
    const std::string unit = trim(read_text_file(unit_file));
    if (unit != "Joules") throw Error(unit_file + ": expected \"Joules\", got \"" + unit + "\"");
    pmu.events.push_back(e);
  }
  if (pmu.events.empty()) throw Error(ev + " lists no energy-* events");
  return pmu;
}

PerfPowerMeter::PerfPowerMeter(std::string pmu_dir, std::string paranoid_file, PerfCounterOpener open)
    : dir_(std::move(pmu_dir)), paranoid_file_(std::move(paranoid_file)) {
  try {
    probe(open);
  } catch (const Error& e) {
    why_not_ = e.what();
    counters_.clear();
  }
}

PerfPowerMeter::~PerfPowerMeter() {
#ifdef __linux__
  for (int fd : fds_) ::close(fd);
#endif
}

std::function<uint64_t()> PerfPowerMeter::open_perf_event(int type, uint64_t config, int cpu, const std::string& what,
                                                          const std::string& fix) {
#ifndef __linux__
  (void)type, (void)config, (void)cpu, (void)what, (void)fix;
  throw Error("the perf power PMU is Linux only");
#else
  perf_event_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  attr.type = uint32_t(type);
  attr.config = config;  // read_format 0: a read gives the count alone
  const long fd = ::syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == EACCES || err == EPERM) throw Error(what + ": " + std::strerror(err) + ". " + fix);
    throw Error(what + ": " + std::strerror(err) + " (the kernel does not accept this event here)");
  }
  fds_.push_back(int(fd));
  const int f = int(fd);
  return [f, what] {
    uint64_t v = 0;
    const ssize_t n = ::read(f, &v, sizeof v);
    if (n != ssize_t(sizeof v))
      throw Error(what + ": read returned " + std::to_string(n) + (n < 0 ? std::string(": ") + std::strerror(errno) : ""));
    return v;
  };
#endif
}

void PerfPowerMeter::probe(const PerfCounterOpener& open) {
#ifndef __linux__
  if (!open) throw Error("the perf power PMU is Linux only");
#endif
  if (!path_exists(dir_))
    throw Error(dir_ + " does not exist: the kernel has no RAPL perf PMU (no RAPL on this CPU or VM, or "
                "CONFIG_PERF_EVENTS_INTEL_RAPL off)");
  pmu_ = read_perf_power_pmu(dir_);
  std::string paranoid = "unknown";
  try {
    paranoid = trim(read_text_file(paranoid_file_));
  } catch (const Error&) {
  }
  const std::string fix = paranoid_file_ + " is " + paranoid +
                          "; system-wide events need it at 0 or below (sudo sysctl kernel.perf_event_paranoid=0), or "
                          "CAP_PERFMON (sudo setcap cap_perfmon+ep on the binary), or root";
  for (const PerfPowerEvent& e : pmu_.events) {
    // psys is platform-wide: one CPU is enough, counted once.
    const size_t ncpu = e.domain == "psys" ? 1 : pmu_.cpus.size();
    for (size_t i = 0; i < ncpu; ++i) {
      const int cpu = pmu_.cpus[i];
      const std::string what = "perf_event_open(power/" + e.name + "/, type " + std::to_string(pmu_.type) +
                               ", config " + std::to_string(e.config) + ", cpu " + std::to_string(cpu) + ")";
      Counter c;
      c.domain = e.domain;
      c.package = e.domain == "psys" ? -1 : int(i);
      c.joules_per_count = e.scale;
      c.modulus = 0;
      c.source = what;
      if (open) {
        try {
          c.read = open(pmu_.type, e.config, cpu);
        } catch (const Error& err) {
          throw Error(what + ": " + err.what());
        }
      } else {
        c.read = open_perf_event(pmu_.type, e.config, cpu, what, fix);
      }
      counters_.push_back(std::move(c));
      (void)counters_.back().read();
    }
  }
  if (pmu_.cpus.size() > 1)
    notes_.push_back("packages numbered in cpumask order: CPU " + std::to_string(pmu_.cpus[0]) + " is package 0");
  set_domains_from_counters();
}

}  // namespace tb::energy
