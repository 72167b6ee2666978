// powermetrics: the plist parser on hand-written samples of the documented output (tests/energy/data/),
// malformed and truncated output, and the meter driving a stand-in process.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "energy/powermetrics.h"
#include "base/error.h"
#include "tests/error_of.h"

#ifndef TB_ENERGY_TESTDATA
#error "TB_ENERGY_TESTDATA must point at tests/energy/data"
#endif

namespace {

using namespace tb::energy;

std::string data(const std::string& name) {
  std::ifstream f(std::string(TB_ENERGY_TESTDATA) + "/" + name, std::ios::binary);
  if (!f) throw std::runtime_error("missing test data " + name);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}
std::string path(const std::string& name) { return std::string(TB_ENERGY_TESTDATA) + "/" + name; }
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

const char* kDoc =
    "<?xml version=\"1.0\"?><plist version=\"1.0\"><dict><key>elapsed_ns</key><integer>500000000</integer>"
    "<key>processor</key><dict>%s</dict></dict></plist>";
std::string doc(const std::string& processor) {
  char b[2048];
  std::snprintf(b, sizeof b, kDoc, processor.c_str());
  return b;
}

TEST(Powermetrics, EnergyKeysArePreferred) {
  const auto s = parse_powermetrics_output(data("powermetrics_m2_energy.plist"));
  ASSERT_EQ(s.size(), 3u);
  EXPECT_DOUBLE_EQ(s[0].elapsed_s, 1.002345678);
  EXPECT_DOUBLE_EQ(s[0].joules.at("cpu"), 0.512);  // cpu_energy 512 mJ, not cpu_power x elapsed
  EXPECT_DOUBLE_EQ(s[0].joules.at("gpu"), 0.031);
  EXPECT_DOUBLE_EQ(s[0].joules.at("ane"), 0.0);
  EXPECT_DOUBLE_EQ(s[0].joules.at("combined"), 0.543);
  EXPECT_EQ(s[0].keys, (std::vector<std::string>{"cpu_energy", "gpu_energy", "ane_energy",
                                                  "combined=cpu_energy+gpu_energy+ane_energy"}));
  EXPECT_DOUBLE_EQ(s[1].joules.at("combined"), 2.048 + 0.120 + 0.015);
  double cpu = 0, combined = 0;
  for (const auto& x : s) {
    cpu += x.joules.at("cpu");
    combined += x.joules.at("combined");
  }
  EXPECT_NEAR(cpu, 3.560, 1e-12);
  EXPECT_NEAR(combined, 3.726, 1e-12);
}

TEST(Powermetrics, PowerIsIntegratedOverElapsedNotTheRequestedInterval) {
  const auto s = parse_powermetrics_output(data("powermetrics_m1_power_only.plist"));
  ASSERT_EQ(s.size(), 2u);
  EXPECT_DOUBLE_EQ(s[0].joules.at("cpu"), 1.5 * 1.004235125);
  EXPECT_DOUBLE_EQ(s[0].joules.at("combined"), 1.7 * 1.004235125);  // combined_power, not 1.7 x 1.000 s
  EXPECT_DOUBLE_EQ(s[1].joules.at("ane"), 0.050 * 0.995);
  EXPECT_DOUBLE_EQ(s[1].joules.at("combined"), 1.0 * 0.995);
  EXPECT_EQ(s[1].keys, (std::vector<std::string>{"cpu_power*elapsed_ns", "gpu_power*elapsed_ns",
                                                  "ane_power*elapsed_ns", "combined_power*elapsed_ns"}));
}

TEST(Powermetrics, IntelMacPackage) {
  const auto s = parse_powermetrics_output(data("powermetrics_intel.plist"));
  ASSERT_EQ(s.size(), 2u);
  EXPECT_DOUBLE_EQ(s[0].joules.at("package"), 12.5);  // package_joules preferred over package_watts
  EXPECT_EQ(s[0].keys, (std::vector<std::string>{"package_joules"}));
  EXPECT_DOUBLE_EQ(s[1].joules.at("package"), 10.0 * 0.5);
  EXPECT_EQ(s[1].keys, (std::vector<std::string>{"package_watts*elapsed_ns"}));
  EXPECT_EQ(s[0].joules.count("cpu"), 0u);
}

TEST(Powermetrics, TruncatedOutput) {
  const std::string bytes = data("powermetrics_truncated.plist");
  EXPECT_TRUE(tbtest::throws_error([&] { parse_powermetrics_output(bytes); },
                                   {"powermetrics output truncated: sample 2 ends after"}))
      << "a cut-off sample must not pass silently";
  PowermetricsParser p;
  // Fed in small pieces, as a pipe delivers it.
  for (size_t i = 0; i < bytes.size(); i += 97) p.feed(bytes.data() + i, std::min<size_t>(97, bytes.size() - i));
  EXPECT_TRUE(p.finish(/*allow_truncated=*/true));
  const auto s = p.take();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_DOUBLE_EQ(s[1].joules.at("cpu"), 2.048);
}

TEST(Powermetrics, LastDocumentWithoutItsNulIsAccepted) {
  std::string bytes = data("powermetrics_intel.plist");
  ASSERT_EQ(bytes.back(), '\0');
  bytes.pop_back();
  EXPECT_EQ(parse_powermetrics_output(bytes).size(), 2u);
}

TEST(Powermetrics, MalformedSamplesSayWhichAndWhat) {
  auto error = [](const std::string& bytes) -> std::string {
    try {
      parse_powermetrics_output(bytes);
    } catch (const tb::Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_EQ(error(data("powermetrics_no_elapsed.plist")),
            "powermetrics sample 1: no elapsed_ns (the sample's real length), cannot turn power into energy");
  EXPECT_EQ(error(doc("<key>cpu_power</key><real>abc</real>")),
            "powermetrics sample 0: cpu_power = \"abc\" is not a number");
  EXPECT_EQ(error(doc("<key>cpu_energy</key><integer>-5</integer>")),
            "powermetrics sample 0: cpu_energy = -5 is negative");
  EXPECT_EQ(error(doc("<key>cpu_energy</key><string>12</string>")), "powermetrics sample 0: cpu_energy is not a number");
  EXPECT_EQ(error(doc("<key>freq_hz</key><real>1.0</real>")),
            "powermetrics sample 0: the processor dict has no power or energy key (cpu_energy, cpu_power, "
            "combined_power, package_joules, package_watts); it has: freq_hz");
  EXPECT_EQ(error("<plist version=\"1.0\"><dict><key>elapsed_ns</key><integer>1</integer></dict></plist>"),
            "powermetrics sample 0: no 'processor' dict (run powermetrics with --samplers cpu_power,gpu_power,ane_power)");
  EXPECT_TRUE(contains(error("<plist><dict><key>a</key><integer>1</integer></plist>"),
                       "powermetrics sample 0: not a valid plist: expected <key> or </dict> in <dict>"));
  EXPECT_TRUE(contains(error(std::string("<html></html>") + '\0'), "not a valid plist: expected <plist>, found <html>"));
  EXPECT_TRUE(contains(error("<html></html>"), "powermetrics output truncated: sample 0"));  // no </plist>
  EXPECT_TRUE(contains(error("<plist><dict><key>x</key><widget/></dict></plist>"), "unknown element <widget>"));
  EXPECT_TRUE(contains(error(std::string("<plist><dict/></plist>") + '\0' + "garbage</plist>"),
                       "powermetrics sample 0: no elapsed_ns"));
}

TEST(Powermetrics, NotAvailableOffMacOS) {
  PowermetricsMeter m;
#ifdef __APPLE__
  if (m.available()) GTEST_SKIP() << "running on macOS as root";
  EXPECT_FALSE(m.why_not().empty());
#else
  EXPECT_FALSE(m.available());
  EXPECT_EQ(m.why_not(), "macOS only (powermetrics is Apple's tool; this is not macOS)");
#endif
}

TEST(Powermetrics, MeterIntegratesTheStreamOfAStandInProcess) {
  PowermetricsOptions o;
  o.command = {"/bin/cat", path("powermetrics_m2_energy.plist")};
  o.check_platform = false;
  PowermetricsMeter m(o);
  ASSERT_TRUE(m.available()) << m.why_not();
  EXPECT_TRUE(m.deferred());
  m.start();
  // Stop once the stand-in has written everything: energy is attributed to the time it arrived.
  for (int i = 0; i < 500 && m.samples() < 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const Reading r = m.stop();
  EXPECT_EQ(m.samples(), 3);
  EXPECT_NEAR(r.at("cpu"), 3.560, 1e-12);
  EXPECT_NEAR(r.at("combined"), 3.726, 1e-12);
  EXPECT_EQ(m.primary_domain(), "combined");
  EXPECT_EQ(m.keys_used(), (std::set<std::string>{"ane_energy", "cpu_energy", "gpu_energy",
                                                   "combined=cpu_energy+gpu_energy+ane_energy"}));
}

TEST(Powermetrics, MeterReportsTheToolsOwnError) {
  PowermetricsOptions o;
  o.command = {"/bin/sh", "-c", "echo 'powermetrics must be invoked as the superuser' >&2; exit 1"};
  o.check_platform = false;
  PowermetricsMeter m(o);
  m.start();
  EXPECT_EQ(tbtest::error_of([&] { m.stop(); }),
            "/bin/sh exited without a sample (status 1): powermetrics must be invoked as the superuser");
}

TEST(Powermetrics, MeterStopsOnMalformedOutput) {
  PowermetricsOptions o;
  o.command = {"/bin/cat", path("powermetrics_no_elapsed.plist")};
  o.check_platform = false;
  PowermetricsMeter m(o);
  m.start();
  EXPECT_TRUE(tbtest::throws_error([&] { m.stop(); }, {"powermetrics sample 1: no elapsed_ns"}));
}

}  // namespace
