#include "energy/recorder.h"

#include <time.h>

#include <cmath>
#include <cstdio>
#include <sstream>

#include "base/error.h"

namespace tb::energy {

// ---- Sampler ----

Sampler::Sampler(Meter& meter, std::chrono::milliseconds interval) : meter_(meter), interval_(interval) {
  if (interval.count() <= 0)
    throw Error("energy sampling interval must be positive (got " + std::to_string(interval.count()) + " ms)");
  const double limit = meter.max_poll_interval_s();
  const double s = double(interval.count()) / 1000.0;
  if (s > limit) {
    char b[256];
    std::snprintf(b, sizeof b,
                  "energy sampling interval %.3f s is longer than %.3g s, the time the fastest-wrapping counter of "
                  "'%s' takes to wrap at %.0f W: a wrap could be missed; use an interval below %.3g s",
                  s, limit, meter.name().c_str(), kMaxPlausibleWatts, limit);
    throw Error(b);
  }
}

Sampler::~Sampler() {
  try {
    stop();
  } catch (...) {
  }
}

void Sampler::start() {
  if (thread_.joinable()) throw Error("energy sampler started twice");
  stop_ = false;
  thread_ = std::thread(&Sampler::loop, this);
}

void Sampler::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (error_) {
    std::exception_ptr e = error_;
    error_ = nullptr;
    std::rethrow_exception(e);
  }
}

void Sampler::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    if (cv_.wait_for(lock, interval_, [&] { return stop_; })) break;
    lock.unlock();
    try {
      meter_.sample();
      ++polls_;
    } catch (...) {
      error_ = std::current_exception();
      lock.lock();
      break;
    }
    lock.lock();
  }
  timespec ts{};
  if (::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0) cpu_s_ = double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

// ---- Report ----

namespace {
const PhaseEnergy& phase_of(const EnergyReport& r, Phase p) { return p == Phase::prefill ? r.prefill : r.decode; }
double lookup(const std::map<std::string, double>& m, const std::string& d) {
  auto it = m.find(d);
  if (it == m.end()) throw Error("energy report has no domain '" + d + "'");
  return it->second;
}
}  // namespace

double EnergyReport::joules_per_token(Phase p, const std::string& d) const {
  const PhaseEnergy& e = phase_of(*this, p);
  if (e.tokens <= 0) return std::nan("");
  const std::string dom = d.empty() ? domain : d;
  return lookup(idle_subtracted ? e.net_joules : e.joules, dom) / double(e.tokens);
}

double EnergyReport::average_watts(Phase p, const std::string& d) const {
  const PhaseEnergy& e = phase_of(*this, p);
  if (!(e.seconds > 0)) return std::nan("");
  return lookup(e.joules, d.empty() ? domain : d) / e.seconds;
}

// ---- Recorder ----

EnergyRecorder::EnergyRecorder(Meter& meter, RecorderOptions opt) : meter_(meter), opt_(opt) {
  if (!meter.available()) throw Error("energy source '" + meter.name() + "' is not available: " + meter.why_not());
}

EnergyRecorder::~EnergyRecorder() {
  if (running_) {
    try {
      if (sampler_) sampler_->stop();
      meter_.stop();
    } catch (...) {
    }
  }
}

const IdleBaseline& EnergyRecorder::measure_idle(std::chrono::milliseconds duration) {
  if (meter_.is_estimate())
    throw Error("the estimate has no idle power: an idle baseline needs a hardware energy source");
  if (running_) throw Error("measure the idle baseline before start(), not during a run");
  if (duration.count() <= 0) throw Error("idle baseline duration must be positive");
  Sampler s(meter_, opt_.interval);
  meter_.start();
  s.start();
  const Clock::time_point t0 = Clock::now();
  std::this_thread::sleep_for(duration);
  Reading r = meter_.deferred() ? meter_.read_at(Clock::now()) : meter_.read();
  s.stop();
  meter_.stop();
  IdleBaseline b;
  b.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!meter_.deferred()) b.seconds = r.seconds;
  for (const auto& kv : r.joules) b.watts[kv.first] = kv.second / b.seconds;
  idle_ = b;
  return *idle_;
}

EnergyRecorder::Mark EnergyRecorder::mark() {
  Mark m;
  m.t = Clock::now();
  if (!meter_.deferred()) m.r = meter_.read();
  return m;
}

void EnergyRecorder::resolve(Mark& m) {
  if (meter_.deferred()) m.r = meter_.read_at(m.t);
}

void EnergyRecorder::start() {
  if (running_) throw Error("energy recorder started twice");
  if (opt_.subtract_idle && !idle_)
    throw Error("subtracting the idle baseline was asked for, but none was measured: call measure_idle() first");
  sampler_.emplace(meter_, opt_.interval);
  meter_.start();
  sampler_->start();
  running_ = true;
  start_ = mark();
  spans_.clear();
}

void EnergyRecorder::begin(Phase p) {
  if (!running_) throw Error("energy recorder: begin() before start()");
  open_[int(p)] = mark();
}

void EnergyRecorder::end(Phase p, int64_t tokens, int64_t context_before) {
  if (!running_) throw Error("energy recorder: end() before start()");
  if (!open_[int(p)])
    throw Error(std::string("energy recorder: end(") + (p == Phase::prefill ? "prefill" : "decode") +
                ") without begin()");
  Work w;
  w.prefill = p == Phase::prefill;
  w.tokens = tokens;
  w.context_before = context_before;
  meter_.add_work(w);
  spans_.push_back({p, tokens, *open_[int(p)], mark()});
  open_[int(p)].reset();
}

EnergyReport EnergyRecorder::stop() {
  if (!running_) throw Error("energy recorder: stop() before start()");
  Mark end = mark();
  running_ = false;
  std::exception_ptr err;
  try {
    sampler_->stop();
  } catch (...) {
    err = std::current_exception();
  }
  EnergyReport rep;
  rep.polls = sampler_->polls();
  rep.sampler_cpu_s = sampler_->cpu_seconds();
  if (meter_.deferred()) {
    end.r = meter_.stop();  // waits for the sample covering the end, then stops the tool
    resolve(start_);
    for (Span& s : spans_) {
      resolve(s.a);
      resolve(s.b);
    }
  } else {
    meter_.stop();
  }
  if (err) std::rethrow_exception(err);

  rep.source = meter_.name();
  rep.title = meter_.title();
  rep.estimate = meter_.is_estimate();
  rep.domain = meter_.primary_domain();
  rep.interval_s = double(opt_.interval.count()) / 1000.0;
  rep.notes = meter_.notes();
  rep.idle = idle_;
  rep.idle_subtracted = opt_.subtract_idle;

  auto add = [&](PhaseEnergy& pe, int64_t tokens, const Reading& d, double seconds) {
    pe.tokens += tokens;
    pe.seconds += seconds;
    for (const auto& kv : d.joules) {
      pe.joules[kv.first] += kv.second;
      if (opt_.subtract_idle) {
        auto it = idle_->watts.find(kv.first);
        pe.net_joules[kv.first] += kv.second - (it == idle_->watts.end() ? 0.0 : it->second * seconds);
      }
    }
  };
  for (const Span& s : spans_) {
    const double secs = std::chrono::duration<double>(s.b.t - s.a.t).count();
    add(s.p == Phase::prefill ? rep.prefill : rep.decode, s.tokens, difference(s.b.r, s.a.r), secs);
  }
  int64_t all_tokens = rep.prefill.tokens + rep.decode.tokens;
  add(rep.run, all_tokens, difference(end.r, start_.r), std::chrono::duration<double>(end.t - start_.t).count());
  if (rep.domain.empty() && !rep.run.joules.empty()) rep.domain = rep.run.joules.begin()->first;
  return rep;
}

std::string format_report(const EnergyReport& r) {
  std::ostringstream o;
  char b[512];
  o << "energy source: " << r.title << (r.estimate ? "  [ESTIMATE, not a measurement]" : "") << "\n";
  if (r.idle) {
    o << "idle baseline (" << r.idle->seconds << " s):";
    for (const auto& kv : r.idle->watts) {
      std::snprintf(b, sizeof b, " %s %.2f W", kv.first.c_str(), kv.second);
      o << b;
    }
    o << (r.idle_subtracted ? "  (subtracted below)" : "  (not subtracted)") << "\n";
  }
  o << "| phase | tokens | s | J (" << r.domain << ") | J/token" << (r.idle_subtracted ? " (net of idle)" : "")
    << " | avg W |\n|---|---|---|---|---|---|\n";
  auto row = [&](const char* name, const PhaseEnergy& e) {
    auto it = e.joules.find(r.domain);
    const double j = it == e.joules.end() ? std::nan("") : it->second;
    double jpt = std::nan("");
    if (e.tokens > 0) {
      const auto& m = r.idle_subtracted ? e.net_joules : e.joules;
      auto jt = m.find(r.domain);
      if (jt != m.end()) jpt = jt->second / double(e.tokens);
    }
    std::snprintf(b, sizeof b, "| %s | %lld | %.3f | %.4g | %.4g | %.4g |\n", name, static_cast<long long>(e.tokens),
                  e.seconds, j, jpt, e.seconds > 0 ? j / e.seconds : std::nan(""));
    o << b;
  };
  row("prefill", r.prefill);
  row("decode", r.decode);
  row("whole run", r.run);
  if (r.run.joules.size() > 1) {
    o << "all domains over the run:";
    for (const auto& kv : r.run.joules) {
      std::snprintf(b, sizeof b, " %s %.4g J", kv.first.c_str(), kv.second);
      o << b;
    }
    o << "\n";
  }
  if (!r.estimate) {
    std::snprintf(b, sizeof b, "sampler: every %.3g s, %lld polls, %.2f ms of its own CPU time\n", r.interval_s,
                  static_cast<long long>(r.polls), r.sampler_cpu_s * 1e3);
    o << b;
  }
  for (const auto& n : r.notes) o << "note: " << n << "\n";
  return o.str();
}

}  // namespace tb::energy
