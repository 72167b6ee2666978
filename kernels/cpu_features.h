// Run-time ISA selection. A path is used when it was compiled in AND this CPU (and OS) supports it;
// TERNBENCH_ISA=<path> forces one, for tests and experiments.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tb {

// Paths are bit flags, best last. A kernel variant carries exactly one.
enum class Isa : uint32_t {
  scalar = 1u << 0,
  neon = 1u << 1,
  avx2 = 1u << 2,        // AVX2 + FMA + F16C
  avx512vnni = 1u << 3,  // AVX-512 F/BW/VL + VNNI, with ZMM state enabled by the OS
};

const char* isa_name(Isa isa);
// Parses "scalar", "neon", "avx2", "avx512vnni"; throws tb::Error naming the valid names otherwise.
Isa parse_isa(const std::string& name);

struct CpuInfo {
  std::string model;            // brand string, or "unknown"
  std::vector<std::string> flags;  // the features that matter to ternbench, as found
  uint32_t supported = 0;       // Isa bits this CPU and OS can run (and that this binary carries)
  std::string notes;            // why a path is missing, e.g. "avx512: OS does not save ZMM state"
};

// Detected once (CPUID + XGETBV on x86, HWCAP on ARM).
const CpuInfo& cpu_info();
bool cpu_supports(Isa isa);

// The paths allowed for kernel selection: every supported path, or {scalar, forced} when
// TERNBENCH_ISA is set (or set_forced_isa was called). Forcing a path the CPU lacks throws tb::Error.
uint32_t allowed_isas();
// The widest of the allowed paths (avx512vnni > avx2 > neon > scalar): what a format's best variant uses.
Isa best_allowed_isa();
void set_forced_isa(const std::string& name);  // overrides the environment; "auto": best path; "": back to TERNBENCH_ISA
std::string forced_isa();                        // "" when not forced

}  // namespace tb
