// macOS powermetrics as a subprocess: `powermetrics --samplers cpu_power,gpu_power,ane_power -i MS -f plist`
// (root) prints one plist document per sample, separated by NUL bytes (docs/reference.md §8.4). Per sample and
// domain an energy key is preferred (cpu_energy, gpu_energy, ane_energy in mJ; package_joules in J on Intel
// Macs); otherwise power x elapsed_ns (cpu_power, gpu_power, ane_power, combined_power in mW; package_watts
// in W), never power x the requested interval. The keys a run used are reported.
#pragma once
#include <sys/types.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "energy/meter.h"

namespace tb::energy {

struct PowermetricsSample {
  double elapsed_s = 0;                  // elapsed_ns / 1e9: the sample's real length
  std::map<std::string, double> joules;  // "cpu", "gpu", "ane", "combined" (Apple silicon); "package" (Intel Macs)
  std::vector<std::string> keys;         // the plist keys the joules came from, e.g. "cpu_energy", "gpu_power*elapsed_ns"
};

// One plist document (without the NUL). `index` (0-based) is used in error messages.
// Throws tb::Error saying which sample and what is wrong (not a plist, no elapsed_ns, no processor dict,
// no known power or energy key, a negative or non-numeric value).
PowermetricsSample parse_powermetrics_plist(const std::string& doc, int index);

// Splits a byte stream into documents at NUL bytes and parses each.
class PowermetricsParser {
 public:
  void feed(const char* data, size_t n);     // throws tb::Error on a malformed complete document
  std::vector<PowermetricsSample> take();    // samples completed since the last take()
  // End of stream. A complete last document without its NUL is accepted. An incomplete one (no </plist>)
  // throws tb::Error saying the output was truncated, unless allow_truncated, which drops it and returns true.
  bool finish(bool allow_truncated = false);
  int documents() const { return count_; }

 private:
  std::string buf_;
  std::vector<PowermetricsSample> ready_;
  int count_ = 0;
};

// Every sample of a whole recorded output (NUL-separated documents). Throws as PowermetricsParser.
std::vector<PowermetricsSample> parse_powermetrics_output(const std::string& bytes);

struct PowermetricsOptions {
  int interval_ms = 100;              // powermetrics -i: the time resolution of phase boundaries (interpolated within)
  std::vector<std::string> command;   // empty: /usr/bin/powermetrics with the samplers above
  bool check_platform = true;         // false (tests): run `command` on any OS, as any user
};

// A deferred meter: energy for an instant is known once the sample covering it has arrived. Within a
// sample, energy is spread evenly over its elapsed_ns, ending when the document arrived.
class PowermetricsMeter : public Meter {
 public:
  explicit PowermetricsMeter(PowermetricsOptions opt = {});
  ~PowermetricsMeter() override;
  std::string name() const override { return "powermetrics"; }
  std::string title() const override { return "macOS powermetrics (cpu_power, gpu_power, ane_power; plist)"; }
  void start() override;
  Reading read() override;  // read_at(now): waits for the sample covering now
  Reading stop() override;
  bool deferred() const override { return true; }
  Reading read_at(Clock::time_point t) override;
  std::set<std::string> keys_used() const;
  int samples() const;

 private:
  struct Timed {
    Clock::time_point begin, end;
    PowermetricsSample s;
  };
  void reader_loop(int out_fd, int err_fd);
  void wait_for(Clock::time_point t);
  void kill_child();
  PowermetricsOptions opt_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Timed> samples_;
  std::set<std::string> keys_;
  std::string error_, stderr_text_;
  bool exited_ = true, truncated_ = false;
  int exit_status_ = 0;
  pid_t pid_ = -1;
  std::thread reader_;
  Clock::time_point t0_;
};

}  // namespace tb::energy
