#include "kernels/peak.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <vector>

#include "base/error.h"
#include "kernels/variants.h"

namespace tb {
namespace detail {
namespace {
// Scalar: the 64-byte dot product in plain C++ once per iteration (the compiler may vectorize it with the
// baseline ISA, as it does the scalar kernels); the empty asm makes it re-read the bytes every time.
int64_t int8_peak_scalar(int64_t iters, const uint8_t* u64, const int8_t* s64) {
  int64_t total = 0;
  for (int64_t i = 0; i < iters; ++i) {
    __asm__ __volatile__("" : : "r"(u64), "r"(s64) : "memory");
    int32_t acc = 0;
    for (int b = 0; b < 64; ++b) acc += int32_t(u64[b]) * int32_t(s64[b]);
    total += acc;
  }
  return total;
}
}  // namespace
}  // namespace detail

const PeakLoop& int8_peak_loop(Isa isa) {
  static const PeakLoop scalar{64, "scalar C++ (baseline-ISA code the compiler makes of it)", detail::int8_peak_scalar};
#if defined(TB_HAVE_X86_KERNELS)
  static const PeakLoop avx2{8 * 32, "vpmaddubsw + vpaddw (int16), every 4th iteration vpmaddwd + vpaddd, 256-bit",
                             detail::int8_peak_avx2};
  static const PeakLoop vnni{12 * 64, "vpdpbusd, 512-bit", detail::int8_peak_avx512vnni};
  if (isa == Isa::avx2) return avx2;
  if (isa == Isa::avx512vnni) return vnni;
#endif
#if defined(TB_HAVE_NEON_KERNELS)
  static const PeakLoop neon{8 * 16, "smlal + smlal2 (int16) + sadalp, 128-bit", detail::int8_peak_neon};
  if (isa == Isa::neon) return neon;
#endif
  if (isa == Isa::scalar) return scalar;
  throw Error(std::string("no int8 peak loop for the ") + isa_name(isa) + " path in this binary");
}

int64_t int8_peak_expected(Isa isa, int64_t iters, const uint8_t* u64, const int8_t* s64) {
  int64_t dot = 0;
  for (int b = 0; b < 64; ++b) dot += int64_t(u64[b]) * s64[b];
  // How many times each loop's accumulators see the 64 bytes per iteration (the files say why).
  const int64_t times = isa == Isa::avx512vnni ? 12 : isa == Isa::avx2 ? 4 : isa == Isa::neon ? 2 : 1;
  return iters * times * dot;
}

TimedPasses time_parallel_passes(int threads, double seconds, int passes,
                                 const std::function<void(int64_t iters, int thread)>& run) {
  using clock = std::chrono::steady_clock;
  auto timed = [&](int64_t iters) {
    std::vector<std::exception_ptr> err(static_cast<size_t>(threads));
    const auto t0 = clock::now();
#pragma omp parallel num_threads(threads)
    {
      const int t = omp_get_thread_num();
      try {
        run(iters, t);
      } catch (...) {  // an exception must not leave an OpenMP region: rethrown below
        err[size_t(t)] = std::current_exception();
      }
    }
    const double dt = std::chrono::duration<double>(clock::now() - t0).count();
    for (const std::exception_ptr& e : err)
      if (e) std::rethrow_exception(e);
    return dt;
  };
  int64_t iters = 1 << 12;  // grow until one pass takes a tenth of the target, then scale to it
  while (timed(iters) < seconds / 10 && iters < (int64_t(1) << 40)) iters *= 4;
  iters = std::max<int64_t>(1, int64_t(double(iters) * seconds / std::max(timed(iters), 1e-9)));
  std::vector<double> t;
  for (int p = 0; p < std::max(1, passes); ++p) t.push_back(timed(iters));
  std::sort(t.begin(), t.end());
  return {iters, t[t.size() / 2]};
}

PeakResult measure_int8_peak(Isa isa, int threads, double seconds, int passes) {
  const PeakLoop& loop = int8_peak_loop(isa);
  if (!cpu_supports(isa)) throw Error(std::string("this CPU cannot run the ") + isa_name(isa) + " path");
  // Bytes in [0, 1] x [-1, 1]: the accumulators cannot overflow however long the loop runs (NEON's
  // int16 stage included), and the values do not change the instructions' speed.
  uint8_t u[64];
  int8_t s[64];
  for (int b = 0; b < 64; ++b) {
    u[b] = uint8_t(b % 3 != 0);
    s[b] = int8_t(b % 3 - 1);
  }
  const TimedPasses tp = time_parallel_passes(threads, seconds, passes, [&](int64_t iters, int) {
    if (loop.run(iters, u, s) != int8_peak_expected(isa, iters, u, s))
      throw Error(std::string("int8 peak loop of ") + isa_name(isa) + " computed a wrong sum");
  });
  PeakResult r;
  r.macs_per_s = double(tp.iters) * double(loop.macs_per_iter) * threads / tp.seconds;
  r.instructions = loop.instructions;
  return r;
}

}  // namespace tb
