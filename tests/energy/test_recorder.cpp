// The sampling thread, the idle baseline and the per-phase report.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <thread>

#include "energy/estimate.h"
#include "energy/powercap.h"
#include "energy/recorder.h"
#include "fake_tree.h"
#include "base/error.h"
#include "model/config.h"
#include "tests/error_of.h"

namespace {

using tbtest::rapl_set;
using tbtest::rapl_zones;

using namespace tb::energy;
using namespace std::chrono_literals;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A meter whose counter grows at a steady 10 W of wall time, plus 0.05 J per token of work it is told about.
class SteadyMeter : public Meter {
 public:
  SteadyMeter() {
    domains_ = {"package"};
    primary_ = "package";
  }
  std::string name() const override { return "steady"; }
  std::string title() const override { return "10 W plus 0.05 J per token"; }
  void start() override {
    t0_ = Clock::now();
    work_ = 0;
  }
  Reading read() override {
    Reading r;
    r.seconds = std::chrono::duration<double>(Clock::now() - t0_).count();
    r.joules["package"] = 10.0 * r.seconds + work_;
    return r;
  }
  void add_work(const Work& w) override { work_ += 0.05 * double(w.tokens); }

 private:
  Clock::time_point t0_;
  double work_ = 0;
};

TEST(Recorder, DefaultIntervalCannotMissAWrap) {
  // The smallest wrap range in practice: 2^32 counts of 2^-16 J.
  const double worst_wrap_s = std::ldexp(1.0, 16) / kMaxPlausibleWatts;
  EXPECT_NEAR(worst_wrap_s, 65.536, 1e-9);
  EXPECT_LE(std::chrono::duration<double>(kDefaultSampleInterval).count() * 10, worst_wrap_s);
}

TEST(Recorder, PhasesFromAFakePowercapTree) {
  tbtest::TempTree t;
  rapl_zones(t, {{"intel-rapl:0", "package-0", 0}, {"intel-rapl:0:0", "dram", 0}});
  PowercapMeter m(t.root());
  ASSERT_TRUE(m.available()) << m.why_not();
  RecorderOptions o;
  o.interval = 5ms;
  EnergyRecorder rec(m, o);
  rec.start();
  rapl_set(t, "intel-rapl:0", 1000000);  // 1 J before prefill: in the run, in no phase
  rec.begin(Phase::prefill);
  rapl_set(t, "intel-rapl:0", 1000000 + 12000000);  // prefill: 12 J package, 2 J dram
  rapl_set(t, "intel-rapl:0:0", 2000000);
  std::this_thread::sleep_for(30ms);
  rec.end(Phase::prefill, 128, 0);
  rec.begin(Phase::decode);
  rapl_set(t, "intel-rapl:0", 13000000 + 3200000);  // decode: 3.2 J over 16 tokens
  std::this_thread::sleep_for(30ms);
  rec.end(Phase::decode, 16, 128);
  const EnergyReport r = rec.stop();
  EXPECT_EQ(r.source, "powercap");
  EXPECT_FALSE(r.estimate);
  EXPECT_EQ(r.domain, "package");
  EXPECT_EQ(r.prefill.tokens, 128);
  EXPECT_DOUBLE_EQ(r.prefill.joules.at("package"), 12.0);
  EXPECT_DOUBLE_EQ(r.prefill.joules.at("dram"), 2.0);
  EXPECT_DOUBLE_EQ(r.joules_per_token(Phase::prefill), 12.0 / 128);
  EXPECT_DOUBLE_EQ(r.joules_per_token(Phase::decode), 3.2 / 16);
  EXPECT_DOUBLE_EQ(r.joules_per_token(Phase::decode, "dram"), 0.0);
  EXPECT_DOUBLE_EQ(r.run.joules.at("package"), 16.2);
  EXPECT_EQ(r.run.tokens, 144);
  EXPECT_NEAR(r.average_watts(Phase::decode), 3.2 / r.decode.seconds, 1e-9);
  EXPECT_GE(r.decode.seconds, 0.030);
  EXPECT_GE(r.polls, 1) << "the sampling thread polled during 60 ms at a 5 ms interval";
  EXPECT_FALSE(r.idle.has_value());
  const std::string text = format_report(r);
  EXPECT_TRUE(contains(text, "| prefill | 128 |")) << text;
  EXPECT_TRUE(contains(text, "| 12 | 0.09375 |")) << text;
  EXPECT_FALSE(contains(text, "ESTIMATE")) << text;
}

TEST(Recorder, SamplerCatchesAWrapBetweenPhaseReads) {
  tbtest::TempTree t;
  rapl_zones(t, {{"intel-rapl:0", "package-0", 0, "5000000000"}});  // 5 kJ: 5 s at 1000 W, so 2 ms polls are allowed
  PowercapMeter m(t.root());
  RecorderOptions o;
  o.interval = 2ms;
  EnergyRecorder rec(m, o);
  rec.start();
  rec.begin(Phase::decode);
  rapl_set(t, "intel-rapl:0", 4000000000);  // +4000 J
  std::this_thread::sleep_for(50ms);   // the sampler sees it
  rapl_set(t, "intel-rapl:0", 1000000000);  // wrapped: (5000000001 - 4000000000) + 1000000000 uJ
  std::this_thread::sleep_for(50ms);
  rapl_set(t, "intel-rapl:0", 3000000000);  // +2000 J, no wrap
  rec.end(Phase::decode, 10, 0);
  const EnergyReport r = rec.stop();
  EXPECT_NEAR(r.decode.joules.at("package"), 4000.0 + 1000.000001 + 1000.0 + 2000.0, 1e-6);
}

TEST(Recorder, IntervalTooLongForTheWrapRangeIsRefused) {
  tbtest::TempTree t;
  rapl_zones(t, {{"intel-rapl:0", "package-0", 0, "1000000"}});  // 1 J: wraps in 1 ms at 1000 W
  PowercapMeter m(t.root());
  EXPECT_TRUE(tbtest::throws_error([&] { Sampler s(m, 1000ms); },
                                   {"energy sampling interval 1.000 s is longer than 0.001 s", "a wrap could be missed"}));
  EXPECT_THROW(Sampler(m, 0ms), tb::Error);
}

TEST(Recorder, SamplerErrorsReachTheCaller) {
  tbtest::TempTree t;
  rapl_zones(t, {{"intel-rapl:0", "package-0", 0}});
  PowercapMeter m(t.root());
  RecorderOptions o;
  o.interval = 1ms;
  EnergyRecorder rec(m, o);
  rec.start();
  t.put("intel-rapl:0/energy_uj", "oops\n");
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(tbtest::throws_error([&] { rec.stop(); },
                                   {"energy_uj: expected an unsigned decimal integer, got \"oops\""}))
      << "a counter that failed mid-run must not give a report";
}

TEST(Recorder, IdleBaselineIsReportedAndSubtractedOnlyWhenAsked) {
  SteadyMeter m;
  {
    EnergyRecorder rec(m);
    const IdleBaseline& idle = rec.measure_idle(100ms);
    EXPECT_NEAR(idle.watts.at("package"), 10.0, 1e-6);
    EXPECT_GE(idle.seconds, 0.1);
    rec.start();
    rec.begin(Phase::prefill);
    std::this_thread::sleep_for(20ms);
    rec.end(Phase::prefill, 100, 0);  // +5 J of work
    const EnergyReport r = rec.stop();
    ASSERT_TRUE(r.idle.has_value());
    EXPECT_FALSE(r.idle_subtracted);
    EXPECT_TRUE(r.prefill.net_joules.empty());
    // Not subtracted: 10 W x the phase's length is in the figure.
    EXPECT_NEAR(r.prefill.joules.at("package"), 5.0 + 10.0 * r.prefill.seconds, 1e-3);
    EXPECT_NEAR(r.joules_per_token(Phase::prefill), (5.0 + 10.0 * r.prefill.seconds) / 100, 1e-5);
    EXPECT_TRUE(contains(format_report(r), "(not subtracted)"));
  }
  {
    RecorderOptions o;
    o.subtract_idle = true;
    EnergyRecorder rec(m, o);
    EXPECT_THROW(rec.start(), tb::Error) << "subtracting needs a measured baseline";
    rec.measure_idle(50ms);
    rec.start();
    rec.begin(Phase::decode);
    std::this_thread::sleep_for(20ms);
    rec.end(Phase::decode, 10, 100);  // +0.5 J of work
    const EnergyReport r = rec.stop();
    EXPECT_TRUE(r.idle_subtracted);
    EXPECT_NEAR(r.decode.net_joules.at("package"), 0.5, 1e-3);
    EXPECT_NEAR(r.joules_per_token(Phase::decode), 0.05, 1e-4);
    EXPECT_NEAR(r.average_watts(Phase::decode), 10.0 + 0.5 / r.decode.seconds, 0.1) << "power stays as read";
    EXPECT_TRUE(contains(format_report(r), "(subtracted below)"));
  }
}

TEST(Recorder, EstimateThroughTheRecorder) {
  EstimateMeter m(tb::load_model_config("2B4T"));
  EnergyRecorder rec(m);
  EXPECT_THROW(rec.measure_idle(10ms), tb::Error);
  rec.start();
  rec.begin(Phase::prefill);
  rec.end(Phase::prefill, 512, 0);
  rec.begin(Phase::decode);
  rec.end(Phase::decode, 1, 512);
  const EnergyReport r = rec.stop();
  EXPECT_TRUE(r.estimate);
  EXPECT_EQ(r.domain, "estimate");
  EXPECT_DOUBLE_EQ(r.prefill.joules.at("estimate"), m.estimate().sequence(512).total_j());
  const double decode = m.estimate().tokens(1, 512).total_j();
  EXPECT_NEAR(r.decode.joules.at("estimate"), decode, decode * 1e-9);  // a difference of two running sums
  EXPECT_TRUE(contains(format_report(r), "[ESTIMATE, not a measurement]"));
}

TEST(Recorder, SamplerOwnCost) {
  // How much the sampling thread takes from the measured threads: its own CPU time, measured.
  tbtest::TempTree t;
  rapl_zones(t, {{"intel-rapl:0", "package-0", 0}, {"intel-rapl:0:0", "core", 0}, {"intel-rapl:0:1", "dram", 0}});
  PowercapMeter m(t.root());
  m.start();
  Sampler s(m, 1ms);
  s.start();
  std::this_thread::sleep_for(300ms);
  s.stop();
  ASSERT_GE(s.polls(), 10);
  const double us_per_poll = s.cpu_seconds() / double(s.polls()) * 1e6;
  std::printf("sampler: %lld polls of 3 files, %.1f us of CPU per poll (%.3f%% of a core at the 1 s default)\n",
              static_cast<long long>(s.polls()), us_per_poll, us_per_poll / 1e6 * 100);
  EXPECT_LT(us_per_poll, 1000.0) << "a poll is a few preads; more than 1 ms of CPU means something is wrong";
}

}  // namespace
