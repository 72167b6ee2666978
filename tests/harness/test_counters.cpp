// Hardware counters (harness/counters.h) through recorded perf_event_open reads: the group read's layout,
// multiplexed counts scaled by enabled / running, the separate counters of kernels that refuse inherited
// groups, every errno the opener explains, the LLC event's fallback, and the row field. Then the real kernel,
// with software events standing in for the hardware ones (no PMU in most VMs): inherit counts the threads
// started after the open, the ones that exited included.
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>
#include <vector>

#include "harness/counters.h"
#include "base/error.h"
#include "tests/error_of.h"

#include <unistd.h>
#ifdef __linux__
#include <time.h>
#endif

namespace {

using namespace tb;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A folder standing in for /proc/self/task, with `n` entries, and a perf_event_paranoid file.
struct Proc {
  std::filesystem::path dir;
  explicit Proc(int threads, const std::string& paranoid = "2") {
    dir = std::filesystem::temp_directory_path() /
          ("tb_counters_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
    std::filesystem::create_directories(dir / "task");
    for (int i = 0; i < threads; ++i) std::filesystem::create_directories(dir / "task" / std::to_string(1000 + i));
    std::ofstream(dir / "paranoid") << paranoid << "\n";
  }
  ~Proc() { std::filesystem::remove_all(dir); }
  std::string task() const { return (dir / "task").string(); }
  std::string paranoid() const { return (dir / "paranoid").string(); }
  static int& counter() {
    static int n = 0;
    return n;
  }
};

// Recorded perf_event_open: per event an errno (or an fd), per fd the words its reads return, in order (the
// last repeats). Records what was opened and closed.
struct RecordedPmu {
  struct Open {
    PerfAttr attr;
    int group_fd;
  };
  std::map<std::pair<uint32_t, uint64_t>, int> fail;          // (type, config) -> errno, every time
  std::map<std::pair<uint32_t, uint64_t>, int> fail_in_group;  // only when opened with group_read
  std::map<int, std::vector<std::vector<uint64_t>>> reads;    // fd -> successive reads
  std::map<int, size_t> next;
  std::vector<Open> opened;
  std::vector<int> closed;
  int next_fd = 10;

  void fail_event(CounterEvent e, int err) { fail[key(e)] = err; }
  static std::pair<uint32_t, uint64_t> key(CounterEvent e) {
    const PerfAttr a = perf_attr_of(e, false);
    return {a.type, a.config};
  }
  PerfSyscalls syscalls() {
    PerfSyscalls s;
    s.open = [this](const PerfAttr& a, int group_fd) {
      opened.push_back({a, group_fd});
      const auto k = std::make_pair(a.type, a.config);
      if (fail.count(k)) return -fail[k];
      if (a.group_read && fail_in_group.count(k)) return -fail_in_group[k];
      return next_fd++;
    };
    s.read = [this](int fd, void* buf, size_t bytes) -> long {
      if (!reads.count(fd)) return -EBADF;
      const auto& v = reads[fd];
      const std::vector<uint64_t>& w = v[std::min(next[fd]++, v.size() - 1)];
      const size_t n = w.size() * sizeof(uint64_t);
      if (n > bytes) return -ENOSPC;
      std::memcpy(buf, w.data(), n);
      return long(n);
    };
    s.close = [this](int fd) { closed.push_back(fd); };
    return s;
  }
};

TEST(Counters, GroupReadOfInheritedCounters) {
  Proc p(1);
  RecordedPmu r;
  // nr, time_enabled, time_running, cycles, instructions, cache-misses: not multiplexed (running == enabled).
  r.reads[10] = {{3, 1000, 1000, 5000, 7000, 30}, {3, 3000, 3000, 45000, 97000, 830}};
  {
    HwCounters hc(r.syscalls(), p.paranoid(), p.task());
    ASSERT_TRUE(hc.available()) << hc.why_not();
    EXPECT_TRUE(hc.grouped());
    EXPECT_STREQ(hc.llc_event(), "cache-misses");
    EXPECT_EQ(hc.notes(), "");
    // One group: cycles leads (group_fd -1), the others join it; all inherited, all read as a group.
    ASSERT_EQ(r.opened.size(), 3u);
    EXPECT_EQ(r.opened[0].attr.config, 0u);
    EXPECT_EQ(r.opened[0].group_fd, -1);
    EXPECT_EQ(r.opened[1].attr.config, 1u);
    EXPECT_EQ(r.opened[1].group_fd, 10);
    EXPECT_EQ(r.opened[2].attr.config, 3u);
    EXPECT_EQ(r.opened[2].group_fd, 10);
    for (const auto& o : r.opened) {
      EXPECT_EQ(o.attr.type, 0u);  // PERF_TYPE_HARDWARE
      EXPECT_TRUE(o.attr.inherit);
      EXPECT_TRUE(o.attr.group_read);
    }
    const CounterSample a = hc.read(), b = hc.read();
    EXPECT_EQ(a.cycles.value, 5000u);
    EXPECT_EQ(a.instructions.value, 7000u);
    EXPECT_EQ(a.llc.value, 30u);
    EXPECT_EQ(a.llc.enabled, 1000u);
    const CounterFigures f = counter_figures(b - a, true);
    EXPECT_EQ(f.why_not, "");
    EXPECT_FALSE(f.scaled);
    EXPECT_EQ(f.running_share, 1.0);
    EXPECT_EQ(f.cycles, 40000);
    EXPECT_EQ(f.instructions, 90000);
    EXPECT_EQ(f.llc_misses, 800);
    EXPECT_EQ(f.ipc, 2.25);

    const json c = counters_field(hc, b - a, 8);
    EXPECT_EQ(c["cycles"], 40000);
    EXPECT_EQ(c["instructions"], 90000);
    EXPECT_EQ(c["ipc"], 2.25);
    EXPECT_EQ(c["llc_misses"], 800);
    EXPECT_EQ(c["llc_event"], "cache-misses");
    EXPECT_EQ(c["scaled"], false);
    EXPECT_EQ(c["group"], true);
    EXPECT_EQ(c["per_token"]["cycles"], 5000.0);
    EXPECT_EQ(c["per_token"]["instructions"], 11250.0);
    EXPECT_EQ(c["per_token"]["llc_misses"], 100.0);
    EXPECT_FALSE(c.contains("unavailable"));
  }
  EXPECT_EQ(r.closed, (std::vector<int>{12, 11, 10}));  // siblings before their leader
}

TEST(Counters, MultiplexedCountsAreScaledAndSaidSo) {
  Proc p(1);
  RecordedPmu r;
  // Between the reads the group was enabled for 4000 ns and ran for 1000: counts x 4.
  r.reads[10] = {{3, 1000, 1000, 0, 0, 0}, {3, 5000, 2000, 30000, 15000, 250}};
  HwCounters hc(r.syscalls(), p.paranoid(), p.task());
  ASSERT_TRUE(hc.available()) << hc.why_not();
  const CounterSample a = hc.read(), b = hc.read();
  const CounterFigures f = counter_figures(b - a, true);
  EXPECT_TRUE(f.scaled);
  EXPECT_EQ(f.running_share, 0.25);
  EXPECT_EQ(f.cycles, 120000);
  EXPECT_EQ(f.instructions, 60000);
  EXPECT_EQ(f.llc_misses, 1000);
  EXPECT_EQ(f.ipc, 0.5);  // one schedule for the group: the ratio of the raw counts
  const json c = counters_field(hc, b - a, 4);
  EXPECT_EQ(c["scaled"], true);
  EXPECT_EQ(c["running_share"], 0.25);
  EXPECT_EQ(c["cycles"], 120000);
  EXPECT_EQ(c["per_token"]["llc_misses"], 250.0);
}

TEST(Counters, RegionsAddUpBeforeScaling) {
  // Two timed regions: one not multiplexed, one at a quarter. Summed counts over summed times.
  CounterSample s{}, d1{}, d2{};
  d1.cycles = {1000, 100, 100};
  d1.instructions = {2000, 100, 100};
  d2.cycles = {1000, 400, 100};
  d2.instructions = {500, 400, 100};
  s += d1;
  s += d2;
  EXPECT_EQ(s.cycles.value, 2000u);
  EXPECT_EQ(s.cycles.enabled, 500u);
  EXPECT_EQ(s.cycles.running, 200u);
  const CounterFigures f = counter_figures(s, false);
  EXPECT_TRUE(f.scaled);
  EXPECT_EQ(f.running_share, 0.4);
  EXPECT_EQ(f.cycles, 5000);
  EXPECT_EQ(f.instructions, 6250);
  EXPECT_EQ(f.llc_misses, 0);
  EXPECT_FALSE(f.has_llc);
}

TEST(Counters, EventsThatNeverRanGiveNoFigures) {
  CounterSample d{};
  d.cycles = {0, 5000, 0};
  d.instructions = {0, 5000, 0};
  const CounterFigures f = counter_figures(d, false);
  EXPECT_TRUE(contains(f.why_not, "cycles never ran during the test (time_running 0 of 5000 ns enabled")) << f.why_not;
  CounterSample none{};
  EXPECT_TRUE(contains(counter_figures(none, false).why_not, "time_enabled did not advance"));

  Proc p(1);
  RecordedPmu r;
  r.reads[10] = {{3, 1000, 1000, 10, 10, 1}, {3, 9000, 1000, 10, 10, 1}};
  HwCounters hc(r.syscalls(), p.paranoid(), p.task());
  const CounterSample a = hc.read(), b = hc.read();
  const json c = counters_field(hc, b - a, 1);
  ASSERT_TRUE(c.contains("unavailable")) << c.dump();
  EXPECT_TRUE(contains(c["unavailable"], "never ran")) << c.dump();
  EXPECT_FALSE(c.contains("cycles"));
}

TEST(Counters, OldKernelsGetSeparateCountersEachScaledByItsOwnTimes) {
  Proc p(1);
  RecordedPmu r;
  // Kernels before 4.13: EINVAL for inherit with PERF_FORMAT_GROUP.
  r.fail_in_group[RecordedPmu::key(CounterEvent::cycles)] = EINVAL;
  // value, enabled, running per counter: cycles ran half its time, instructions all of it.
  r.reads[10] = {{100, 100, 100}, {1100, 2100, 1100}};
  r.reads[11] = {{50, 100, 100}, {2050, 2100, 2100}};
  r.reads[12] = {{0, 100, 100}, {300, 2100, 700}};
  HwCounters hc(r.syscalls(), p.paranoid(), p.task());
  ASSERT_TRUE(hc.available()) << hc.why_not();
  EXPECT_FALSE(hc.grouped());
  EXPECT_TRUE(contains(hc.notes(), "the kernel refused an inherited group (perf_event_open(cycles) failed: EINVAL"))
      << hc.notes();
  EXPECT_TRUE(contains(hc.notes(), "kernels before 4.13")) << hc.notes();
  ASSERT_EQ(r.opened.size(), 4u);  // the group leader refused, then three on their own
  EXPECT_TRUE(r.opened[0].attr.group_read);
  for (size_t i = 1; i < 4; ++i) {
    EXPECT_FALSE(r.opened[i].attr.group_read);
    EXPECT_TRUE(r.opened[i].attr.inherit);
    EXPECT_EQ(r.opened[i].group_fd, -1);
  }
  const CounterSample a = hc.read(), b = hc.read();
  const CounterFigures f = counter_figures(b - a, true);
  EXPECT_TRUE(f.scaled);
  EXPECT_EQ(f.cycles, 2000);        // 1000 x 2000 / 1000
  EXPECT_EQ(f.instructions, 2000);  // not scaled
  EXPECT_EQ(f.llc_misses, 1000);    // 300 x 2000 / 600
  EXPECT_EQ(f.running_share, 0.3);
  EXPECT_EQ(f.ipc, 1.0);
  EXPECT_EQ(counters_field(hc, b - a, 2)["group"], false);
}

TEST(Counters, EachErrnoOfTheOpenIsExplained) {
  struct Case {
    int err;
    const char* text;
  };
  const Case cases[] = {
      {ENOENT, "ENOENT (no such event: the kernel has no PMU driver for this CPU, as in most VMs"},
      {EOPNOTSUPP, "EOPNOTSUPP (the PMU cannot count this event here"},
      {ENODEV, "ENODEV (the PMU does not support this event on this CPU)"},
      {EACCES, "EACCES (not permitted: /proc/sys/kernel/perf_event_paranoid is 3; counting this process's own "
               "user-space events needs it at 2 or below (sudo sysctl kernel.perf_event_paranoid=2), or CAP_PERFMON"},
      {EPERM, "EPERM (not permitted: /proc/sys/kernel/perf_event_paranoid is 3;"},
      {ENOSYS, "ENOSYS (no perf events here: a kernel built without CONFIG_PERF_EVENTS, or not Linux)"},
      {EINVAL, "EINVAL (the kernel refused the event's attributes)"},
      {EBUSY, "EBUSY (another user holds the PMU exclusively)"},
      {EMFILE, "EMFILE (too many open files)"},
      {E2BIG, "errno 7 (Argument list too long)"},
  };
  for (const Case& c : cases) {
    Proc p(1, "3");
    RecordedPmu r;
    r.fail_event(CounterEvent::cycles, c.err);
    HwCounters hc(r.syscalls(), p.paranoid(), p.task());
    EXPECT_FALSE(hc.available());
    const std::string& w = hc.why_not();
    EXPECT_EQ(w.rfind(std::string("perf_event_open(cycles) failed: ") + c.text, 0), 0u) << w;
    EXPECT_EQ(w.find('\n'), std::string::npos) << "one line: " << w;
    EXPECT_EQ(counters_field(hc, {}, 1), json({{"unavailable", w}}));
    EXPECT_THROW(hc.read(), tb::Error);
    EXPECT_TRUE(r.closed.empty());
    // EINVAL is tried once more outside a group (an old kernel's refusal); the rest fail at the first open.
    EXPECT_EQ(r.opened.size(), c.err == EINVAL ? 2u : 1u) << c.text;
  }
  EXPECT_TRUE(contains(perf_open_error(EACCES, "4"), "perf_event_paranoid is 4")) << perf_open_error(EACCES, "4");
}

TEST(Counters, AnInstructionsCounterThatFailsClosesTheLeader) {
  Proc p(1);
  RecordedPmu r;
  r.fail_event(CounterEvent::instructions, EOPNOTSUPP);
  HwCounters* hc = new HwCounters(r.syscalls(), p.paranoid(), p.task());
  EXPECT_EQ(hc->why_not().rfind("perf_event_open(instructions) failed: EOPNOTSUPP", 0), 0u) << hc->why_not();
  delete hc;
  EXPECT_EQ(r.closed, (std::vector<int>{10}));
}

TEST(Counters, LlcFallsBackToLlcReadMissesThenGoesWithoutIt) {
  {
    Proc p(1);
    RecordedPmu r;
    r.fail_event(CounterEvent::cache_misses, ENOENT);
    r.reads[10] = {{3, 10, 10, 1, 2, 3}};
    HwCounters hc(r.syscalls(), p.paranoid(), p.task());
    ASSERT_TRUE(hc.available()) << hc.why_not();
    EXPECT_STREQ(hc.llc_event(), "LLC-load-misses");
    ASSERT_EQ(r.opened.size(), 4u);
    EXPECT_EQ(r.opened[3].attr.type, 3u);  // PERF_TYPE_HW_CACHE
    EXPECT_EQ(r.opened[3].attr.config, 0x10002u);  // LL | OP_READ << 8 | RESULT_MISS << 16
    EXPECT_EQ(r.opened[3].group_fd, 10);
    EXPECT_EQ(hc.read().llc.value, 3u);
    EXPECT_EQ(hc.notes(), "");
  }
  {
    Proc p(1);
    RecordedPmu r;
    r.fail_event(CounterEvent::cache_misses, ENOENT);
    r.fail_event(CounterEvent::llc_read_misses, EOPNOTSUPP);
    r.reads[10] = {{2, 10, 10, 100, 200}, {2, 20, 20, 300, 700}};  // a group of two
    HwCounters hc(r.syscalls(), p.paranoid(), p.task());
    ASSERT_TRUE(hc.available()) << hc.why_not();
    EXPECT_FALSE(hc.has_llc());
    EXPECT_TRUE(contains(hc.notes(), "counters: LLC misses are not counted: perf_event_open(cache-misses) failed: ENOENT"))
        << hc.notes();
    EXPECT_TRUE(contains(hc.notes(), "; perf_event_open(LLC-load-misses) failed: EOPNOTSUPP")) << hc.notes();
    const CounterSample a = hc.read(), b = hc.read();
    const json c = counters_field(hc, b - a, 1);
    EXPECT_EQ(c["cycles"], 200);
    EXPECT_EQ(c["ipc"], 2.5);
    EXPECT_FALSE(c.contains("llc_misses"));
    EXPECT_FALSE(c["per_token"].contains("llc_misses"));
    EXPECT_TRUE(contains(c["llc_unavailable"], "cache-misses")) << c.dump();
  }
}

TEST(Counters, BadReadsAreErrors) {
  Proc p(1);
  RecordedPmu r;
  r.reads[10] = {{3, 10, 10, 1, 2}};  // one value short
  HwCounters hc(r.syscalls(), p.paranoid(), p.task());
  EXPECT_EQ(tbtest::error_of([&] { hc.read(); }), "counters: read of the counter group returned 40 bytes, not 48");
  RecordedPmu r2;
  r2.reads[10] = {{2, 10, 10, 1, 2, 3}};  // nr says 2 of 3
  HwCounters hc2(r2.syscalls(), p.paranoid(), p.task());
  EXPECT_THROW(hc2.read(), tb::Error);
  RecordedPmu r3;  // no reads recorded: EBADF
  HwCounters hc3(r3.syscalls(), p.paranoid(), p.task());
  EXPECT_EQ(tbtest::error_of([&] { hc3.read(); }), "counters: read of the counter group returned Bad file descriptor");
}

TEST(Counters, ThreadsStartedBeforeTheOpenRefuseTheCounters) {
  Proc p(3);
  RecordedPmu r;
  HwCounters hc(r.syscalls(), p.paranoid(), p.task());
  EXPECT_FALSE(hc.available());
  EXPECT_TRUE(contains(hc.why_not(), "3 threads were running before the counters opened")) << hc.why_not();
  EXPECT_TRUE(r.opened.empty());
}

// ---- the real kernel ----

TEST(Counters, ThisMachineCountsOrSaysWhyNot) {
  HwCounters hc;
  if (hc.available()) {
    const CounterSample a = hc.read();
    volatile double x = 1;
    for (int i = 0; i < 1000000; ++i) x = x * 1.0000001 + 1e-9;
    const CounterFigures f = counter_figures(hc.read() - a, hc.has_llc());
    EXPECT_EQ(f.why_not, "");
    EXPECT_GT(f.instructions, 1e6);
    EXPECT_GT(f.cycles, 0);
    std::printf("counters here: %.0f cycles, %.0f instructions, IPC %.2f%s\n", f.cycles, f.instructions, f.ipc,
                f.scaled ? " (scaled)" : "");
  } else {
    const std::string& w = hc.why_not();
    EXPECT_EQ(w.rfind("perf_event_open(cycles) failed: E", 0), 0u) << w;
    std::printf("no counters here: %s\n", w.c_str());
  }
}

#ifdef __linux__
double thread_cpu_ns() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) * 1e9 + double(t.tv_nsec);
}

// Software events (always there) in place of the hardware ones, through the real perf_event_open: task-clock
// for cycles and for cache-misses, cpu-clock for instructions. All three count CPU time, which the test
// measures itself per thread; page faults (an earlier choice) depend on the kernel's memory policy (one CI
// kernel counted 2 for 2048 new pages). The inherited group must count the threads started after the open,
// also after they exited, in every member.
TEST(Counters, RealKernelInheritedGroupCountsThreadsStartedAfterTheOpen) {
  PerfSyscalls real = kernel_perf_syscalls(), sw = real;
  sw.open = [real](const PerfAttr& a, int group_fd) {
    PerfAttr s = a;
    s.type = 1;                                                  // PERF_TYPE_SOFTWARE
    s.config = a.type == 0 && a.config == 1 ? 0 /* cpu-clock */ : 1 /* task-clock */;
    return real.open(s, group_fd);
  };
  HwCounters hc(sw);
  if (!hc.available()) GTEST_SKIP() << "perf_event_open of software events refused here: " << hc.why_not();
  EXPECT_TRUE(hc.grouped()) << "kernels from 4.13 take inherit with PERF_FORMAT_GROUP: " << hc.notes();
  ASSERT_TRUE(hc.has_llc()) << hc.llc_why_not();
  const CounterSample a = hc.read();
  std::vector<double> cpu(2);
  std::vector<std::thread> ts;
  for (int t = 0; t < 2; ++t)
    ts.emplace_back([&cpu, t] {
      const double t0 = thread_cpu_ns();
      volatile double x = 1;
      while (thread_cpu_ns() - t0 < 50e6) x = x * 1.0000001 + 1e-9;
      cpu[size_t(t)] = thread_cpu_ns() - t0;
    });
  for (std::thread& t : ts) t.join();
  const CounterSample b = hc.read();
  const CounterFigures f = counter_figures(b - a, true);
  ASSERT_EQ(f.why_not, "");
  EXPECT_FALSE(f.scaled);  // software events are never multiplexed
  // The group counts the main thread too (a few ms between the reads: join, read); without inherit each
  // member would hold that alone, far under the threads' 100 ms. 0.95: clock granularity of the two sources.
  const double threads_ns = cpu[0] + cpu[1];
  for (double v : {f.cycles, f.instructions, f.llc_misses}) {
    EXPECT_GT(v, 0.95 * threads_ns) << "the exited threads' CPU time is in every member of the group";
    EXPECT_LT(v, threads_ns + 50e6);
  }
  // A thread alive at the open is one the counters would miss: refused.
  std::thread alive([] { std::this_thread::sleep_for(std::chrono::milliseconds(200)); });
  HwCounters late(sw);
  EXPECT_FALSE(late.available());
  EXPECT_TRUE(contains(late.why_not(), "2 threads were running before the counters opened")) << late.why_not();
  alive.join();
}
#endif

}  // namespace
