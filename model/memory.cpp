// Memory checks before large allocations (model/memory.h).
#include "model/memory.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "base/error.h"

namespace tb {

size_t available_memory_bytes() {
#ifdef __linux__
  std::ifstream in("/proc/meminfo");
  std::string key;
  size_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
#endif
#if defined(_SC_AVPHYS_PAGES) && defined(_SC_PAGESIZE)
  const long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) return size_t(pages) * size_t(page);
#endif
  return 0;
}

namespace {
std::string gib(size_t b) {
  std::ostringstream o;
  o.precision(2);
  o << std::fixed << double(b) / double(size_t(1) << 30) << " GiB";
  return o.str();
}
}  // namespace

void check_memory(size_t need, const std::string& what) {
  const size_t have = available_memory_bytes();
  if (have && need > have)
    throw Error(what + " needs " + gib(need) + " but only " + gib(have) +
                " is available; choose a smaller model, a shorter context, or free memory");
}

}  // namespace tb
