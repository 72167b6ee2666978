// Measuring a run: a sampling thread that polls the counters so that no wrap is missed, an optional idle
// baseline, and energy split into prefill and decode (J/token apart, average W).
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "energy/meter.h"

namespace tb::energy {

// Default polling interval: 1 s. Why: a counter can only be unwrapped if it is read at least once per wrap.
// The fastest wrap in practice is a 32-bit counter of 2^-16 J units (AMD Zen, Xeon DRAM): 65536 J, i.e.
// 65 s at kMaxPlausibleWatts = 1000 W on one counter; Intel's usual 2^-14 J unit gives 262144 J (262 s).
// 1 s stays 65x inside the worst case, and a poll (a pread of a few sysfs files or registers) costs tens of
// microseconds of CPU per second: the sampler's own CPU time is measured and reported with every run.
// Phase boundaries are read directly, not from the sampler, so the interval does not limit their precision.
constexpr std::chrono::milliseconds kDefaultSampleInterval{1000};

// Polls meter.sample() every `interval` on its own thread (sleeping on a condition variable in between).
class Sampler {
 public:
  // Throws tb::Error when `interval` is not positive or longer than meter.max_poll_interval_s().
  Sampler(Meter& meter, std::chrono::milliseconds interval);
  ~Sampler();
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;
  void start();
  void stop();  // joins; rethrows the first error a poll raised
  int64_t polls() const { return polls_.load(); }
  double cpu_seconds() const { return cpu_s_; }  // the sampling thread's own CPU time (valid after stop)

 private:
  void loop();
  Meter& meter_;
  std::chrono::milliseconds interval_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::atomic<int64_t> polls_{0};
  double cpu_s_ = 0;
  std::exception_ptr error_;
};

enum class Phase { prefill, decode };

struct RecorderOptions {
  std::chrono::milliseconds interval = kDefaultSampleInterval;
  bool subtract_idle = false;  // subtract the idle baseline (measure_idle) from the phases' energy
};

struct IdleBaseline {
  double seconds = 0;
  std::map<std::string, double> watts;  // per domain
};

struct PhaseEnergy {
  int64_t tokens = 0;
  double seconds = 0;
  std::map<std::string, double> joules;      // as the counters read them (idle power included)
  std::map<std::string, double> net_joules;  // idle baseline subtracted; filled only when asked
};

struct EnergyReport {
  std::string source, title;
  bool estimate = false;
  std::string domain;  // the primary domain the per-token and power figures below use
  PhaseEnergy prefill, decode, run;  // run: start() to stop()
  std::optional<IdleBaseline> idle;
  bool idle_subtracted = false;
  double interval_s = 0;
  int64_t polls = 0;
  double sampler_cpu_s = 0;
  std::vector<std::string> notes;

  // J/token of a phase in `domain` (default: the primary), net of idle when it was subtracted.
  double joules_per_token(Phase p, const std::string& domain = "") const;
  // Average power of a phase as read (idle included), W.
  double average_watts(Phase p, const std::string& domain = "") const;
};

class EnergyRecorder {
 public:
  EnergyRecorder(Meter& meter, RecorderOptions opt = {});
  ~EnergyRecorder();
  // Before start(): reads the meter for `duration` while this thread sleeps. Throws for the estimate.
  const IdleBaseline& measure_idle(std::chrono::milliseconds duration);
  void start();
  void begin(Phase p);
  // `tokens` tokens were processed in this phase step after `context_before` cached positions.
  void end(Phase p, int64_t tokens, int64_t context_before);
  EnergyReport stop();

 private:
  struct Mark {
    Clock::time_point t;
    Reading r;
  };
  Mark mark();
  void resolve(Mark& m);
  Meter& meter_;
  RecorderOptions opt_;
  std::optional<IdleBaseline> idle_;
  std::optional<Sampler> sampler_;
  bool running_ = false;
  Mark start_;
  std::optional<Mark> open_[2];
  struct Span {
    Phase p;
    int64_t tokens;
    Mark a, b;
  };
  std::vector<Span> spans_;
};

// Human-readable summary (the harness prints it).
std::string format_report(const EnergyReport& r);

}  // namespace tb::energy
