// Hardware counters of this process: cycles, instructions and last-level-cache misses, counted in user space
// over every thread (the OpenMP workers included), through perf_event_open. Opened once, before any thread
// exists, and left running; a measurement is the difference of two reads. Where perf_event_open refuses
// (most VMs: no PMU driver), why_not() says why in one line and nothing is counted.
//
// Design: one group (leader cycles; instructions and LLC misses beside it) with attr.inherit = 1, read as
// PERF_FORMAT_GROUP | TOTAL_TIME_ENABLED | TOTAL_TIME_RUNNING: the three counts share one schedule, so
// their ratios (IPC) are of the same instants even when the kernel multiplexes. Inherit, not per-thread
// counters opened inside a parallel region: libgomp may start or swap pool threads at any region, and an
// inherited counter follows every thread cloned after the open, whichever region made it; its read sums
// the live threads and the exited ones. Kernels before 4.13 refuse inherit with PERF_FORMAT_GROUP
// (EINVAL; commit ba5213ae6b88 moved the check to PERF_SAMPLE_READ): there the three are opened as separate
// inherited counters, each read and scaled by its own times, and grouped() says so.
//
// The seam: PerfSyscalls (open, read, close). The default is the kernel's; tests feed recorded reads.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "harness/results.h"

namespace tb {

enum class CounterEvent { cycles, instructions, cache_misses, llc_read_misses };
const char* counter_event_name(CounterEvent e);  // perf's names: "cycles", "cache-misses", "LLC-load-misses"

// What is asked of perf_event_open. Always: exclude_kernel and exclude_hv (user space: allowed at
// perf_event_paranoid 2, the usual default), pid 0 and cpu -1 (this process on any CPU), enabled at open,
// read_format TOTAL_TIME_ENABLED | TOTAL_TIME_RUNNING (| GROUP when group_read).
struct PerfAttr {
  uint32_t type = 0;    // PERF_TYPE_HARDWARE (0) or PERF_TYPE_HW_CACHE (3)
  uint64_t config = 0;
  bool inherit = true;
  bool group_read = false;
};
PerfAttr perf_attr_of(CounterEvent e, bool group_read);

struct PerfSyscalls {
  std::function<int(const PerfAttr&, int group_fd)> open;     // an fd, or -errno
  std::function<long(int fd, void* buf, size_t bytes)> read;  // bytes read, or -errno
  std::function<void(int fd)> close;
};
// Linux: perf_event_open, read and close. Elsewhere every open returns -ENOSYS.
PerfSyscalls kernel_perf_syscalls();

// "ENOENT (...why, and the fix where there is one)". `paranoid` is the content of perf_event_paranoid.
std::string perf_open_error(int err, const std::string& paranoid);

// One event's cumulative count since the open, with the kernel's enabled and running times (ns).
struct CounterRead {
  uint64_t value = 0, enabled = 0, running = 0;
};
// A read of the three events (llc left zero when it is not counted). b - a is what happened between two
// reads; += sums the deltas of several timed regions (counts and times alike, so scaling stays right).
struct CounterSample {
  CounterRead cycles, instructions, llc;
};
CounterSample operator-(const CounterSample& b, const CounterSample& a);
CounterSample& operator+=(CounterSample& s, const CounterSample& d);

// A delta scaled for multiplexing (count x enabled / running, per event).
struct CounterFigures {
  double cycles = 0, instructions = 0, llc_misses = 0, ipc = 0;
  bool has_llc = false;
  bool scaled = false;        // some event ran for less than its enabled time: the counts are extrapolated
  double running_share = 1;   // the lowest running / enabled of the events
  std::string why_not;        // non-empty: no usable figures (the events never ran, or no time passed)
};
CounterFigures counter_figures(const CounterSample& delta, bool has_llc);

class HwCounters {
 public:
  // Opens the events now. task_dir lists this process's threads: if it holds more than one, threads exist
  // that an inherited counter would never see, and the counters are refused (open them first thing).
  explicit HwCounters(PerfSyscalls sys = kernel_perf_syscalls(),
                      std::string paranoid_file = "/proc/sys/kernel/perf_event_paranoid",
                      std::string task_dir = "/proc/self/task");
  ~HwCounters();
  HwCounters(const HwCounters&) = delete;
  HwCounters& operator=(const HwCounters&) = delete;

  bool available() const { return why_not_.empty(); }
  // "perf_event_open(cycles) failed: ENOENT (...)"; empty when available.
  const std::string& why_not() const { return why_not_; }
  bool grouped() const { return grouped_; }
  bool has_llc() const { return llc_ != nullptr; }
  const char* llc_event() const { return llc_; }  // "cache-misses", "LLC-load-misses", or nullptr
  const std::string& llc_why_not() const { return llc_why_; }  // why neither LLC event opened
  // Things a run should say once: the separate-counter fallback, the LLC event that could not be opened.
  const std::string& notes() const { return notes_; }
  // Cumulative counts since the open. Throws tb::Error on a failed or short read. Only when available().
  CounterSample read() const;

 private:
  int open_one(CounterEvent e, bool group, int group_fd, std::string* why);
  PerfSyscalls sys_;
  std::string paranoid_, why_not_, notes_, llc_why_;
  bool grouped_ = true;
  const char* llc_ = nullptr;
  int fd_[3] = {-1, -1, -1};  // cycles (leader), instructions, llc
};

// The result row's `counters` field for a measured delta over `tokens` tokens: cycles, instructions, ipc,
// llc_misses (counts, rounded after scaling), scaled, running_share, group, llc_event (or llc_unavailable),
// per_token; or
// {"unavailable": why} when the counters are not open here or the delta has no usable figures.
json counters_field(const HwCounters& hc, const CounterSample& delta, double tokens);

}  // namespace tb
