// Energy meters behind one interface (docs/reference.md §8): Linux powercap RAPL, the perf power PMU, MSRs,
// macOS powermetrics, and the operation-count estimate (§7). Each source says whether it is available
// here and, when it is not, why and what to do. A counter that exists but cannot be read is never a
// silent zero: the source is unavailable and its reason names the file and the fix.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace tb::energy {

using Clock = std::chrono::steady_clock;

// Joules per domain accumulated since Meter::start().
// Domain names: "package", "core", "uncore", "dram", "gpu", "psys" (RAPL sources); "cpu", "gpu", "ane",
// "combined", "package" (powermetrics); "estimate" (the estimate). `joules` sums over packages;
// `per_package` splits them (platform-wide domains such as psys appear only in `joules`).
struct Reading {
  double seconds = 0;
  std::map<std::string, double> joules;
  std::map<int, std::map<std::string, double>> per_package;

  bool has(const std::string& domain) const { return joules.count(domain) != 0; }
  // Throws tb::Error naming the domain and listing the ones this reading has.
  double at(const std::string& domain) const;
};
// b - a, domain by domain (the energy between two readings of one meter).
Reading difference(const Reading& b, const Reading& a);

// Work done by the measured program, told to the meter. Only the estimate prices it; hardware meters ignore it.
struct Work {
  bool prefill = false;
  int64_t tokens = 0;          // tokens run through the model in this step
  int64_t context_before = 0;  // positions already in the KV cache before the step
};

class Meter {
 public:
  virtual ~Meter() = default;
  virtual std::string name() const = 0;   // short id: powercap, perf, msr, powermetrics, estimate
  virtual std::string title() const = 0;  // what it reads, for listings
  virtual bool is_estimate() const { return false; }

  bool available() const { return why_not_.empty(); }
  // Why the source cannot be used here, with the fix; empty when available.
  const std::string& why_not() const { return why_not_; }
  // Summed domain names this source reports, in display order.
  const std::vector<std::string>& domains() const { return domains_; }
  // The domain J/token and average power are quoted for ("package", "combined", "estimate").
  const std::string& primary_domain() const { return primary_; }
  // Facts worth printing beside the numbers (second interfaces not added, domains skipped, units...).
  const std::vector<std::string>& notes() const { return notes_; }

  virtual void start() = 0;
  virtual Reading read() = 0;  // energy since start(); throws tb::Error when a counter fails mid-run
  virtual Reading stop() { return read(); }
  // Poll the counters so that no wrap goes unseen; called by the sampling thread. Thread-safe.
  virtual void sample() {}
  // The longest gap between polls that cannot miss a counter wrap at kMaxPlausibleWatts per counter.
  virtual double max_poll_interval_s() const { return std::numeric_limits<double>::infinity(); }
  virtual void add_work(const Work&) {}
  // A deferred meter (powermetrics) learns the energy of an instant only later: the recorder keeps
  // phase boundaries as times and asks read_at() once the run is over.
  virtual bool deferred() const { return false; }
  virtual Reading read_at(Clock::time_point t);

 protected:
  std::string why_not_;
  std::vector<std::string> domains_, notes_;
  std::string primary_;
};

// Highest power one RAPL counter can plausibly see (a large server package, with margin), used to size the
// polling interval: the smallest wrap range in practice is 2^32 counts of 2^-16 J = 65536 J (AMD Zen,
// Xeon DRAM), which lasts 65 s at 1000 W.
constexpr double kMaxPlausibleWatts = 1000.0;

// One hardware energy counter.
struct Counter {
  std::string domain;              // "package", "core", ...
  int package = -1;                // package (zone index) it belongs to; -1 = platform-wide (psys)
  double joules_per_count = 0;
  uint64_t modulus = 0;            // the raw value wraps at this (0: never wraps, a 64-bit counter)
  std::string source;              // file or register, for messages
  std::function<uint64_t()> read;  // raw value; throws tb::Error naming the source
  // state
  uint64_t last = 0;
  uint64_t counts = 0;             // accumulated since start
};

// Counts between two raw readings of a counter that wraps at `modulus` (0: never wraps). At most one wrap
// between polls is assumed (the sampling interval guarantees it). A value at or above a non-zero modulus,
// or a 64-bit counter that goes backwards, is an error naming `source`.
uint64_t counter_delta(uint64_t last, uint64_t cur, uint64_t modulus, const std::string& source);

// Shared machinery of powercap, perf and MSR: poll, unwrap, accumulate, sum per package.
class CounterMeter : public Meter {
 public:
  void start() override;
  Reading read() override;
  void sample() override;
  double max_poll_interval_s() const override;
  const std::vector<Counter>& counters() const { return counters_; }

 protected:
  void set_domains_from_counters();  // domains_ and primary_ from counters_
  std::vector<Counter> counters_;
  std::mutex mu_;
  Clock::time_point t0_;
  bool started_ = false;
};

// ---- small file helpers shared by the sources (exposed for tests) ----

// The text without leading and trailing whitespace.
std::string trim(const std::string& s);
// Whole file as text; throws tb::Error naming the file, the errno text and, for EACCES/EPERM, `fix`.
std::string read_text_file(const std::string& path, const std::string& fix = "");
// Unsigned decimal integer with optional surrounding whitespace; throws tb::Error quoting the text.
uint64_t parse_u64(const std::string& text, const std::string& what);
// "Permission denied" and friends, phrased with the path and what to do.
std::string describe_errno(const std::string& path, int err, const std::string& fix);
bool path_exists(const std::string& path);
// Names in a directory (no "." or ".."), sorted; empty when it cannot be listed.
std::vector<std::string> list_dir(const std::string& path);

// Open a file once and re-read it from offset 0 on each call (sysfs attributes regenerate on pread).
class SysfsValue {
 public:
  SysfsValue(const std::string& path, const std::string& fix);  // throws tb::Error (open failure)
  ~SysfsValue();
  SysfsValue(SysfsValue&& o) noexcept;
  SysfsValue(const SysfsValue&) = delete;
  SysfsValue& operator=(const SysfsValue&) = delete;
  uint64_t read_u64() const;  // throws tb::Error naming the file
  const std::string& path() const { return path_; }

 private:
  std::string path_, fix_;
  int fd_ = -1;
};

// ---- every source ----

struct SourcePaths {
  std::string powercap_root = "/sys/class/powercap";
  std::string perf_pmu_dir = "/sys/bus/event_source/devices/power";
  std::string perf_paranoid = "/proc/sys/kernel/perf_event_paranoid";
  std::string msr_dev_dir = "/dev/cpu";
  std::string cpu_sysfs = "/sys/devices/system/cpu";
  std::string cpuinfo = "/proc/cpuinfo";
};

// The hardware sources in the order they are preferred (powercap, perf, msr, powermetrics), each probed:
// check available() and why_not(). Probing reads each counter once and leaves no process running.
std::vector<std::unique_ptr<Meter>> hardware_meters(const SourcePaths& paths = {});
// The first available hardware source, or null.
std::unique_ptr<Meter> best_hardware_meter(const SourcePaths& paths = {});

}  // namespace tb::energy
