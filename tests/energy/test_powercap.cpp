// Linux powercap RAPL on fake sysfs trees: packages, subzones, hex indices, psys, mmio, wraps, bad files.
#include <gtest/gtest.h>

#include <cerrno>
#include <functional>

#include "energy/powercap.h"
#include "fake_tree.h"
#include "base/error.h"
#include "tests/error_of.h"

namespace {

using tbtest::rapl_set;
using tbtest::rapl_zones;

using tb::energy::PowercapMeter;
using tb::energy::Reading;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(Powercap, OnePackageWithSubzones) {
  tbtest::TempTree t;
  t.mkdir("intel-rapl");  // the control-type directory, not a zone
  rapl_zones(t, {{"intel-rapl:0", "package-0", 1000000}, {"intel-rapl:0:0", "core", 500000},
                  {"intel-rapl:0:1", "uncore", 100000}, {"intel-rapl:0:2", "dram", 50000}});
  PowercapMeter m(t.root());
  ASSERT_TRUE(m.available()) << m.why_not();
  EXPECT_EQ(m.domains(), (std::vector<std::string>{"package", "core", "uncore", "dram"}));
  EXPECT_EQ(m.primary_domain(), "package");
  ASSERT_EQ(m.zones().size(), 4u);
  EXPECT_EQ(m.zones()[2].id, "intel-rapl:0:1");
  EXPECT_EQ(m.zones()[2].package, 0);
  EXPECT_EQ(m.zones()[2].max_energy_range_uj, 262143328850u);

  m.start();
  rapl_set(t, "intel-rapl:0", 1000000 + 3500000);  // +3.5 J
  rapl_set(t, "intel-rapl:0:0", 500000 + 2000000);  // +2 J
  rapl_set(t, "intel-rapl:0:1", 100000 + 250000);   // +0.25 J
  rapl_set(t, "intel-rapl:0:2", 50000 + 500000);    // +0.5 J
  const Reading r = m.read();
  EXPECT_DOUBLE_EQ(r.at("package"), 3.5);
  EXPECT_DOUBLE_EQ(r.at("core"), 2.0);
  EXPECT_DOUBLE_EQ(r.at("uncore"), 0.25);
  EXPECT_DOUBLE_EQ(r.at("dram"), 0.5);
  EXPECT_DOUBLE_EQ(r.per_package.at(0).at("core"), 2.0);
  EXPECT_EQ(r.per_package.size(), 1u);
  EXPECT_TRUE(tbtest::throws_error([&] { r.at("psys"); }, {"no domain 'psys'", "package"})) << "no psys domain here";
}

TEST(Powercap, TwoPackagesSummedAndSplit) {
  tbtest::TempTree t;
  rapl_zones(t, {{"intel-rapl:0", "package-0", 0}, {"intel-rapl:0:0", "dram", 0},
                  {"intel-rapl:1", "package-1", 7000000}, {"intel-rapl:1:0", "dram", 0}});
  PowercapMeter m(t.root());
  ASSERT_TRUE(m.available()) << m.why_not();
  m.start();
  rapl_set(t, "intel-rapl:0", 10000000);            // +10 J
  rapl_set(t, "intel-rapl:1", 7000000 + 20000000);  // +20 J
  rapl_set(t, "intel-rapl:0:0", 1000000);           // +1 J
  rapl_set(t, "intel-rapl:1:0", 3000000);           // +3 J
  const Reading r = m.read();
  EXPECT_DOUBLE_EQ(r.at("package"), 30.0);
  EXPECT_DOUBLE_EQ(r.at("dram"), 4.0);
  EXPECT_DOUBLE_EQ(r.per_package.at(0).at("package"), 10.0);
  EXPECT_DOUBLE_EQ(r.per_package.at(1).at("package"), 20.0);
  EXPECT_DOUBLE_EQ(r.per_package.at(1).at("dram"), 3.0);
}

TEST(Powercap, ZoneIndicesAreHex) {
  int p = -1, s = -1;
  EXPECT_TRUE(tb::energy::parse_powercap_zone_id("intel-rapl:a:1", "intel-rapl", &p, &s));
  EXPECT_EQ(p, 10);
  EXPECT_EQ(s, 1);
  EXPECT_TRUE(tb::energy::parse_powercap_zone_id("intel-rapl:1f", "intel-rapl", &p, &s));
  EXPECT_EQ(p, 31);
  EXPECT_EQ(s, -1);
  EXPECT_FALSE(tb::energy::parse_powercap_zone_id("intel-rapl", "intel-rapl", &p, &s));
  EXPECT_FALSE(tb::energy::parse_powercap_zone_id("intel-rapl:g", "intel-rapl", &p, &s));
  EXPECT_FALSE(tb::energy::parse_powercap_zone_id("intel-rapl:A", "intel-rapl", &p, &s));  // the kernel uses %x
  EXPECT_FALSE(tb::energy::parse_powercap_zone_id("intel-rapl:0:", "intel-rapl", &p, &s));
  EXPECT_FALSE(tb::energy::parse_powercap_zone_id("intel-rapl-mmio:0", "intel-rapl", &p, &s));

  // A 16-package host: intel-rapl:a is package 10, and sorts after intel-rapl:9.
  tbtest::TempTree t;
  for (int i = 0; i < 16; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "intel-rapl:%x", i);
    rapl_zones(t, {{id, "package-" + std::to_string(i), 0}});
  }
  PowercapMeter m(t.root());
  ASSERT_TRUE(m.available()) << m.why_not();
  ASSERT_EQ(m.zones().size(), 16u);
  EXPECT_EQ(m.zones()[10].id, "intel-rapl:a");
  EXPECT_EQ(m.zones()[10].package, 10);
  EXPECT_EQ(m.zones()[10].name, "package-10");
  EXPECT_TRUE(m.notes().empty()) << m.notes().front();
  m.start();
  rapl_set(t, "intel-rapl:a", 4000000);
  rapl_set(t, "intel-rapl:f", 1000000);
  const Reading r = m.read();
  EXPECT_DOUBLE_EQ(r.per_package.at(10).at("package"), 4.0);
  EXPECT_DOUBLE_EQ(r.per_package.at(15).at("package"), 1.0);
  EXPECT_DOUBLE_EQ(r.at("package"), 5.0);
}

TEST(Powercap, PsysIsNeverAddedToPackage) {
  tbtest::TempTree t;
  rapl_zones(t, {{"intel-rapl:0", "package-0", 0}, {"intel-rapl:0:0", "core", 0}, {"intel-rapl:1", "psys", 0}});
  PowercapMeter m(t.root());
  ASSERT_TRUE(m.available()) << m.why_not();
  EXPECT_EQ(m.domains(), (std::vector<std::string>{"package", "core", "psys"}));
  m.start();
  rapl_set(t, "intel-rapl:0", 10000000);
  rapl_set(t, "intel-rapl:0:0", 6000000);
  rapl_set(t, "intel-rapl:1", 40000000);
  const Reading r = m.read();
  EXPECT_DOUBLE_EQ(r.at("package"), 10.0);
  EXPECT_DOUBLE_EQ(r.at("psys"), 40.0);
  ASSERT_EQ(r.per_package.size(), 1u) << "psys is platform-wide, not a package";
  EXPECT_EQ(r.per_package.at(0).count("psys"), 0u);
}

TEST(Powercap, MmioZonesAreNotedAndNotCounted) {
  tbtest::TempTree t;
  rapl_zones(t, {{"intel-rapl:0", "package-0", 0}, {"intel-rapl-mmio:0", "package-0", 0}});
  PowercapMeter m(t.root());
  ASSERT_TRUE(m.available()) << m.why_not();
  ASSERT_EQ(m.notes().size(), 1u);
  EXPECT_EQ(m.notes()[0],
            "intel-rapl-mmio:0 (\"package-0\") is the MMIO interface to the same package counters; not read, not added");
  m.start();
  rapl_set(t, "intel-rapl:0", 2000000);
  rapl_set(t, "intel-rapl-mmio:0", 2000000);
  EXPECT_DOUBLE_EQ(m.read().at("package"), 2.0);

  tbtest::TempTree only;
  rapl_zones(only, {{"intel-rapl-mmio:0", "package-0", 0}});
  PowercapMeter m2(only.root());
  EXPECT_FALSE(m2.available());
  EXPECT_TRUE(contains(m2.why_not(), "only the intel-rapl-mmio interface is present")) << m2.why_not();
}

TEST(Powercap, WrapDuringTheRun) {
  tbtest::TempTree t;
  rapl_zones(t, {{"intel-rapl:0", "package-0", 900000, "1000000"}});  // wraps after 1 J
  PowercapMeter m(t.root());
  ASSERT_TRUE(m.available()) << m.why_not();
  // Poll often enough: 1 J of range at 1000 W lasts 1 ms.
  EXPECT_NEAR(m.max_poll_interval_s(), 1000001e-6 / 1000.0, 1e-15);
  m.start();
  rapl_set(t, "intel-rapl:0", 950000);
  m.sample();                        // +0.05 J
  rapl_set(t, "intel-rapl:0", 100000);    // wrapped: 950000 -> 1000000 (+1 uJ to 0) -> 100000
  m.sample();
  rapl_set(t, "intel-rapl:0", 300000);
  const Reading r = m.read();
  // 50000 + (1000001 - 950000) + 100000 + 200000 uJ
  EXPECT_NEAR(r.at("package"), 0.400001, 1e-12);
  // Two wraps in a row, with a poll between each.
  rapl_set(t, "intel-rapl:0", 200000);
  m.sample();  // +900001
  rapl_set(t, "intel-rapl:0", 100000);
  EXPECT_NEAR(m.read().at("package"), 0.400001 + 0.900001 + 0.900001, 1e-12);
}

TEST(Powercap, CounterDeltaRules) {
  using tb::energy::counter_delta;
  EXPECT_EQ(counter_delta(10, 25, 100, "x"), 15u);
  EXPECT_EQ(counter_delta(90, 5, 100, "x"), 15u);  // wrapped
  EXPECT_EQ(counter_delta(7, 7, 100, "x"), 0u);
  EXPECT_EQ(counter_delta(5, 1u << 30, 0, "x"), (1u << 30) - 5u);
  EXPECT_TRUE(tbtest::throws_error([&] { counter_delta(10, 5, 0, "power/energy-pkg"); },
                                   {"power/energy-pkg: 64-bit energy counter went backwards (10 -> 5)"}));
  EXPECT_THROW(counter_delta(10, 100, 100, "x"), tb::Error);
}

TEST(Powercap, UnreadableEnergyFileNamesTheFileAndTheFix) {
  tbtest::TempTree t;
  rapl_zones(t, {{"intel-rapl:0", "package-0", 0}});
  t.chmod("intel-rapl:0/energy_uj", 0000);
  if (t.readable("intel-rapl:0/energy_uj"))
    GTEST_SKIP() << "running as root (or with CAP_DAC_OVERRIDE): chmod 000 does not stop reads, so the permission "
                    "case cannot be staged here; the message itself is checked in PermissionMessage";
  PowercapMeter m(t.root());
  EXPECT_FALSE(m.available());
  const std::string& w = m.why_not();
  EXPECT_TRUE(contains(w, "cannot read " + t.path("intel-rapl:0/energy_uj") + ": Permission denied")) << w;
  EXPECT_TRUE(contains(w, "run as root")) << w;
  EXPECT_TRUE(contains(w, "udev rule")) << w;
  EXPECT_THROW(m.start(), tb::Error);
}

TEST(Powercap, PermissionMessage) {
  const std::string m = tb::energy::describe_errno("/sys/class/powercap/intel-rapl:0/energy_uj", EACCES,
                                                   tb::energy::powercap_permission_fix());
  EXPECT_EQ(m.rfind("cannot read /sys/class/powercap/intel-rapl:0/energy_uj: Permission denied. Since Linux 5.10", 0), 0u)
      << m;
  EXPECT_TRUE(contains(m, "CVE-2020-8694")) << m;
  EXPECT_TRUE(contains(m, "run as root")) << m;
  EXPECT_TRUE(contains(m, "/etc/udev/rules.d/")) << m;
  // Other errors do not get the permission advice.
  EXPECT_EQ(tb::energy::describe_errno("/x", ENOENT, "FIX"), "cannot read /x: No such file or directory");
}

TEST(Powercap, MalformedTreesAreClearErrors) {
  auto why = [](const std::function<void(const tbtest::TempTree&)>& fill) {
    tbtest::TempTree t;
    fill(t);
    PowercapMeter m(t.root());
    EXPECT_FALSE(m.available());
    return std::make_pair(m.why_not(), t.root());
  };
  {
    auto [w, root] = why([](const tbtest::TempTree& t) { rapl_zones(t, {{"intel-rapl:0", "package-0", 0}}); t.write("intel-rapl:0/energy_uj", "12abc\n"); });
    EXPECT_EQ(w, root + "/intel-rapl:0/energy_uj: expected an unsigned decimal integer, got \"12abc\" (not a digit)");
  }
  {
    auto [w, root] = why([](const tbtest::TempTree& t) { rapl_zones(t, {{"intel-rapl:0", "package-0", 0}}); t.write("intel-rapl:0/energy_uj", ""); });
    EXPECT_EQ(w, root + "/intel-rapl:0/energy_uj: expected an unsigned decimal integer, got \"\" (empty)");
  }
  {
    auto [w, root] = why([](const tbtest::TempTree& t) { rapl_zones(t, {{"intel-rapl:0", "package-0", 0, "0"}}); });
    EXPECT_EQ(w, root + "/intel-rapl:0/max_energy_range_uj is 0: a counter cannot wrap at 0; the powercap tree is malformed");
  }
  {
    auto [w, root] = why([](const tbtest::TempTree& t) { rapl_zones(t, {{"intel-rapl:0", "package-0", 5000, "1000"}}); });
    EXPECT_EQ(w, root + "/intel-rapl:0/energy_uj reads 5000, above max_energy_range_uj 1000; the powercap tree is malformed");
  }
  {
    auto [w, root] = why([](const tbtest::TempTree& t) { rapl_zones(t, {{"intel-rapl:0", "package-0", 0, "99999999999999999999999"}}); });
    EXPECT_TRUE(contains(w, "max_energy_range_uj: expected an unsigned decimal integer")) << w;
    EXPECT_TRUE(contains(w, "does not fit in 64 bits")) << w;
  }
  {
    auto [w, root] = why([](const tbtest::TempTree& t) { rapl_zones(t, {{"intel-rapl:0", "", 0}}); });
    EXPECT_EQ(w, root + "/intel-rapl:0/name is empty; the powercap tree is malformed");
  }
  {
    auto [w, root] = why([](const tbtest::TempTree& t) {
      t.write("intel-rapl:0/name", "package-0\n");
      t.write("intel-rapl:0/max_energy_range_uj", "1000\n");
    });
    EXPECT_EQ(w, "cannot read " + root + "/intel-rapl:0/energy_uj: No such file or directory");
  }
  {
    auto [w, root] = why([](const tbtest::TempTree& t) { t.mkdir("intel-rapl"); });
    EXPECT_TRUE(contains(w, "no intel-rapl:* zones under " + root)) << w;
    EXPECT_TRUE(contains(w, "modprobe intel_rapl_msr")) << w;
  }
  PowercapMeter missing("/nonexistent/powercap");
  EXPECT_FALSE(missing.available());
  EXPECT_TRUE(contains(missing.why_not(), "/nonexistent/powercap does not exist")) << missing.why_not();
}

TEST(Powercap, ValueTurningBadMidRunThrowsNamingTheFile) {
  tbtest::TempTree t;
  rapl_zones(t, {{"intel-rapl:0", "package-0", 0}});
  PowercapMeter m(t.root());
  ASSERT_TRUE(m.available()) << m.why_not();
  m.start();
  t.write("intel-rapl:0/energy_uj", "garbage\n");
  EXPECT_EQ(tbtest::error_of([&] { m.read(); }),
            t.path("intel-rapl:0/energy_uj") + ": expected an unsigned decimal integer, got \"garbage\" (not a digit)")
      << "a malformed value must not read as zero";
}

}  // namespace
