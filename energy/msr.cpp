#include "energy/msr.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "base/error.h"

namespace tb::energy {

namespace {

std::string hex(uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%llX", static_cast<unsigned long long>(v));
  return b;
}

// false with *err set (0: short read, as from a file that ends before the register) when the register
// cannot be read.
bool read_register(int fd, uint32_t reg, int stride, uint64_t* v, int* err) {
  const ssize_t n = ::pread(fd, v, sizeof *v, off_t(reg) * stride);
  if (n == ssize_t(sizeof *v)) return true;
  *err = n < 0 ? errno : 0;
  return false;
}

std::string reg_error(int err) { return err ? std::strerror(err) : "short read"; }

}  // namespace

CpuIdent parse_cpuinfo(const std::string& text) {
  CpuIdent id;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) {
      if (!id.vendor_id.empty() && line.find_first_not_of(" \t\r") == std::string::npos) break;  // end of cpu 0
      continue;
    }
    std::string key = line.substr(0, colon), val = line.substr(colon + 1);
    while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) key.pop_back();
    while (!val.empty() && std::isspace(static_cast<unsigned char>(val.front()))) val.erase(val.begin());
    while (!val.empty() && std::isspace(static_cast<unsigned char>(val.back()))) val.pop_back();
    if (key == "vendor_id" && id.vendor_id.empty()) id.vendor_id = val;
    else if (key == "cpu family" && id.family < 0) id.family = std::atoi(val.c_str());
    else if (key == "model" && id.model < 0) id.model = std::atoi(val.c_str());
  }
  if (id.vendor_id == "GenuineIntel") id.vendor = CpuVendor::intel;
  else if (id.vendor_id == "AuthenticAMD" || id.vendor_id == "HygonGenuine") id.vendor = CpuVendor::amd;
  return id;
}

double rapl_energy_unit_joules(uint64_t power_unit_register) {
  return std::ldexp(1.0, -int((power_unit_register >> 8) & 0x1F));
}

uint64_t rapl_status_delta(uint64_t last, uint64_t cur) {
  return counter_delta(last & 0xFFFFFFFFu, cur & 0xFFFFFFFFu, uint64_t(1) << 32, "RAPL status register");
}

bool intel_dram_fixed_unit(int family, int model) {
  if (family != 6) return false;
  switch (model) {
    case 0x3F:  // Haswell-X
    case 0x4F:  // Broadwell-X
    case 0x55:  // Skylake-X, Cascade Lake, Cooper Lake
    case 0x6A:  // Ice Lake-X
    case 0x6C:  // Ice Lake-D
    case 0x57:  // Xeon Phi Knights Landing
    case 0x85:  // Xeon Phi Knights Mill
      return true;
    default:
      return false;
  }
}

bool intel_psys_joule_unit(int family, int model) {
  return family == 6 && (model == 0x8F /* Sapphire Rapids-X */ || model == 0xCF /* Emerald Rapids-X */);
}

MsrMeter::MsrMeter(MsrOptions opt) : opt_(std::move(opt)) {
  try {
    probe();
  } catch (const Error& e) {
    why_not_ = e.what();
    counters_.clear();
  }
  if (why_not_.empty() && counters_.empty()) why_not_ = "no RAPL energy register reads a non-zero value";
}

MsrMeter::~MsrMeter() {
  for (const auto& kv : fds_) ::close(kv.second);
}

int MsrMeter::fd_for(int cpu) {
  auto it = fds_.find(cpu);
  if (it != fds_.end()) return it->second;
  const std::string dev = opt_.dev_dir + "/" + std::to_string(cpu) + "/msr";
  const int fd = ::open(dev.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) {
      if (!path_exists(opt_.dev_dir))
        throw Error(opt_.dev_dir + " does not exist: no MSR device on this system (Linux only; sudo modprobe msr)");
      throw Error(dev + " does not exist: load the msr driver (sudo modprobe msr), then run as root (in a VM the "
                  "hypervisor usually hides the RAPL registers even then)");
    }
    throw Error(describe_errno(dev, err,
                               "MSR devices need root (CAP_SYS_RAWIO and read access to the device): run as root"));
  }
  fds_[cpu] = fd;
  return fd;
}

void MsrMeter::probe() {
  cpu_ = parse_cpuinfo(read_text_file(opt_.cpuinfo));
  if (cpu_.vendor == CpuVendor::unknown)
    throw Error("RAPL MSRs are Intel and AMD only; " + opt_.cpuinfo + " says vendor_id \"" + cpu_.vendor_id + "\"");
  if (cpu_.vendor == CpuVendor::amd && cpu_.family < 0x17)
    throw Error("AMD RAPL MSRs start with family 17h (Zen); this CPU is family " + hex(uint64_t(cpu_.family)));

  // Topology: the first CPU of each package, and of each core (AMD core energy is per core).
  std::map<int, int> package_cpu;                 // package -> cpu
  std::map<std::pair<int, int>, int> core_cpu;    // (package, core) -> cpu
  for (const std::string& n : list_dir(opt_.cpu_sysfs)) {
    if (n.size() < 4 || n.compare(0, 3, "cpu") != 0 || n.find_first_not_of("0123456789", 3) != std::string::npos)
      continue;
    const int cpu = std::atoi(n.c_str() + 3);
    const std::string topo = opt_.cpu_sysfs + "/" + n + "/topology/";
    if (!path_exists(topo + "physical_package_id")) continue;  // offline CPU
    const int pkg = int(parse_u64(read_text_file(topo + "physical_package_id"), topo + "physical_package_id"));
    int core = cpu;
    if (path_exists(topo + "core_id")) core = int(parse_u64(read_text_file(topo + "core_id"), topo + "core_id"));
    if (!package_cpu.count(pkg) || cpu < package_cpu[pkg]) package_cpu[pkg] = cpu;
    auto key = std::make_pair(pkg, core);
    if (!core_cpu.count(key) || cpu < core_cpu[key]) core_cpu[key] = cpu;
  }
  if (package_cpu.empty()) {
    package_cpu[0] = 0;
    core_cpu[{0, 0}] = 0;
    notes_.push_back("no topology under " + opt_.cpu_sysfs + ": CPU 0 read as the only package");
  }

  const bool intel = cpu_.vendor == CpuVendor::intel;
  const int stride = opt_.register_stride;
  const uint32_t unit_reg = intel ? msr::kIntelPowerUnit : msr::kAmdPowerUnit;
  auto add = [&](int cpu, int pkg, uint32_t reg, const std::string& domain, double unit) {
    const int fd = fd_for(cpu);
    uint64_t v = 0;
    int err = 0;
    const std::string src = "MSR " + hex(reg) + " on CPU " + std::to_string(cpu);
    const bool ok = read_register(fd, reg, stride, &v, &err);
    if (!ok || (v & 0xFFFFFFFFu) == 0) {
      // As the kernel does: a register that cannot be read, or reads 0, is a domain this CPU does not count.
      if (pkg <= 0 && cpu == package_cpu.begin()->second)
        notes_.push_back(domain + " (" + src + ") not counted here: " + (ok ? "reads 0" : reg_error(err)));
      return;
    }
    Counter c;
    c.domain = domain;
    c.package = pkg;
    c.joules_per_count = unit;
    c.modulus = uint64_t(1) << 32;
    c.source = src;
    c.read = [fd, reg, stride, src] {
      uint64_t x = 0;
      int e = 0;
      if (!read_register(fd, reg, stride, &x, &e)) throw Error(src + ": read failed: " + reg_error(e));
      return x & 0xFFFFFFFFu;
    };
    counters_.push_back(std::move(c));
  };

  for (const auto& pc : package_cpu) {
    const int pkg = pc.first, cpu = pc.second;
    const int fd = fd_for(cpu);
    uint64_t unit_raw = 0;
    int err = 0;
    if (!read_register(fd, unit_reg, stride, &unit_raw, &err))
      throw Error("reading the RAPL power-unit register " + hex(unit_reg) + " on CPU " + std::to_string(cpu) +
                  " failed (" + reg_error(err) + "): this CPU or its hypervisor does not expose RAPL MSRs");
    const double unit = rapl_energy_unit_joules(unit_raw);
    if (pkg == package_cpu.begin()->first) {
      char b[160];
      std::snprintf(b, sizeof b, "power-unit register %s = %s: energy unit 2^-%d J = %.4g uJ", hex(unit_reg).c_str(),
                    hex(unit_raw).c_str(), int((unit_raw >> 8) & 0x1F), unit * 1e6);
      notes_.push_back(b);
    }
    if (intel) {
      add(cpu, pkg, msr::kIntelPkgEnergy, "package", unit);
      add(cpu, pkg, msr::kIntelPp0Energy, "core", unit);
      add(cpu, pkg, msr::kIntelPp1Energy, "gpu", unit);
      const bool fixed = intel_dram_fixed_unit(cpu_.family, cpu_.model);
      if (fixed && pkg == package_cpu.begin()->first)
        notes_.push_back("DRAM counted in the fixed 2^-16 J unit of this Xeon model (the kernel uses 15.3 uJ)");
      add(cpu, pkg, msr::kIntelDramEnergy, "dram", fixed ? std::ldexp(1.0, -16) : unit);
      if (pkg == package_cpu.begin()->first)
        add(cpu, -1, msr::kIntelPsysEnergy, "psys", intel_psys_joule_unit(cpu_.family, cpu_.model) ? 1.0 : unit);
    } else {
      add(cpu, pkg, msr::kAmdPkgEnergy, "package", unit);
      for (const auto& cc : core_cpu)
        if (cc.first.first == pkg) add(cc.second, pkg, msr::kAmdCoreEnergy, "core", unit);
    }
  }
  set_domains_from_counters();
}

}  // namespace tb::energy
