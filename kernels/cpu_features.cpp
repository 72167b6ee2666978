#include "kernels/cpu_features.h"

#include <cstdlib>
#include <cstring>
#include <mutex>

#include "base/error.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#define TB_DETECT_X86 1
#elif defined(__aarch64__)
#include <sys/auxv.h>
#define TB_DETECT_ARM 1
#endif

namespace tb {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::neon: return "neon";
    case Isa::avx2: return "avx2";
    case Isa::avx512vnni: return "avx512vnni";
  }
  return "?";
}

Isa parse_isa(const std::string& name) {
  for (Isa i : {Isa::scalar, Isa::neon, Isa::avx2, Isa::avx512vnni})
    if (name == isa_name(i)) return i;
  throw Error("unknown ISA path '" + name + "': use one of scalar, neon, avx2, avx512vnni (or auto)");
}

namespace {

#ifdef TB_DETECT_X86
uint64_t xgetbv0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t(hi) << 32) | lo;
}
#endif

CpuInfo detect() {
  CpuInfo c;
  c.model = "unknown";
  c.supported = uint32_t(Isa::scalar);
  auto flag = [&](bool on, const char* n) { if (on) c.flags.push_back(n); return on; };
#ifdef TB_DETECT_X86
  unsigned a = 0, b = 0, cx = 0, d = 0;
  char brand[49] = {0};
  if (__get_cpuid_max(0x80000000, nullptr) >= 0x80000004) {
    for (unsigned i = 0; i < 3; ++i) {
      __get_cpuid(0x80000002 + i, &a, &b, &cx, &d);
      std::memcpy(brand + 16 * i, &a, 4); std::memcpy(brand + 16 * i + 4, &b, 4);
      std::memcpy(brand + 16 * i + 8, &cx, 4); std::memcpy(brand + 16 * i + 12, &d, 4);
    }
    std::string s(brand);
    size_t f = s.find_first_not_of(' '), l = s.find_last_not_of(' ');
    if (f != std::string::npos) c.model = s.substr(f, l - f + 1);
  }
  __get_cpuid(1, &a, &b, &cx, &d);
  const bool osxsave = (cx >> 27) & 1, avx = (cx >> 28) & 1, fma = (cx >> 12) & 1, f16c = (cx >> 29) & 1;
  const uint64_t xcr0 = osxsave ? xgetbv0() : 0;
  const bool ymm_os = (xcr0 & 0x6) == 0x6;     // SSE and AVX state
  const bool zmm_os = (xcr0 & 0xE6) == 0xE6;   // plus opmask, ZMM_Hi256, Hi16_ZMM
  unsigned max_leaf = __get_cpuid_max(0, nullptr);
  unsigned b7 = 0, c7 = 0, d7 = 0;
  if (max_leaf >= 7) __cpuid_count(7, 0, a, b7, c7, d7);
  flag(avx, "avx");
  flag(fma, "fma");
  flag(f16c, "f16c");
  const bool avx2 = flag((b7 >> 5) & 1, "avx2");
  const bool f512 = flag((b7 >> 16) & 1, "avx512f");
  const bool bw = flag((b7 >> 30) & 1, "avx512bw");
  const bool vl = flag((b7 >> 31) & 1, "avx512vl");
  const bool vnni = flag((c7 >> 11) & 1, "avx512vnni");
  flag((c7 >> 1) & 1, "avx512vbmi");
  if (avx && avx2 && fma && f16c && ymm_os) c.supported |= uint32_t(Isa::avx2);
  else c.notes += "avx2: needs AVX, AVX2, FMA, F16C and OS-saved YMM state; ";
  if (f512 && bw && vl && vnni && zmm_os) c.supported |= uint32_t(Isa::avx512vnni);
  else if (f512 && !zmm_os) c.notes += "avx512vnni: the OS does not save ZMM state (XCR0); ";
  else c.notes += "avx512vnni: needs AVX-512 F, BW, VL and VNNI; ";
#elif defined(TB_DETECT_ARM)
  c.model = "aarch64";
  flag(true, "asimd");
#ifdef HWCAP_ASIMDDP
  flag(getauxval(AT_HWCAP) & HWCAP_ASIMDDP, "asimddp");
#endif
  c.supported |= uint32_t(Isa::neon);  // Advanced SIMD is mandatory on AArch64
#else
  c.notes += "no SIMD paths for this architecture; ";
#endif
  // Only paths this binary carries.
  uint32_t compiled = uint32_t(Isa::scalar);
#ifdef TB_HAVE_X86_KERNELS
  compiled |= uint32_t(Isa::avx2) | uint32_t(Isa::avx512vnni);
#endif
#ifdef TB_HAVE_NEON_KERNELS
  compiled |= uint32_t(Isa::neon);
#endif
  c.supported &= compiled;
  return c;
}

std::mutex g_mu;
bool g_forced_set = false;  // set_forced_isa overrides the environment
std::string g_forced;

}  // namespace

const CpuInfo& cpu_info() {
  static const CpuInfo info = detect();
  return info;
}

bool cpu_supports(Isa isa) { return cpu_info().supported & uint32_t(isa); }

void set_forced_isa(const std::string& name) {
  if (!name.empty() && name != "auto") parse_isa(name);  // validate early
  std::lock_guard<std::mutex> lk(g_mu);
  g_forced_set = !name.empty();
  g_forced = (name == "auto") ? "" : name;
}

std::string forced_isa() {
  std::lock_guard<std::mutex> lk(g_mu);
  if (g_forced_set) return g_forced;
  const char* e = std::getenv("TERNBENCH_ISA");
  std::string s = e ? e : "";
  return s == "auto" ? "" : s;
}

uint32_t allowed_isas() {
  const std::string f = forced_isa();
  if (f.empty()) return cpu_info().supported;
  const Isa isa = parse_isa(f);
  if (!cpu_supports(isa))
    throw Error("TERNBENCH_ISA=" + f + " but this CPU or build cannot run that path (" +
                (cpu_info().notes.empty() ? std::string("not compiled for this architecture") : cpu_info().notes) +
                "); unset it or pick a supported path (harness kernels lists them)");
  return uint32_t(Isa::scalar) | uint32_t(isa);
}

Isa best_allowed_isa() {
  const uint32_t allowed = allowed_isas();
  Isa best = Isa::scalar;
  for (Isa i : {Isa::scalar, Isa::neon, Isa::avx2, Isa::avx512vnni})
    if (allowed & uint32_t(i)) best = i;
  return best;
}

}  // namespace tb
