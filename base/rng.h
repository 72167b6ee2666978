// Deterministic pseudo-random streams: the same numbers on every platform, compiler and standard library
// (std::mt19937 would be, but its distributions are not). Synthetic weights, test inputs and prompts use them.
#pragma once
#include <cstdint>

namespace tb {

// 2^64 / golden ratio, odd: splitmix64's increment, also used to spread seeds and indices.
constexpr uint64_t kGolden64 = 0x9E3779B97F4A7C15ull;

// splitmix64's finaliser (Steele, Lea, Flood 2014; Stafford's variant 13): a bijective 64-bit mix.
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// splitmix64: state += golden, output mix64(state).
struct SplitMix64 {
  uint64_t s;
  explicit SplitMix64(uint64_t state) : s(state) {}
  uint64_t next() { return mix64(s += kGolden64); }
  double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }  // [0, 1), 53 bits
};

// Marsaglia's xorshift64 (13, 7, 17): advances s and returns it. s must not be 0.
inline uint64_t xorshift64(uint64_t& s) {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

}  // namespace tb
