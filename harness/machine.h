// Facts about this machine that runs record beside their figures: the fingerprint every row carries, the
// peak resident set, the cost of one OpenMP fork-join, and thread pinning.
#pragma once
#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace tb {

// This machine: host, CPU model and flags, logical CPUs, memory, OS, compiler and flags, ISA path in
// use, ternbench commit; the energy source is filled in by the caller.
nlohmann::json machine_fingerprint();

// One empty OpenMP fork-join with `threads` threads, in seconds: the median of 7 batches of 200 after a
// warm-up, memoized per thread count (a property of the machine and the OpenMP runtime, ~1-30 us).
double fork_join_seconds(int threads);

// Peak resident set of this process. Linux resets the high-water mark on request (false where it cannot:
// the peak is then the process lifetime's).
bool reset_peak_rss();
size_t peak_rss_bytes();

// Thread pinning. pin_order: this process's logical CPUs, in order ("compact") or one per physical core
// first, then their SMT siblings ("cores"); throws tb::Error where the OS has no affinity (not Linux).
// pin_threads: OpenMP thread i of `threads` to order[i % size]; throws when the OS refuses.
std::vector<int> pin_order(const std::string& mode);
void pin_threads(const std::vector<int>& order, int threads);

}  // namespace tb
