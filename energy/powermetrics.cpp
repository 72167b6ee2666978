#include "energy/powermetrics.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "base/error.h"

extern char** environ;

namespace tb::energy {

namespace {

// ---- a minimal XML property-list reader: dict, array, key, string, integer, real, true, false, date, data ----

struct Value {
  enum Kind { dict, array, string, integer, real, boolean, date, data } kind = string;
  std::string text;  // scalars
  std::vector<std::pair<std::string, Value>> items;  // dict
  std::vector<Value> elems;                          // array
  const Value* get(const std::string& k) const {
    for (const auto& kv : items)
      if (kv.first == k) return &kv.second;
    return nullptr;
  }
};

class PlistReader {
 public:
  PlistReader(const std::string& s, int index) : s_(s), index_(index) {}

  Value document() {
    skip_misc();
    // <plist version="1.0"> value </plist>
    std::string tag = open_tag();
    if (tag != "plist") fail("expected <plist>, found <" + tag + ">");
    if (self_closed_) fail("empty <plist/>");
    Value v = value();
    skip_ws();
    close_tag("plist");
    skip_misc();
    if (pos_ != s_.size()) fail("text after </plist>");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error("powermetrics sample " + std::to_string(index_) + ": not a valid plist: " + what + " (at byte " +
                std::to_string(pos_) + " of " + std::to_string(s_.size()) + ")");
  }
  void skip_ws() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  // XML declaration, DOCTYPE, comments and whitespace.
  void skip_misc() {
    for (;;) {
      skip_ws();
      if (s_.compare(pos_, 2, "<?") == 0) {
        const size_t e = s_.find("?>", pos_);
        if (e == std::string::npos) fail("unterminated <?...?>");
        pos_ = e + 2;
      } else if (s_.compare(pos_, 4, "<!--") == 0) {
        const size_t e = s_.find("-->", pos_);
        if (e == std::string::npos) fail("unterminated comment");
        pos_ = e + 3;
      } else if (s_.compare(pos_, 2, "<!") == 0) {
        const size_t e = s_.find('>', pos_);
        if (e == std::string::npos) fail("unterminated <!DOCTYPE");
        pos_ = e + 1;
      } else {
        return;
      }
    }
  }
  // Reads "<name attrs>" or "<name/>"; sets self_closed_.
  std::string open_tag() {
    skip_misc();
    if (pos_ >= s_.size()) fail("document ends where a tag was expected");
    if (s_[pos_] != '<' || s_.compare(pos_, 2, "</") == 0) fail("expected an opening tag");
    const size_t e = s_.find('>', pos_);
    if (e == std::string::npos) fail("unterminated tag");
    std::string inside = s_.substr(pos_ + 1, e - pos_ - 1);
    pos_ = e + 1;
    self_closed_ = !inside.empty() && inside.back() == '/';
    if (self_closed_) inside.pop_back();
    const size_t sp = inside.find_first_of(" \t\r\n");
    return inside.substr(0, sp);
  }
  void close_tag(const std::string& name) {
    skip_ws();
    const std::string want = "</" + name + ">";
    if (s_.compare(pos_, want.size(), want) != 0) fail("expected " + want);
    pos_ += want.size();
  }
  bool at_close(const std::string& name) {
    skip_misc();
    return s_.compare(pos_, name.size() + 2, "</" + name) == 0;
  }
  std::string text_until_close(const std::string& name) {
    const std::string want = "</" + name + ">";
    const size_t e = s_.find(want, pos_);
    if (e == std::string::npos) fail("missing " + want);
    std::string raw = s_.substr(pos_, e - pos_);
    pos_ = e + want.size();
    if (raw.find('<') != std::string::npos) fail("markup inside <" + name + ">");
    return unescape(raw);
  }
  std::string unescape(const std::string& r) {
    std::string o;
    for (size_t i = 0; i < r.size(); ++i) {
      if (r[i] != '&') {
        o += r[i];
        continue;
      }
      const size_t semi = r.find(';', i);
      if (semi == std::string::npos) fail("bad entity");
      const std::string ent = r.substr(i + 1, semi - i - 1);
      if (ent == "amp") o += '&';
      else if (ent == "lt") o += '<';
      else if (ent == "gt") o += '>';
      else if (ent == "quot") o += '"';
      else if (ent == "apos") o += '\'';
      else if (!ent.empty() && ent[0] == '#') {
        const long c = ent.size() > 1 && ent[1] == 'x' ? std::strtol(ent.c_str() + 2, nullptr, 16)
                                                        : std::strtol(ent.c_str() + 1, nullptr, 10);
        o += c > 0 && c < 128 ? char(c) : '?';
      } else {
        fail("unknown entity &" + ent + ";");
      }
      i = semi;
    }
    return o;
  }
  Value value() {
    const std::string tag = open_tag();
    Value v;
    if (tag == "dict") {
      v.kind = Value::dict;
      if (self_closed_) return v;
      while (!at_close("dict")) {
        if (s_.compare(pos_, 5, "<key>") != 0) fail("expected <key> or </dict> in <dict>");
        open_tag();
        std::string k = text_until_close("key");
        v.items.emplace_back(std::move(k), value());
      }
      close_tag("dict");
    } else if (tag == "array") {
      v.kind = Value::array;
      if (self_closed_) return v;
      while (!at_close("array")) v.elems.push_back(value());
      close_tag("array");
    } else if (tag == "true" || tag == "false") {
      if (!self_closed_) close_tag(tag);
      v.kind = Value::boolean;
      v.text = tag;
    } else if (tag == "string" || tag == "integer" || tag == "real" || tag == "date" || tag == "data") {
      v.kind = tag == "string" ? Value::string : tag == "integer" ? Value::integer : tag == "real" ? Value::real
             : tag == "date" ? Value::date : Value::data;
      if (!self_closed_) v.text = text_until_close(tag);
    } else {
      fail("unknown element <" + tag + ">");
    }
    return v;
  }

  const std::string& s_;
  int index_;
  size_t pos_ = 0;
  bool self_closed_ = false;
};

}  // namespace

PowermetricsSample parse_powermetrics_plist(const std::string& doc, int index) {
  const std::string where = "powermetrics sample " + std::to_string(index);
  const Value top = PlistReader(doc, index).document();
  if (top.kind != Value::dict) throw Error(where + ": the plist's top level is not a <dict>");

  auto number = [&](const Value* v, const std::string& key) -> double {
    if (v->kind != Value::integer && v->kind != Value::real)
      throw Error(where + ": " + key + " is not a number");
    const std::string t = trim(v->text);
    char* end = nullptr;
    const double x = std::strtod(t.c_str(), &end);
    if (t.empty() || end != t.c_str() + t.size() || !std::isfinite(x))
      throw Error(where + ": " + key + " = \"" + t + "\" is not a number");
    if (x < 0) throw Error(where + ": " + key + " = " + t + " is negative");
    return x;
  };

  PowermetricsSample s;
  const Value* el = top.get("elapsed_ns");
  if (!el) throw Error(where + ": no elapsed_ns (the sample's real length), cannot turn power into energy");
  s.elapsed_s = number(el, "elapsed_ns") * 1e-9;
  if (!(s.elapsed_s > 0)) throw Error(where + ": elapsed_ns is 0");
  const Value* proc = top.get("processor");
  if (!proc || proc->kind != Value::dict)
    throw Error(where + ": no 'processor' dict (run powermetrics with --samplers cpu_power,gpu_power,ane_power)");

  // One domain: the energy key (mJ) if present, else the power key (mW) x elapsed.
  bool all_energy = true;
  for (const char* d : {"cpu", "gpu", "ane"}) {
    const std::string ek = std::string(d) + "_energy", pk = std::string(d) + "_power";
    if (const Value* v = proc->get(ek)) {
      s.joules[d] = number(v, ek) * 1e-3;
      s.keys.push_back(ek);
    } else if (const Value* p = proc->get(pk)) {
      s.joules[d] = number(p, pk) * 1e-3 * s.elapsed_s;
      s.keys.push_back(pk + "*elapsed_ns");
      all_energy = false;
    } else {
      all_energy = false;
    }
  }
  if (s.joules.size() == 3 && all_energy) {
    s.joules["combined"] = s.joules["cpu"] + s.joules["gpu"] + s.joules["ane"];
    s.keys.push_back("combined=cpu_energy+gpu_energy+ane_energy");
  } else if (const Value* c = proc->get("combined_power")) {
    s.joules["combined"] = number(c, "combined_power") * 1e-3 * s.elapsed_s;
    s.keys.push_back("combined_power*elapsed_ns");
  } else if (!s.joules.empty()) {
    double sum = 0;
    for (const auto& kv : s.joules) sum += kv.second;
    s.joules["combined"] = sum;
    s.keys.push_back("combined=sum of the domains present");
  }
  // Intel Macs.
  if (const Value* v = proc->get("package_joules")) {
    s.joules["package"] = number(v, "package_joules");
    s.keys.push_back("package_joules");
  } else if (const Value* p = proc->get("package_watts")) {
    s.joules["package"] = number(p, "package_watts") * s.elapsed_s;
    s.keys.push_back("package_watts*elapsed_ns");
  }
  if (s.joules.empty()) {
    std::string have;
    for (const auto& kv : proc->items) have += (have.empty() ? "" : ", ") + kv.first;
    throw Error(where + ": the processor dict has no power or energy key (cpu_energy, cpu_power, combined_power, "
                "package_joules, package_watts); it has: " + (have.empty() ? "nothing" : have));
  }
  return s;
}

void PowermetricsParser::feed(const char* data, size_t n) {
  buf_.append(data, n);
  size_t start = 0;
  for (;;) {
    const size_t nul = buf_.find('\0', start);
    if (nul == std::string::npos) break;
    const std::string doc = buf_.substr(start, nul - start);
    start = nul + 1;
    if (trim(doc).empty()) continue;
    ready_.push_back(parse_powermetrics_plist(doc, count_++));
  }
  buf_.erase(0, start);
}

std::vector<PowermetricsSample> PowermetricsParser::take() {
  std::vector<PowermetricsSample> out;
  out.swap(ready_);
  return out;
}

bool PowermetricsParser::finish(bool allow_truncated) {
  const std::string rest = trim(buf_);
  buf_.clear();
  if (rest.empty()) return false;
  if (rest.find("</plist>") != std::string::npos) {
    ready_.push_back(parse_powermetrics_plist(rest, count_++));
    return false;
  }
  if (allow_truncated) return true;
  throw Error("powermetrics output truncated: sample " + std::to_string(count_) + " ends after " +
              std::to_string(rest.size()) + " bytes without </plist> (the tool was stopped mid-write, or the "
              "recording is cut)");
}

std::vector<PowermetricsSample> parse_powermetrics_output(const std::string& bytes) {
  PowermetricsParser p;
  p.feed(bytes.data(), bytes.size());
  p.finish();
  return p.take();
}

// ---- the meter ----

PowermetricsMeter::PowermetricsMeter(PowermetricsOptions opt) : opt_(std::move(opt)) {
  if (opt_.command.empty())
    opt_.command = {"/usr/bin/powermetrics", "--samplers", "cpu_power,gpu_power,ane_power", "-i",
                    std::to_string(opt_.interval_ms), "-f", "plist"};
  if (opt_.interval_ms <= 0) why_not_ = "powermetrics interval must be positive (got " + std::to_string(opt_.interval_ms) + " ms)";
  if (opt_.check_platform && why_not_.empty()) {
#ifdef __APPLE__
    if (!path_exists(opt_.command[0])) why_not_ = opt_.command[0] + " not found (powermetrics ships with macOS)";
    else if (::geteuid() != 0) why_not_ = "powermetrics needs root: run the harness with sudo";
#else
    why_not_ = "macOS only (powermetrics is Apple's tool; this is not macOS)";
#endif
  }
#if defined(__aarch64__) || defined(__arm64__)
  primary_ = "combined";
  domains_ = {"cpu", "gpu", "ane", "combined"};
#else
  primary_ = "package";
  domains_ = {"package"};
#endif
}

PowermetricsMeter::~PowermetricsMeter() {
  kill_child();
  if (reader_.joinable()) reader_.join();
}

void PowermetricsMeter::kill_child() {
  std::lock_guard<std::mutex> lock(mu_);
  if (pid_ > 0 && !exited_) ::kill(pid_, SIGINT);
}

void PowermetricsMeter::start() {
  if (!available()) throw Error("energy source 'powermetrics' is not available: " + why_not_);
  if (reader_.joinable()) throw Error("powermetrics meter started twice");
  int out[2], err[2];
  if (::pipe(out) != 0 || ::pipe(err) != 0) throw Error(std::string("pipe: ") + std::strerror(errno));
  for (int fd : {out[0], err[0]}) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  posix_spawn_file_actions_addclose(&fa, err[0]);
  std::vector<char*> argv;
  for (auto& a : opt_.command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    ::close(out[0]);
    ::close(err[0]);
    throw Error("cannot start " + opt_.command[0] + ": " + std::strerror(rc));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    pid_ = pid;
    exited_ = false;
    samples_.clear();
    error_.clear();
    t0_ = Clock::now();
  }
  reader_ = std::thread(&PowermetricsMeter::reader_loop, this, out[0], err[0]);
}

void PowermetricsMeter::reader_loop(int out_fd, int err_fd) {
  // A sample ends when its document arrives and began elapsed_ns earlier (not before the tool started).
  auto push = [this](std::vector<PowermetricsSample> got, Clock::time_point now) {  // mu_ held
    for (auto& s : got) {
      Timed t;
      t.end = now;
      t.begin = std::max(t0_, now - std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s.elapsed_s)));
      keys_.insert(s.keys.begin(), s.keys.end());
      t.s = std::move(s);
      samples_.push_back(std::move(t));
    }
  };
  PowermetricsParser parser;
  std::string err_text;
  bool out_open = true, err_open = true;
  bool truncated = false;
  std::string failure;
  char buf[65536];
  while (out_open || err_open) {
    pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      failure = std::string("poll: ") + std::strerror(errno);
      break;
    }
    if (out_open && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      const ssize_t n = ::read(out_fd, buf, sizeof buf);
      if (n <= 0) {
        out_open = false;
      } else if (failure.empty()) {
        try {
          parser.feed(buf, size_t(n));
        } catch (const Error& e) {
          failure = e.what();
          {
            std::lock_guard<std::mutex> lock(mu_);
            error_ = failure;
          }
          cv_.notify_all();
          kill_child();
          continue;  // drain the pipes until the tool exits; nothing more is trusted
        }
        {
          std::lock_guard<std::mutex> lock(mu_);
          push(parser.take(), Clock::now());
        }
        cv_.notify_all();
      }
    }
    if (err_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      const ssize_t n = ::read(err_fd, buf, sizeof buf);
      if (n <= 0) err_open = false;
      else if (err_text.size() < 4096) err_text.append(buf, size_t(n));
    }
  }
  ::close(out_fd);
  ::close(err_fd);
  if (failure.empty()) {
    try {
      truncated = parser.finish(/*allow_truncated=*/true);
    } catch (const Error& e) {
      failure = e.what();
    }
  }
  int status = 0;
  ::waitpid(pid_, &status, 0);
  const Clock::time_point now = Clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  if (failure.empty()) push(parser.take(), now);
  truncated_ = truncated;
  exit_status_ = status;
  stderr_text_ = trim(err_text);
  error_ = failure;
  exited_ = true;
  cv_.notify_all();
}

void PowermetricsMeter::wait_for(Clock::time_point t) {
  std::unique_lock<std::mutex> lock(mu_);
  const auto timeout = std::chrono::milliseconds(5 * opt_.interval_ms + 2000);
  const bool ok = cv_.wait_for(lock, timeout, [&] {
    return exited_ || !error_.empty() || (!samples_.empty() && samples_.back().end >= t);
  });
  if (!error_.empty()) throw Error(error_);
  if (!ok)
    throw Error("powermetrics produced no sample covering the requested time within " +
                std::to_string(timeout.count()) + " ms (interval " + std::to_string(opt_.interval_ms) + " ms)");
  if (exited_ && samples_.empty()) {
    std::string m = opt_.command[0] + " exited without a sample";
    if (WIFEXITED(exit_status_)) m += " (status " + std::to_string(WEXITSTATUS(exit_status_)) + ")";
    if (!stderr_text_.empty()) m += ": " + stderr_text_;
    throw Error(m);
  }
}

Reading PowermetricsMeter::read_at(Clock::time_point t) {
  if (pid_ < 0) throw Error("energy source 'powermetrics': read before start()");
  wait_for(t);
  std::lock_guard<std::mutex> lock(mu_);
  Reading r;
  r.seconds = std::chrono::duration<double>(t - t0_).count();
  for (const Timed& s : samples_) {
    double frac;
    if (s.end <= t) frac = 1.0;
    else if (s.begin >= t) frac = 0.0;
    else frac = std::chrono::duration<double>(t - s.begin).count() / std::chrono::duration<double>(s.end - s.begin).count();
    for (const auto& kv : s.s.joules) r.joules[kv.first] += frac * kv.second;
  }
  domains_.clear();
  for (const char* d : {"cpu", "gpu", "ane", "combined", "package"})
    if (r.joules.count(d)) domains_.push_back(d);
  if (!domains_.empty()) primary_ = r.joules.count("combined") ? "combined" : domains_.front();
  return r;
}

Reading PowermetricsMeter::read() { return read_at(Clock::now()); }

Reading PowermetricsMeter::stop() {
  const Clock::time_point t = Clock::now();
  Reading r = read_at(t);  // waits for the sample covering the stop time
  kill_child();
  if (reader_.joinable()) reader_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!error_.empty()) throw Error(error_);  // malformed output anywhere: the run's numbers are not trusted
  }
  if (truncated_) notes_.push_back("the last powermetrics sample was cut off when the tool stopped; it was dropped");
  return r;
}

std::set<std::string> PowermetricsMeter::keys_used() const {
  std::lock_guard<std::mutex> lock(mu_);
  return keys_;
}

int PowermetricsMeter::samples() const {
  std::lock_guard<std::mutex> lock(mu_);
  return int(samples_.size());
}

}  // namespace tb::energy
