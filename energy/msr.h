// RAPL model-specific registers through /dev/cpu/N/msr (root, `modprobe msr`). Intel and AMD registers
// and unit decoding; the status counters are 32 bits wide and wrap. docs/reference.md §8.3.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "energy/meter.h"

namespace tb::energy {

namespace msr {
// Intel
constexpr uint32_t kIntelPowerUnit = 0x606;
constexpr uint32_t kIntelPkgEnergy = 0x611;
constexpr uint32_t kIntelDramEnergy = 0x619;
constexpr uint32_t kIntelPp0Energy = 0x639;  // cores
constexpr uint32_t kIntelPp1Energy = 0x641;  // graphics
constexpr uint32_t kIntelPsysEnergy = 0x64D; // platform
// AMD (family 17h and later; Hygon 18h)
constexpr uint32_t kAmdPowerUnit = 0xC0010299;
constexpr uint32_t kAmdCoreEnergy = 0xC001029A;  // per core
constexpr uint32_t kAmdPkgEnergy = 0xC001029B;
}  // namespace msr

enum class CpuVendor { unknown, intel, amd };

struct CpuIdent {
  CpuVendor vendor = CpuVendor::unknown;
  std::string vendor_id;  // "GenuineIntel", "AuthenticAMD", "HygonGenuine"
  int family = -1, model = -1;
};
// vendor_id, cpu family and model of the first processor in a /proc/cpuinfo text.
CpuIdent parse_cpuinfo(const std::string& text);

// Energy status unit from the power-unit register (Intel 0x606, AMD 0xC0010299): 1 / 2^ESU joules with
// ESU = bits 12:8. The same field layout on both vendors.
double rapl_energy_unit_joules(uint64_t power_unit_register);
// Counts between two readings of a 32-bit energy status register (bits 31:0), across one wrap.
uint64_t rapl_status_delta(uint64_t last, uint64_t cur);
// Intel server parts whose DRAM domain counts in a fixed 2^-16 J whatever the unit register says
// (Linux: rapl_defaults_hsw_server: Haswell-X, Broadwell-X, Skylake-X, Ice Lake-X/D, Xeon Phi KNL/KNM).
bool intel_dram_fixed_unit(int family, int model);
// Intel parts whose platform (psys) counter counts whole joules (Linux: rapl_defaults_spr_server).
bool intel_psys_joule_unit(int family, int model);

struct MsrOptions {
  std::string dev_dir = "/dev/cpu";                    // <dev_dir>/<cpu>/msr
  std::string cpu_sysfs = "/sys/devices/system/cpu";   // cpuN/topology/{physical_package_id,core_id}
  std::string cpuinfo = "/proc/cpuinfo";
  // Byte offset per register number: 1 for /dev/cpu/N/msr (the offset is the register). Tests use 8 so that
  // fake register files can hold adjacent registers (AMD 0xC001029A and 0xC001029B) without overlap.
  int register_stride = 1;
};

class MsrMeter : public CounterMeter {
 public:
  explicit MsrMeter(MsrOptions opt = {});
  ~MsrMeter() override;
  std::string name() const override { return "msr"; }
  std::string title() const override { return "RAPL MSRs (" + opt_.dev_dir + "/N/msr)"; }
  const CpuIdent& cpu() const { return cpu_; }

 private:
  void probe();
  int fd_for(int cpu);  // opens <dev_dir>/<cpu>/msr once; throws tb::Error with the fix
  MsrOptions opt_;
  CpuIdent cpu_;
  std::map<int, int> fds_;
};

}  // namespace tb::energy
