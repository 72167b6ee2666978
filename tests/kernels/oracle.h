// Shared by the kernel tests: deterministic inputs, the model's shapes, and the oracle.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/kernel.h"

namespace tbtest {

// splitmix64: the same stream on every platform and standard library.
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }  // [0, 1)
  float normalish() { return float((uniform() + uniform() + uniform() - 1.5) * 2.0); }
};

// Ternary weights with about a third zeros.
inline std::vector<int8_t> ternary(int64_t N, int64_t K, uint64_t seed) {
  Rng r(seed);
  std::vector<int8_t> w(size_t(N * K));
  for (auto& v : w) v = int8_t(int(r.next() % 3) - 1);
  return w;
}

inline tb::QuantizedActs random_acts(int64_t T, int64_t K, uint64_t seed) {
  Rng r(seed ^ 0xA5A5);
  std::vector<float> x(size_t(T * K));
  for (auto& v : x) v = r.normalish();
  tb::QuantizedActs a;
  tb::quantize_activations(x.data(), T, K, a, tb::Isa::scalar);
  return a;
}

struct Shape {
  int64_t N, K;
};
// 2B4T matmul shapes (out x in): q/o, k/v, gate/up, down.
inline const std::vector<Shape>& model_shapes() {
  static const std::vector<Shape> s = {{2560, 2560}, {640, 2560}, {6912, 2560}, {2560, 6912}};
  return s;
}

// Under qemu (TERNBENCH_QUICK_TESTS=1) the biggest token counts are left out: emulation is ~30x slower.
inline bool quick() {
  const char* e = std::getenv("TERNBENCH_QUICK_TESTS");
  return e && *e && std::string(e) != "0";
}

// Sanitizer builds (TERNBENCH_SANITIZER_TESTS=1, scripts/sanitize.sh) run 10-50x slower: the model shapes
// keep T = 1 and 3 (GEMV and a GEMM tail) and one seed; edges are covered by the small and odd shapes.
inline bool sanitizer_run() {
  const char* e = std::getenv("TERNBENCH_SANITIZER_TESTS");
  return e && *e && std::string(e) != "0";
}

// The oracle: the int8_ref kernel, through the same driver and epilogue as everything else.
struct OracleOut {
  std::vector<int32_t> c;
  std::vector<float> y;
};
inline OracleOut oracle(const std::vector<int8_t>& w, int64_t N, int64_t K, float scale, const tb::QuantizedActs& x) {
  const tb::Kernel& ref = tb::find_kernel("int8_ref__scalar");
  tb::PackedWeights p = tb::pack_weights(*ref.format, w.data(), N, K, scale);
  tb::PreparedActs prep;
  tb::prepare_activations(ref, x, prep);
  OracleOut o;
  o.c.resize(size_t(x.T * N));
  o.y.resize(size_t(x.T * N));
  tb::run_i32(ref, p, prep, o.c.data(), 2);
  tb::run_f32(ref, p, prep, o.y.data(), 2);
  return o;
}

}  // namespace tbtest
