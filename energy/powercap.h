// Linux powercap RAPL: /sys/class/powercap/intel-rapl:P (package P) and intel-rapl:P:S (subzones core,
// uncore, dram), plus a platform "psys" zone on some laptops. Intel, and AMD Zen through the same driver
// (package and core, no dram). docs/reference.md §8.1.
#pragma once
#include <string>
#include <vector>

#include "energy/meter.h"

namespace tb::energy {

struct PowercapZone {
  std::string id;       // directory name, e.g. "intel-rapl:a:1"
  std::string name;     // contents of its `name` file, e.g. "package-10", "dram", "psys"
  int index = -1;       // P: the top-level zone index, parsed as hex (the kernel prints it with "%x")
  int subzone = -1;     // S, or -1 for a top-level zone
  int package = -1;     // package the zone is counted under; -1 for a platform zone (psys)
  std::string domain;   // "package", "core", "uncore", "dram", "psys", ...
  uint64_t max_energy_range_uj = 0;
};

// "intel-rapl:a:1" with prefix "intel-rapl" -> index 10, subzone 1. False when `id` is not such a zone
// (for example the control-type directory "intel-rapl" itself, or malformed hex).
bool parse_powercap_zone_id(const std::string& id, const std::string& prefix, int* index, int* subzone);

// Reads energy_uj of every zone under `root` (default /sys/class/powercap). Unavailable, with the reason,
// when the tree is missing, empty, unreadable or malformed. psys is reported as its own domain and never
// added to "package"; intel-rapl-mmio:* zones (a second interface to the same package counters on some Intel
// client parts) are noted and not read, so nothing is counted twice.
// Wrap: energy_uj runs from 0 to max_energy_range_uj; the modulus used is max_energy_range_uj + 1 uJ (the
// exact one is max plus one hardware unit, which sysfs does not give: the error is below one unit, at most
// 61 uJ, per wrap).
class PowercapMeter : public CounterMeter {
 public:
  explicit PowercapMeter(std::string root = "/sys/class/powercap");
  std::string name() const override { return "powercap"; }
  std::string title() const override { return "Linux powercap RAPL (" + root_ + ")"; }
  const std::vector<PowercapZone>& zones() const { return zones_; }

 private:
  void probe();
  std::string root_;
  std::vector<PowercapZone> zones_;
  std::vector<SysfsValue> files_;
};

// What to do when energy_uj exists but cannot be read (root-only since Linux 5.10).
std::string powercap_permission_fix();

}  // namespace tb::energy
