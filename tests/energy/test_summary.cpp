// What `harness energy` prints: every source with its reason, and the estimate.
#include <gtest/gtest.h>

#include "energy/summary.h"
#include "fake_tree.h"
#include "base/error.h"

namespace {

using namespace tb::energy;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Every source's files inside the tree (none of the machine's own), under the names the tests write.
SourcePaths paths_in(const tbtest::TempTree& t) {
  SourcePaths p;
  p.powercap_root = t.path("powercap");
  p.perf_pmu_dir = t.path("power");
  p.perf_paranoid = t.path("paranoid");
  p.msr_dev_dir = t.path("dev");
  p.cpu_sysfs = t.path("sys");
  p.cpuinfo = t.path("cpuinfo");
  return p;
}

TEST(Summary, NoSourceListsEveryOneAndWhy) {
  tbtest::TempTree t;
  t.write("cpuinfo", "vendor_id : AuthenticAMD\ncpu family : 26\nmodel : 2\n");
  t.write("dev/0/cpuid", "");
  t.write("sys/cpu0/topology/physical_package_id", "0\n");
  const SourcePaths p = paths_in(t);
  const std::string s = sources_summary(p);
  EXPECT_TRUE(contains(s, "| powercap: Linux powercap RAPL (" + p.powercap_root + ") | no | " + p.powercap_root +
                              " does not exist")) << s;
  EXPECT_TRUE(contains(s, "| perf: Linux perf power PMU (" + p.perf_pmu_dir + ") | no | " + p.perf_pmu_dir +
                              " does not exist")) << s;
  EXPECT_TRUE(contains(s, "| no | " + t.path("dev/0/msr") + " does not exist: load the msr driver (sudo modprobe msr)"))
      << s;
  EXPECT_TRUE(contains(s, "| powermetrics: ")) << s;
  EXPECT_TRUE(contains(s, "| estimate: ")) << s;
  EXPECT_TRUE(contains(s, "No energy counter is usable here: runs report the operation-count estimate only")) << s;
  EXPECT_TRUE(contains(s, "polled every 1 s by default")) << s;
}

TEST(Summary, AvailableSourceIsNamed) {
  tbtest::TempTree t;
  tbtest::rapl_zones(t, {{"powercap/intel-rapl:0", "package-0", 5}});
  const SourcePaths p = paths_in(t);
  const std::string s = sources_summary(p);
  EXPECT_TRUE(contains(s, "| powercap: Linux powercap RAPL (" + p.powercap_root + ") | yes | package |")) << s;
  EXPECT_TRUE(contains(s, "Runs measure with: powercap.")) << s;
}

TEST(Summary, EstimateFor2B4T) {
  const std::string s = estimate_summary("2B4T");
  EXPECT_EQ(s.rfind("ESTIMATE, not a measurement", 0), 0u) << s;
  EXPECT_TRUE(contains(s, "512-token sequence: 0.0277 J; [A3] Table 1 publishes 0.028 J: reproduced to the published "
                          "precision")) << s;
  EXPECT_TRUE(contains(s, "| prefill, one token (average over a 512-token prompt) |")) << s;
  EXPECT_TRUE(contains(s, "| decode, one token at position 512 |")) << s;
  EXPECT_TRUE(contains(s, "Left out: memory traffic")) << s;
  EstimateOptions o;
  o.ops = op_energies("45nm");
  EXPECT_TRUE(contains(estimate_summary("2B4T", o), "([A3]'s published value is for 512 tokens, 7nm")) << s;
  EXPECT_THROW(estimate_summary("no-such-model"), tb::Error);
  EXPECT_THROW(estimate_summary("2B4T", {}, 0), tb::Error);
}

}  // namespace
