// Linux perf power PMU: /sys/bus/event_source/devices/power/{type,cpumask,events/energy-*} and
// perf_event_open(pid = -1, one CPU per package from cpumask). Counts are 64-bit and accumulated by the
// kernel (it unwraps the 32-bit RAPL MSR and keeps counts since the event was opened), so they do not wrap
// (2^64 counts of 2^-32 J would take 50 days at 1 kW). The events are free-running and never multiplexed,
// so a read is the plain count (read_format 0: no time_enabled / time_running scaling). docs/reference.md §8.2.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "energy/meter.h"

namespace tb::energy {

struct PerfPowerEvent {
  std::string name;    // "energy-pkg"
  std::string domain;  // "package"
  uint64_t config = 0; // from "event=0x02"
  double scale = 0;    // joules per count, from energy-pkg.scale
};

struct PerfPowerPmu {
  int type = -1;             // perf_event_attr.type
  std::vector<int> cpus;     // cpumask: one CPU per package (or die)
  std::vector<PerfPowerEvent> events;
};

// "0", "0,36", "0-3,8" -> CPU numbers. Throws tb::Error quoting `what` on anything else.
std::vector<int> parse_cpu_list(const std::string& text, const std::string& what);
// "event=0x02" -> 2. Throws tb::Error quoting `what` when the event needs other fields.
uint64_t parse_perf_event_config(const std::string& text, const std::string& what);
// The sysfs description of the PMU in `dir`. Throws tb::Error naming the missing or malformed file.
PerfPowerPmu read_perf_power_pmu(const std::string& dir);

// Opens one system-wide counter (perf_event_attr type and config, on this CPU) and returns the function that
// reads its raw count; throws tb::Error. The meter's default is perf_event_open; tests inject recorded counts.
using PerfCounterOpener = std::function<std::function<uint64_t()>(int type, uint64_t config, int cpu)>;

class PerfPowerMeter : public CounterMeter {
 public:
  // open: empty = perf_event_open (Linux only).
  explicit PerfPowerMeter(std::string pmu_dir = "/sys/bus/event_source/devices/power",
                          std::string paranoid_file = "/proc/sys/kernel/perf_event_paranoid",
                          PerfCounterOpener open = {});
  ~PerfPowerMeter() override;
  std::string name() const override { return "perf"; }
  std::string title() const override { return "Linux perf power PMU (" + dir_ + ")"; }
  const PerfPowerPmu& pmu() const { return pmu_; }

 private:
  void probe(const PerfCounterOpener& open);
  std::function<uint64_t()> open_perf_event(int type, uint64_t config, int cpu, const std::string& what,
                                            const std::string& fix);
  std::string dir_, paranoid_file_;
  PerfPowerPmu pmu_;
  std::vector<int> fds_;
};

}  // namespace tb::energy
