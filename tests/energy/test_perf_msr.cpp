// The perf power PMU's sysfs description and its counting path (recorded counts through an injected
// opener: scales, packages, psys once, 64-bit counts), and RAPL MSR decoding (Intel and AMD units, 32-bit wraps) on
// fake register files.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <algorithm>
#include <limits>
#include <tuple>

#include "energy/msr.h"
#include "energy/perf_power.h"
#include "fake_tree.h"
#include "base/error.h"
#include "tests/error_of.h"

namespace {

using namespace tb::energy;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// ---- perf ----

void perf_event(const tbtest::TempTree& t, const std::string& name, const std::string& ev,
                const std::string& scale = "2.3283064365386962890625e-10", const std::string& unit = "Joules") {
  t.write("power/events/" + name, ev + "\n");
  t.write("power/events/" + name + ".scale", scale + "\n");
  t.write("power/events/" + name + ".unit", unit + "\n");
}

void perf_tree(const tbtest::TempTree& t) {
  t.write("power/type", "9999\n");  // not a PMU type this kernel knows
  t.write("power/cpumask", "0,36\n");
  perf_event(t, "energy-pkg", "event=0x02");
  perf_event(t, "energy-cores", "event=0x01");
  perf_event(t, "energy-ram", "event=0x03");
  perf_event(t, "energy-psys", "event=0x05");
}

TEST(PerfPower, CpuLists) {
  EXPECT_EQ(parse_cpu_list("0\n", "m"), (std::vector<int>{0}));
  EXPECT_EQ(parse_cpu_list("0,36", "m"), (std::vector<int>{0, 36}));
  EXPECT_EQ(parse_cpu_list("0-3,8", "m"), (std::vector<int>{0, 1, 2, 3, 8}));
  for (const char* bad : {"", "a", "3-1", "0,", "-1", "0;1"}) {
    EXPECT_TRUE(tbtest::throws_error([&] { parse_cpu_list(bad, "/sys/x/cpumask"); },
                                     {"/sys/x/cpumask: expected a CPU list"})) << "accepted \"" << bad << "\"";
  }
}

TEST(PerfPower, EventConfig) {
  EXPECT_EQ(parse_perf_event_config("event=0x02\n", "f"), 2u);
  EXPECT_EQ(parse_perf_event_config("event=5", "f"), 5u);
  EXPECT_THROW(parse_perf_event_config("event=0x02,umask=0x1", "f"), tb::Error);
  EXPECT_THROW(parse_perf_event_config("config=1", "f"), tb::Error);
  EXPECT_THROW(parse_perf_event_config("event=zz", "f"), tb::Error);
}

TEST(PerfPower, ReadsTheSysfsDescription) {
  tbtest::TempTree t;
  perf_tree(t);
  t.write("power/events/energy-pkg.alias", "junk\n");  // files with a suffix are not events
  const PerfPowerPmu p = read_perf_power_pmu(t.path("power"));
  EXPECT_EQ(p.type, 9999);
  EXPECT_EQ(p.cpus, (std::vector<int>{0, 36}));
  ASSERT_EQ(p.events.size(), 4u);  // sorted by file name: cores, pkg, psys, ram
  EXPECT_EQ(p.events[0].name, "energy-cores");
  EXPECT_EQ(p.events[0].domain, "core");
  EXPECT_EQ(p.events[0].config, 1u);
  EXPECT_EQ(p.events[1].domain, "package");
  EXPECT_EQ(p.events[1].config, 2u);
  EXPECT_EQ(p.events[1].scale, std::ldexp(1.0, -32));
  EXPECT_EQ(p.events[2].domain, "psys");
  EXPECT_EQ(p.events[3].domain, "dram");
  EXPECT_EQ(p.events[3].config, 3u);
}

TEST(PerfPower, MalformedDescriptionsNameTheFile) {
  {
    tbtest::TempTree t;
    perf_tree(t);
    perf_event(t, "energy-pkg", "event=0x02", "2.3283064365386962890625e-10", "Watts");
    EXPECT_EQ(tbtest::error_of([&] { read_perf_power_pmu(t.path("power")); }),
              t.path("power/events/energy-pkg.unit") + ": expected \"Joules\", got \"Watts\"");
  }
  {
    tbtest::TempTree t;
    perf_tree(t);
    perf_event(t, "energy-ram", "event=0x03", "abc");
    EXPECT_TRUE(tbtest::throws_error([&] { read_perf_power_pmu(t.path("power")); },
                                     {t.path("power/events/energy-ram.scale") + ": expected a positive number"}));
  }
  {
    tbtest::TempTree t;
    perf_tree(t);
    std::filesystem::remove(t.path("power/events/energy-pkg.scale"));
    EXPECT_EQ(tbtest::error_of([&] { read_perf_power_pmu(t.path("power")); }),
              "cannot read " + t.path("power/events/energy-pkg.scale") + ": No such file or directory");
  }
  {
    tbtest::TempTree t;
    perf_tree(t);
    t.write("power/type", "power\n");
    EXPECT_THROW(read_perf_power_pmu(t.path("power")), tb::Error);
  }
}

TEST(PerfPower, MeterSaysWhyItCannotOpenTheEvents) {
  tbtest::TempTree t;
  perf_tree(t);
  t.write("paranoid", "2\n");
  PerfPowerMeter m(t.path("power"), t.path("paranoid"));
  ASSERT_FALSE(m.available()) << "type 9999 is not a PMU of this kernel";
  const std::string& w = m.why_not();
  EXPECT_TRUE(contains(w, "perf_event_open(power/energy-cores/, type 9999, config 1, cpu 0)")) << w;
  // Unprivileged, the kernel refuses system-wide events first (paranoid 2): the message gives the fix.
  if (contains(w, "Permission denied") || contains(w, "not permitted")) {
    EXPECT_TRUE(contains(w, t.path("paranoid") + " is 2")) << w;
    EXPECT_TRUE(contains(w, "CAP_PERFMON")) << w;
  } else {
    EXPECT_TRUE(contains(w, "the kernel does not accept this event here")) << w;
  }
  PerfPowerMeter none("/nonexistent/power", t.path("paranoid"));
  EXPECT_TRUE(contains(none.why_not(), "/nonexistent/power does not exist")) << none.why_not();
}

// Recorded raw counts, served in order by an injected opener (the last one repeats); records what was opened.
struct RecordedCounts {
  using Key = std::tuple<int, uint64_t, int>;  // perf type, config, cpu
  std::map<Key, std::vector<uint64_t>> values;
  std::map<Key, size_t> next;
  std::vector<Key> opened;

  PerfCounterOpener opener() {
    return [this](int type, uint64_t config, int cpu) -> std::function<uint64_t()> {
      const Key k(type, config, cpu);
      opened.push_back(k);
      if (!values.count(k)) throw tb::Error("no recorded counts");
      return [this, k] {
        const std::vector<uint64_t>& v = values.at(k);
        size_t& i = next[k];
        return v[std::min(i++, v.size() - 1)];
      };
    };
  }
};

constexpr uint64_t kJ32 = uint64_t(1) << 32;  // one joule in counts of 2^-32 J
constexpr uint64_t kJ16 = uint64_t(1) << 16;  // one joule in counts of 2^-16 J

// Reads in order: probe, start(), read(), read().
void record_tree(tbtest::TempTree& t, RecordedCounts& r) {
  perf_tree(t);  // type 9999, cpumask 0,36: cores 0x01, pkg 0x02, psys 0x05, ram 0x03
  perf_event(t, "energy-ram", "event=0x03", "1.52587890625e-05");  // 2^-16 J per count (a fixed DRAM unit)
  const uint64_t near_top = ~uint64_t(0) - 8 * kJ32;              // a 64-bit count near 2^64
  r.values[{9999, 2, 0}] = {1000, 5000, 5000 + 3 * kJ32, 5000 + 4 * kJ32};
  r.values[{9999, 2, 36}] = {near_top, near_top, near_top + 3 * kJ32 / 2, near_top + 5 * kJ32 / 2};
  r.values[{9999, 1, 0}] = {7, 7, 7 + 2 * kJ32, 7 + 2 * kJ32};
  r.values[{9999, 1, 36}] = {0, 0, kJ32 / 2, kJ32 / 2};
  r.values[{9999, 3, 0}] = {10, 10, 10 + 4 * kJ16, 10 + 4 * kJ16};
  r.values[{9999, 3, 36}] = {0, 1, 1 + kJ16, 1 + kJ16};
  r.values[{9999, 5, 0}] = {123, 456, 456 + 10 * kJ32, 456 + 10 * kJ32};
}

TEST(PerfPower, RecordedCountsBecomeJoulesPerPackage) {
  tbtest::TempTree t;
  RecordedCounts r;
  record_tree(t, r);
  t.write("paranoid", "0\n");
  PerfPowerMeter m(t.path("power"), t.path("paranoid"), r.opener());
  ASSERT_TRUE(m.available()) << m.why_not();
  // One counter per event and package CPU; psys (platform-wide) on the first CPU only.
  using K = RecordedCounts::Key;
  EXPECT_EQ(r.opened, (std::vector<K>{{9999, 1, 0}, {9999, 1, 36}, {9999, 2, 0}, {9999, 2, 36}, {9999, 5, 0},
                                      {9999, 3, 0}, {9999, 3, 36}}));
  EXPECT_EQ(m.domains(), (std::vector<std::string>{"package", "core", "dram", "psys"}));
  EXPECT_EQ(m.primary_domain(), "package");
  for (const Counter& c : m.counters()) EXPECT_EQ(c.modulus, 0u) << c.source << ": 64-bit counts do not wrap";
  EXPECT_EQ(m.max_poll_interval_s(), std::numeric_limits<double>::infinity());

  m.start();
  const Reading a = m.read();
  // Counts times each event's own .scale: exact here (powers of two).
  EXPECT_EQ(a.at("package"), 4.5);
  EXPECT_EQ(a.per_package.at(0).at("package"), 3.0);
  EXPECT_EQ(a.per_package.at(1).at("package"), 1.5) << "a count near 2^64 is differenced exactly";
  EXPECT_EQ(a.at("core"), 2.5);
  EXPECT_EQ(a.at("dram"), 5.0) << "energy-ram.scale (2^-16 J) is used, not the package's";
  EXPECT_EQ(a.per_package.at(0).at("dram"), 4.0);
  EXPECT_EQ(a.per_package.at(1).at("dram"), 1.0);
  EXPECT_EQ(a.at("psys"), 10.0);
  EXPECT_EQ(a.per_package.at(0).count("psys"), 0u) << "psys is platform-wide, in no package";
  // Readings accumulate since start().
  const Reading b = m.read();
  EXPECT_EQ(b.at("package"), 6.5);
  EXPECT_EQ(b.per_package.at(1).at("package"), 2.5);
  EXPECT_EQ(difference(b, a).at("package"), 2.0);
  EXPECT_EQ(b.at("core"), 2.5);
}

TEST(PerfPower, CountGoingBackwardsOrFailingToOpenIsNamed) {
  {
    tbtest::TempTree t;
    RecordedCounts r;
    record_tree(t, r);
    r.values[{9999, 2, 36}] = {5 * kJ32, 5 * kJ32, 4 * kJ32};  // a 64-bit count cannot wrap: it went back
    PerfPowerMeter m(t.path("power"), t.path("paranoid"), r.opener());
    ASSERT_TRUE(m.available()) << m.why_not();
    m.start();
    EXPECT_TRUE(tbtest::throws_error([&] { m.read(); },
                                     {"perf_event_open(power/energy-pkg/, type 9999, config 2, cpu 36)", "went backwards"}))
        << "a count going backwards was accepted";
  }
  {
    tbtest::TempTree t;
    RecordedCounts r;
    record_tree(t, r);
    r.values.erase({9999, 3, 36});
    PerfPowerMeter m(t.path("power"), t.path("paranoid"), r.opener());
    EXPECT_FALSE(m.available());
    EXPECT_EQ(m.why_not(), "perf_event_open(power/energy-ram/, type 9999, config 3, cpu 36): no recorded counts");
    EXPECT_TRUE(m.counters().empty());
  }
}

// ---- MSR ----

TEST(Msr, EnergyUnitDecoding) {
  // Recorded MSR_RAPL_POWER_UNIT values: Intel Skylake client 0x000A0E03 (ESU 14), AMD Zen 0x000A1003 (ESU 16).
  EXPECT_EQ(rapl_energy_unit_joules(0x000A0E03), std::ldexp(1.0, -14));
  EXPECT_NEAR(rapl_energy_unit_joules(0x000A0E03) * 1e6, 61.03515625, 1e-12);
  EXPECT_EQ(rapl_energy_unit_joules(0x000A1003), std::ldexp(1.0, -16));
  EXPECT_NEAR(rapl_energy_unit_joules(0x000A1003) * 1e6, 15.2587890625, 1e-12);
  // Only bits 12:8 count: the power (3:0) and time (19:16) units and the high bits do not change it.
  EXPECT_EQ(rapl_energy_unit_joules(0xFFFFFFFFFFFFEEFFull), std::ldexp(1.0, -14));
  EXPECT_EQ(rapl_energy_unit_joules(0x00000000), 1.0);
}

TEST(Msr, ThirtyTwoBitWrap) {
  EXPECT_EQ(rapl_status_delta(5, 10), 5u);
  EXPECT_EQ(rapl_status_delta(0xFFFFFF00u, 0x100u), 0x200u);
  EXPECT_EQ(rapl_status_delta(0xFFFFFFFFu, 0), 1u);
  EXPECT_EQ(rapl_status_delta(0xABCD00000005ull, 0x1234000000000007ull), 2u);  // bits 63:32 are reserved
}

TEST(Msr, ModelTables) {
  EXPECT_TRUE(intel_dram_fixed_unit(6, 0x55));   // Skylake-X
  EXPECT_TRUE(intel_dram_fixed_unit(6, 0x3F));   // Haswell-X
  EXPECT_FALSE(intel_dram_fixed_unit(6, 0x9E));  // Kaby Lake client
  EXPECT_FALSE(intel_dram_fixed_unit(0x19, 0x55));
  EXPECT_TRUE(intel_psys_joule_unit(6, 0x8F));
  EXPECT_FALSE(intel_psys_joule_unit(6, 0x55));
}

TEST(Msr, Cpuinfo) {
  const CpuIdent i = parse_cpuinfo("processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n"
                                   "model name\t: Intel(R) Xeon(R)\n\nprocessor\t: 1\nvendor_id\t: Other\n");
  EXPECT_EQ(i.vendor, CpuVendor::intel);
  EXPECT_EQ(i.family, 6);
  EXPECT_EQ(i.model, 85);
  const CpuIdent a = parse_cpuinfo("vendor_id : AuthenticAMD\ncpu family : 25\nmodel : 1\n");
  EXPECT_EQ(a.vendor, CpuVendor::amd);
  EXPECT_EQ(a.family, 25);
  EXPECT_EQ(parse_cpuinfo("vendor_id : HygonGenuine\n").vendor, CpuVendor::amd);
  EXPECT_EQ(parse_cpuinfo("CPU implementer : 0x41\n").vendor, CpuVendor::unknown);
}

void topology(const tbtest::TempTree& t, int cpu, int pkg, int core) {
  const std::string d = "sys/cpu" + std::to_string(cpu) + "/topology/";
  t.write(d + "physical_package_id", std::to_string(pkg) + "\n");
  t.write(d + "core_id", std::to_string(core) + "\n");
}

MsrOptions msr_options(const tbtest::TempTree& t) {
  MsrOptions o;
  o.dev_dir = t.path("dev");
  o.cpu_sysfs = t.path("sys");
  o.cpuinfo = t.path("cpuinfo");
  o.register_stride = 8;
  return o;
}

TEST(Msr, IntelTwoPackagesWithFixedDramUnitAndWrap) {
  tbtest::TempTree t;
  t.write("cpuinfo", "vendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n");  // Skylake-X
  topology(t, 0, 0, 0);
  topology(t, 1, 0, 1);
  topology(t, 2, 1, 0);
  topology(t, 3, 1, 1);
  t.mkdir("sys/cpufreq");  // not a CPU
  for (int cpu : {0, 2}) {
    const std::string f = "dev/" + std::to_string(cpu) + "/msr";
    t.write_register(f, msr::kIntelPowerUnit, 0x000A0E03);  // 2^-14 J
    t.write_register(f, msr::kIntelPkgEnergy, cpu == 0 ? 1000 : 0xFFFFF000u);
    t.write_register(f, msr::kIntelDramEnergy, 500);
    t.write_register(f, msr::kIntelPp0Energy, 0);          // reads 0: not counted, as the kernel does
    t.write_register(f, msr::kIntelPp1Energy, 0);
    t.write_register(f, msr::kIntelPsysEnergy, cpu == 0 ? 7 : 0);
  }
  MsrMeter m(msr_options(t));
  ASSERT_TRUE(m.available()) << m.why_not();
  EXPECT_EQ(m.domains(), (std::vector<std::string>{"package", "dram", "psys"}));
  EXPECT_EQ(m.counters().size(), 5u);  // pkg x2, dram x2, psys once
  EXPECT_TRUE(std::count(m.notes().begin(), m.notes().end(),
                         "DRAM counted in the fixed 2^-16 J unit of this Xeon model (the kernel uses 15.3 uJ)"));
  EXPECT_NEAR(m.max_poll_interval_s(), std::ldexp(1.0, 32 - 16) / 1000.0, 1e-9);  // the DRAM counter wraps first

  m.start();
  t.write_register("dev/0/msr", msr::kIntelPkgEnergy, 1000 + 16384);   // +1 J
  t.write_register("dev/2/msr", msr::kIntelPkgEnergy, 0x00001000u);    // wrapped: +0x2000 counts = 0.5 J
  t.write_register("dev/0/msr", msr::kIntelDramEnergy, 500 + 65536);   // +1 J in 2^-16 J units
  t.write_register("dev/2/msr", msr::kIntelDramEnergy, 500 + 32768);   // +0.5 J
  t.write_register("dev/0/msr", msr::kIntelPsysEnergy, 7 + 3 * 16384); // +3 J, platform-wide
  const Reading r = m.read();
  EXPECT_DOUBLE_EQ(r.per_package.at(0).at("package"), 1.0);
  EXPECT_DOUBLE_EQ(r.per_package.at(1).at("package"), 0.5);
  EXPECT_DOUBLE_EQ(r.at("package"), 1.5);
  EXPECT_DOUBLE_EQ(r.at("dram"), 1.5);
  EXPECT_DOUBLE_EQ(r.at("psys"), 3.0);
  EXPECT_EQ(r.per_package.at(0).count("psys"), 0u);
}

TEST(Msr, AmdPackageAndPerCoreCountersWithoutSmtDoubleCounting) {
  tbtest::TempTree t;
  t.write("cpuinfo", "vendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\n");
  topology(t, 0, 0, 0);
  topology(t, 1, 0, 1);
  topology(t, 2, 0, 0);  // SMT sibling of CPU 0
  topology(t, 3, 0, 1);  // SMT sibling of CPU 1
  for (int cpu : {0, 1, 2, 3}) {
    const std::string f = "dev/" + std::to_string(cpu) + "/msr";
    t.write_register(f, msr::kAmdPowerUnit, 0x000A1003);  // 2^-16 J
    t.write_register(f, msr::kAmdCoreEnergy, 100);
    t.write_register(f, msr::kAmdPkgEnergy, 1000);
  }
  MsrMeter m(msr_options(t));
  ASSERT_TRUE(m.available()) << m.why_not();
  EXPECT_EQ(m.domains(), (std::vector<std::string>{"package", "core"}));
  EXPECT_EQ(m.counters().size(), 3u);  // package once, core on CPUs 0 and 1 only
  m.start();
  t.write_register("dev/0/msr", msr::kAmdPkgEnergy, 1000 + 4 * 65536);  // +4 J
  t.write_register("dev/0/msr", msr::kAmdCoreEnergy, 100 + 65536);      // +1 J
  t.write_register("dev/1/msr", msr::kAmdCoreEnergy, 100 + 2 * 65536);  // +2 J
  t.write_register("dev/2/msr", msr::kAmdCoreEnergy, 100 + 9 * 65536);  // a sibling: must not count
  const Reading r = m.read();
  EXPECT_DOUBLE_EQ(r.at("package"), 4.0);
  EXPECT_DOUBLE_EQ(r.at("core"), 3.0);
}

TEST(Msr, MissingDeviceAndUnsupportedCpusAreExplained) {
  {
    tbtest::TempTree t;
    t.write("cpuinfo", "vendor_id : AuthenticAMD\ncpu family : 25\nmodel : 1\n");
    topology(t, 0, 0, 0);
    t.write("dev/0/cpuid", "");  // like this VM: /dev/cpu/0 exists, msr not loaded
    MsrMeter m(msr_options(t));
    EXPECT_FALSE(m.available());
    EXPECT_EQ(m.why_not(), t.path("dev/0/msr") + " does not exist: load the msr driver (sudo modprobe msr), then run as "
                                                  "root (in a VM the hypervisor usually hides the RAPL registers even then)");
  }
  {
    tbtest::TempTree t;
    t.write("cpuinfo", "vendor_id : GenuineIntel\ncpu family : 6\nmodel : 158\n");
    topology(t, 0, 0, 0);
    t.write("dev/0/msr", "");  // the unit register reads nothing (a hypervisor that hides RAPL)
    MsrMeter m(msr_options(t));
    EXPECT_FALSE(m.available());
    EXPECT_TRUE(contains(m.why_not(), "reading the RAPL power-unit register 0x606 on CPU 0 failed")) << m.why_not();
    EXPECT_TRUE(contains(m.why_not(), "does not expose RAPL MSRs")) << m.why_not();
  }
  {
    tbtest::TempTree t;
    t.write("cpuinfo", "CPU implementer : 0x41\n");
    MsrMeter m(msr_options(t));
    EXPECT_EQ(m.why_not(), "RAPL MSRs are Intel and AMD only; " + t.path("cpuinfo") + " says vendor_id \"\"");
  }
  {
    tbtest::TempTree t;
    t.write("cpuinfo", "vendor_id : AuthenticAMD\ncpu family : 21\nmodel : 1\n");
    MsrMeter m(msr_options(t));
    EXPECT_TRUE(contains(m.why_not(), "family 17h")) << m.why_not();
  }
}

TEST(Msr, UnreadableDevice) {
  tbtest::TempTree t;
  t.write("cpuinfo", "vendor_id : GenuineIntel\ncpu family : 6\nmodel : 158\n");
  topology(t, 0, 0, 0);
  t.write_register("dev/0/msr", msr::kIntelPowerUnit, 0x000A0E03);
  t.chmod("dev/0/msr", 0000);
  if (t.readable("dev/0/msr"))
    GTEST_SKIP() << "running as root: chmod 000 does not stop reads, so the permission case cannot be staged here";
  MsrMeter m(msr_options(t));
  EXPECT_EQ(m.why_not(), "cannot read " + t.path("dev/0/msr") +
                             ": Permission denied. MSR devices need root (CAP_SYS_RAWIO and read access to the "
                             "device): run as root");
}

}  // namespace
