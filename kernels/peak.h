// Peak int8 dot-product throughput of this CPU, for the roofline: each ISA path runs the multiply-add
// instruction sequence its best kernels use (AVX-512 VNNI vpdpbusd; AVX2 vpmaddubsw summed in int16 by vpaddw,
// widened by vpmaddwd + vpaddd every 4th time;
// NEON smlal/smlal2 into int16 with sadalp to int32; scalar C++) on independent accumulators held in
// registers, so the figure is the instruction throughput, not memory.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "kernels/cpu_features.h"

namespace tb {

struct PeakLoop {
  int64_t macs_per_iter;  // int8 multiply-adds one iteration does
  const char* instructions;
  // Runs `iters` iterations on the 64 unsigned and 64 signed bytes given (each accumulator sees
  // them all) and returns the sum of every accumulator lane, so the work cannot be optimised away
  // and a test can check it: iters x lanes_per_check x dot(u, s) (see int8_peak_expected).
  int64_t (*run)(int64_t iters, const uint8_t* u64, const int8_t* s64);
};
// The loop of a path; throws tb::Error when this binary lacks it.
const PeakLoop& int8_peak_loop(Isa isa);
// What the loop of `isa` returns for `iters` iterations on u64, s64.
int64_t int8_peak_expected(Isa isa, int64_t iters, const uint8_t* u64, const int8_t* s64);

// How the peak loops are timed: run(iters, thread) on `threads` OpenMP threads at once, iters grown until a pass
// takes about `seconds`, then `passes` timed passes. Returns the iterations per thread and the median pass in seconds.
struct TimedPasses {
  int64_t iters = 0;
  double seconds = 0;
};
TimedPasses time_parallel_passes(int threads, double seconds, int passes,
                                 const std::function<void(int64_t iters, int thread)>& run);

struct PeakResult {
  double macs_per_s = 0;
  std::string instructions;
};
// `threads` OpenMP threads each run the loop for about `seconds`; the median of `passes` timed passes.
PeakResult measure_int8_peak(Isa isa, int threads, double seconds = 0.2, int passes = 3);

}  // namespace tb
