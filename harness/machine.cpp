#include "harness/machine.h"

#include <omp.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>
#ifdef __linux__
#include <sched.h>
#endif

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <utility>

#include "base/error.h"
#include "kernels/cpu_features.h"

#if __has_include("tb_commit.h")
#include "tb_commit.h"  // generated at build time (cmake/git_commit.cmake); not on the include path of the tests
#endif
#ifndef TB_GIT_COMMIT
#define TB_GIT_COMMIT "unknown"
#endif
#ifndef TB_CXX_FLAGS
#define TB_CXX_FLAGS "unknown"
#endif

namespace tb {

using json = nlohmann::json;

namespace {
size_t physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? size_t(pages) * size_t(page) : 0;
}
}  // namespace

json machine_fingerprint() {
  const CpuInfo& cpu = cpu_info();
  utsname u{};
  uname(&u);
  char host[256] = "unknown";
  gethostname(host, sizeof host - 1);
  json m;
  m["host"] = host;
  m["cpu"] = cpu.model;
  m["cpu_flags"] = cpu.flags;
  m["logical_cpus"] = omp_get_num_procs();
  m["memory_bytes"] = physical_memory_bytes();
  m["os"] = std::string(u.sysname) + " " + u.release + " " + u.machine;
#if defined(__clang__)
  m["compiler"] = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  m["compiler"] = std::string("gcc ") + __VERSION__;
#else
  m["compiler"] = "unknown";
#endif
  m["cxx_flags"] = TB_CXX_FLAGS;
  m["isa"] = isa_name(best_allowed_isa());
  m["commit"] = TB_GIT_COMMIT;
  return m;
}

double fork_join_seconds(int threads) {
  static std::map<int, double> memo;
  if (auto it = memo.find(threads); it != memo.end()) return it->second;
  std::vector<double> v;
  for (int b = 0; b < 8; ++b) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 200; ++i) {
#pragma omp parallel num_threads(threads)
      { __asm__ __volatile__("" ::: "memory"); }
    }
    if (b > 0) v.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 200);
  }
  std::sort(v.begin(), v.end());
  return memo[threads] = v[v.size() / 2];
}

bool reset_peak_rss() {
#ifdef __linux__
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.flush();
  return bool(f);
#else
  return false;
#endif
}
size_t peak_rss_bytes() {
#ifdef __linux__
  std::ifstream in("/proc/self/status");
  for (std::string key; in >> key;) {
    if (key == "VmHWM:") {
      size_t kb = 0;
      in >> kb;
      return kb * 1024;
    }
    in.ignore(1 << 20, '\n');
  }
#endif
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
#ifdef __APPLE__
  return size_t(ru.ru_maxrss);  // bytes on macOS
#else
  return size_t(ru.ru_maxrss) * 1024;
#endif
}

// compact: logical CPUs in order; cores: one thread per physical core first, then the SMT siblings.
std::vector<int> pin_order(const std::string& mode) {
#ifdef __linux__
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) throw Error("--pin: cannot read this process's CPU affinity");
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  if (mode == "compact") return cpus;
  // cores: rank each CPU by its position among the SMT siblings of its core.
  std::map<std::pair<int, int>, int> seen;  // (package, core) -> siblings seen so far
  std::vector<std::pair<int, int>> ranked;  // (sibling rank, cpu)
  for (int c : cpus) {
    auto read_int = [&](const char* what) {
      std::ifstream f("/sys/devices/system/cpu/cpu" + std::to_string(c) + "/topology/" + what);
      int v = -1;
      f >> v;
      return v;
    };
    const int rank = seen[{read_int("physical_package_id"), read_int("core_id")}]++;
    ranked.push_back({rank, c});
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](auto& a, auto& b) { return a.first < b.first; });
  std::vector<int> out;
  for (auto& r : ranked) out.push_back(r.second);
  return out;
#else
  (void)mode;
  throw Error("--pin needs Linux (sched_setaffinity); on this OS leave threads to the scheduler (--pin none)");
#endif
}
void pin_threads(const std::vector<int>& order, int threads) {
#ifdef __linux__
  bool ok = true;
#pragma omp parallel num_threads(threads) reduction(&& : ok)
  {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(order[size_t(omp_get_thread_num()) % order.size()], &set);
    ok = sched_setaffinity(0, sizeof set, &set) == 0;
  }
  if (!ok) throw Error("--pin: sched_setaffinity failed (a container limiting CPUs?); run with --pin none");
#else
  (void)order;
  (void)threads;
#endif
}

}  // namespace tb
