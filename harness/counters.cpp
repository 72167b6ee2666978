#include "harness/counters.h"

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#ifdef __linux__
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "base/error.h"
#include "base/strings.h"

namespace tb {

namespace {

// perf_event_attr's type values (linux/perf_event.h), spelled here so the seam builds on every OS.
constexpr uint32_t kTypeHardware = 0, kTypeHwCache = 3;
constexpr uint64_t kHwCycles = 0, kHwInstructions = 1, kHwCacheMisses = 3;
// PERF_COUNT_HW_CACHE_LL | PERF_COUNT_HW_CACHE_OP_READ << 8 | PERF_COUNT_HW_CACHE_RESULT_MISS << 16
constexpr uint64_t kLlcReadMiss = 2 | (0 << 8) | (1 << 16);

const char* errno_name(int err) {
  switch (err) {
    case ENOENT: return "ENOENT";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENODEV: return "ENODEV";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENOSYS: return "ENOSYS";
    case EINVAL: return "EINVAL";
    case EBUSY: return "EBUSY";
    case EMFILE: return "EMFILE";
    default: return nullptr;
  }
}

std::string first_line_of(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  if (!f || !std::getline(f, s)) return "unreadable";
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

const char* counter_event_name(CounterEvent e) {
  static const char* const names[] = {"cycles", "instructions", "cache-misses", "LLC-load-misses"};
  return enum_name<CounterEvent::llc_read_misses>(e, names);
}

PerfAttr perf_attr_of(CounterEvent e, bool group_read) {
  PerfAttr a;
  a.group_read = group_read;
  switch (e) {
    case CounterEvent::cycles: a.type = kTypeHardware, a.config = kHwCycles; break;
    case CounterEvent::instructions: a.type = kTypeHardware, a.config = kHwInstructions; break;
    case CounterEvent::cache_misses: a.type = kTypeHardware, a.config = kHwCacheMisses; break;
    case CounterEvent::llc_read_misses: a.type = kTypeHwCache, a.config = kLlcReadMiss; break;
  }
  return a;
}

PerfSyscalls kernel_perf_syscalls() {
  PerfSyscalls s;
#ifdef __linux__
  s.open = [](const PerfAttr& a, int group_fd) -> int {
    perf_event_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = a.type;
    attr.config = a.config;
    attr.inherit = a.inherit ? 1 : 0;
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING |
                       (a.group_read ? PERF_FORMAT_GROUP : 0);
    const long fd = ::syscall(SYS_perf_event_open, &attr, 0, -1, group_fd, PERF_FLAG_FD_CLOEXEC);
    return fd < 0 ? -errno : int(fd);
  };
  s.read = [](int fd, void* buf, size_t bytes) -> long {
    const ssize_t n = ::read(fd, buf, bytes);
    return n < 0 ? -errno : long(n);
  };
  s.close = [](int fd) { ::close(fd); };
#else
  s.open = [](const PerfAttr&, int) { return -ENOSYS; };
  s.read = [](int, void*, size_t) -> long { return -ENOSYS; };
  s.close = [](int) {};
#endif
  return s;
}

std::string perf_open_error(int err, const std::string& paranoid) {
  const char* name = errno_name(err);
  std::string s = name ? name : "errno " + std::to_string(err) + " (" + std::strerror(err) + ")";
  switch (err) {
    case ENOENT:
      return s + " (no such event: the kernel has no PMU driver for this CPU, as in most VMs, which expose no "
                 "virtual PMU (dmesg | grep -i pmu tells), or this PMU lacks the event)";
    case EOPNOTSUPP:
      return s + " (the PMU cannot count this event here: the hardware lacks it, or lacks the interrupt it needs)";
    case ENODEV:
      return s + " (the PMU does not support this event on this CPU)";
    case EACCES:
    case EPERM:
      return s + " (not permitted: /proc/sys/kernel/perf_event_paranoid is " + paranoid +
             "; counting this process's own user-space events needs it at 2 or below "
             "(sudo sysctl kernel.perf_event_paranoid=2), or CAP_PERFMON; in a container, the seccomp profile may "
             "block perf_event_open)";
    case ENOSYS:
      return s + " (no perf events here: a kernel built without CONFIG_PERF_EVENTS, or not Linux)";
    case EINVAL:
      return s + " (the kernel refused the event's attributes)";
    case EBUSY:
      return s + " (another user holds the PMU exclusively)";
    case EMFILE:
      return s + " (too many open files)";
    default:
      return s;
  }
}

CounterSample operator-(const CounterSample& b, const CounterSample& a) {
  auto d = [](const CounterRead& y, const CounterRead& x) {
    return CounterRead{y.value - x.value, y.enabled - x.enabled, y.running - x.running};
  };
  return {d(b.cycles, a.cycles), d(b.instructions, a.instructions), d(b.llc, a.llc)};
}

CounterSample& operator+=(CounterSample& s, const CounterSample& d) {
  for (auto [x, y] : {std::pair<CounterRead*, const CounterRead*>{&s.cycles, &d.cycles},
                      {&s.instructions, &d.instructions}, {&s.llc, &d.llc}}) {
    x->value += y->value;
    x->enabled += y->enabled;
    x->running += y->running;
  }
  return s;
}

CounterFigures counter_figures(const CounterSample& d, bool has_llc) {
  CounterFigures f;
  f.has_llc = has_llc;
  const CounterRead* ev[3] = {&d.cycles, &d.instructions, &d.llc};
  const char* names[3] = {"cycles", "instructions", "LLC misses"};
  double scaled[3] = {0, 0, 0};
  for (int i = 0; i < (has_llc ? 3 : 2); ++i) {
    const CounterRead& r = *ev[i];
    if (r.enabled == 0) {
      f.why_not = std::string("no time was counted for ") + names[i] + " (time_enabled did not advance)";
      return f;
    }
    if (r.running == 0) {
      f.why_not = std::string(names[i]) + " never ran during the test (time_running 0 of " + std::to_string(r.enabled) +
                  " ns enabled: the PMU was taken by others, e.g. the NMI watchdog or a perf session)";
      return f;
    }
    // running > enabled does not happen; min() keeps a confused kernel from scaling counts down.
    const uint64_t run = std::min(r.running, r.enabled);
    if (run < r.enabled) f.scaled = true;
    f.running_share = std::min(f.running_share, double(run) / double(r.enabled));
    scaled[i] = double(r.value) * (double(r.enabled) / double(run));
  }
  f.cycles = scaled[0];
  f.instructions = scaled[1];
  f.llc_misses = scaled[2];
  f.ipc = f.cycles > 0 ? f.instructions / f.cycles : 0;
  return f;
}

int HwCounters::open_one(CounterEvent e, bool group, int group_fd, std::string* why) {
  PerfAttr a = perf_attr_of(e, group);
  const int fd = sys_.open(a, group_fd);
  if (fd < 0) *why = std::string("perf_event_open(") + counter_event_name(e) + ") failed: " + perf_open_error(-fd, paranoid_);
  return fd;
}

HwCounters::HwCounters(PerfSyscalls sys, std::string paranoid_file, std::string task_dir) : sys_(std::move(sys)) {
  paranoid_ = first_line_of(paranoid_file);
  // An inherited counter sees the threads cloned after its open, never those already running.
  std::error_code ec;
  size_t threads = 0;
  for (auto it = std::filesystem::directory_iterator(task_dir, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec))
    ++threads;
  if (threads > 1) {
    why_not_ = std::to_string(threads) + " threads were running before the counters opened (" + task_dir +
               "); inherited counters count only threads started after the open, so they must open first";
    return;
  }
  std::string why;
  // The group first; EINVAL on its leader is a kernel before 4.13 refusing inherit with PERF_FORMAT_GROUP.
  fd_[0] = open_one(CounterEvent::cycles, true, -1, &why);
  if (fd_[0] == -EINVAL) {
    const std::string group_why = why;
    grouped_ = false;
    fd_[0] = open_one(CounterEvent::cycles, false, -1, &why);
    if (fd_[0] >= 0)
      notes_ = "counters: the kernel refused an inherited group (" + group_why +
               "; kernels before 4.13 do): cycles, instructions and LLC misses are separate counters, each scaled by "
               "its own times";
  }
  if (fd_[0] < 0) {
    why_not_ = why;
    fd_[0] = -1;
    return;
  }
  const int leader = grouped_ ? fd_[0] : -1;
  fd_[1] = open_one(CounterEvent::instructions, grouped_, leader, &why);
  if (fd_[1] < 0) {
    why_not_ = why;
    fd_[1] = -1;
    return;
  }
  std::string& llc_why = llc_why_;
  for (CounterEvent e : {CounterEvent::cache_misses, CounterEvent::llc_read_misses}) {
    fd_[2] = open_one(e, grouped_, leader, &why);
    if (fd_[2] >= 0) {
      llc_ = counter_event_name(e);
      break;
    }
    llc_why += (llc_why.empty() ? "" : "; ") + why;
    fd_[2] = -1;
  }
  if (!llc_) notes_ += (notes_.empty() ? "" : "\n") + ("counters: LLC misses are not counted: " + llc_why);
}

HwCounters::~HwCounters() {
  // Siblings before their leader.
  for (int i = 2; i >= 0; --i)
    if (fd_[i] >= 0) sys_.close(fd_[i]);
}

CounterSample HwCounters::read() const {
  if (!available()) throw Error("counters: read without counters: " + why_not_);
  CounterSample s;
  CounterRead* out[3] = {&s.cycles, &s.instructions, &s.llc};
  const int n = llc_ ? 3 : 2;
  auto fail = [](const std::string& what, long got, size_t want) {
    return Error("counters: read of " + what + " returned " +
                 (got < 0 ? std::string(std::strerror(int(-got))) : std::to_string(got) + " bytes, not " + std::to_string(want)));
  };
  if (grouped_) {
    // PERF_FORMAT_GROUP | TOTAL_TIME_ENABLED | TOTAL_TIME_RUNNING: nr, enabled, running, then nr values in the
    // order the events joined the group.
    uint64_t buf[3 + 3] = {};
    const size_t want = sizeof(uint64_t) * size_t(3 + n);
    const long got = sys_.read(fd_[0], buf, sizeof buf);
    if (got != long(want)) throw fail("the counter group", got, want);
    if (buf[0] != uint64_t(n))
      throw Error("counters: the group read holds " + std::to_string(buf[0]) + " counts, not " + std::to_string(n));
    for (int i = 0; i < n; ++i) *out[i] = {buf[3 + i], buf[1], buf[2]};
  } else {
    // TOTAL_TIME_ENABLED | TOTAL_TIME_RUNNING: value, enabled, running.
    for (int i = 0; i < n; ++i) {
      uint64_t buf[3] = {};
      const long got = sys_.read(fd_[i], buf, sizeof buf);
      if (got != long(sizeof buf)) throw fail(i == 0 ? "cycles" : i == 1 ? "instructions" : llc_, got, sizeof buf);
      *out[i] = {buf[0], buf[1], buf[2]};
    }
  }
  return s;
}

json counters_field(const HwCounters& hc, const CounterSample& delta, double tokens) {
  if (!hc.available()) return {{"unavailable", hc.why_not()}};
  const CounterFigures f = counter_figures(delta, hc.has_llc());
  if (!f.why_not.empty()) return {{"unavailable", f.why_not}};
  auto count = [](double v) { return int64_t(std::llround(v)); };
  json c = {{"cycles", count(f.cycles)}, {"instructions", count(f.instructions)}, {"ipc", f.ipc}, {"scaled", f.scaled},
            {"running_share", f.running_share}, {"group", hc.grouped()}};
  json per = {{"cycles", f.cycles / tokens}, {"instructions", f.instructions / tokens}};
  if (f.has_llc) {
    c["llc_misses"] = count(f.llc_misses);
    c["llc_event"] = hc.llc_event();
    per["llc_misses"] = f.llc_misses / tokens;
  } else {
    c["llc_unavailable"] = hc.llc_why_not();
  }
  c["per_token"] = per;
  return c;
}

}  // namespace tb
