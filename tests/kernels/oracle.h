// Shared by the kernel tests: deterministic inputs, the model's shapes, and the oracle.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "base/rng.h"
#include "kernels/kernel.h"
#include "model/config.h"

namespace tbtest {

// splitmix64 (base/rng.h): the same stream on every platform and standard library.
struct Rng : tb::SplitMix64 {
  explicit Rng(uint64_t seed) : tb::SplitMix64(seed * tb::kGolden64 + 1) {}
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
// The distinct matmul shapes (out x in) of one 2B4T layer, from its config (model/config.h), in layer order:
// q/o, k/v, gate/up, down.
inline const std::vector<Shape>& model_shapes() {
  static const std::vector<Shape> s = [] {
    std::vector<Shape> out;
    for (const tb::ModelConfig::Shape& m : tb::load_model_config("2B4T").distinct_matmul_shapes()) out.push_back({m.N, m.K});
    return out;
  }();
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

// The oracle, independent of kernels/ beyond the input types: no registry, no driver, no tiling. The
// int32 accumulator is the plain sum over k of w[n][k] * q[t][k] (docs/reference.md §1.3); the float output is the
// one epilogue of kernels/kernel.h (y = acc / a * s, float, in that order) written out here as an
// expression, so a tiling or epilogue bug in the shared driver cannot pass by agreeing with itself.
struct OracleOut {
  std::vector<int32_t> c;  // T x N, row-major
  std::vector<float> y;
};
inline OracleOut oracle(const std::vector<int8_t>& w, int64_t N, int64_t K, float scale, const tb::QuantizedActs& x) {
  OracleOut o;
  o.c.resize(size_t(x.T * N));
  o.y.resize(size_t(x.T * N));
  for (int64_t t = 0; t < x.T; ++t) {
    const int8_t* q = x.q.data() + t * K;
    for (int64_t n = 0; n < N; ++n) {
      const int8_t* wr = w.data() + n * K;
      int32_t acc = 0;  // |acc| <= 128 K: exact in int32 for K < 2^24
      for (int64_t k = 0; k < K; ++k) acc += int32_t(wr[k]) * int32_t(q[k]);
      o.c[size_t(t * N + n)] = acc;
      o.y[size_t(t * N + n)] = static_cast<float>(acc) / x.a[size_t(t)] * scale;
    }
  }
  return o;
}

// The first difference between a result (c: int32 accumulators, y: floats, both T x N) and the oracle's:
// "" when all equal (floats bit for bit), else where and what, prefixed with `where`.
inline std::string first_mismatch(const OracleOut& want, const std::vector<int32_t>& c, const std::vector<float>& y,
                                  int64_t N, const std::string& where) {
  if (c.size() != want.c.size() || y.size() != want.y.size())
    return where + ": result has " + std::to_string(c.size()) + " values, oracle " + std::to_string(want.c.size());
  for (size_t i = 0; i < c.size(); ++i) {
    if (c[i] != want.c[i]) {
      std::ostringstream m;
      m << where << ": int32 differs first at token " << int64_t(i) / N << ", row " << int64_t(i) % N << ": got "
        << c[i] << ", oracle " << want.c[i];
      return m.str();
    }
    if (std::memcmp(&y[i], &want.y[i], sizeof(float)) != 0) {
      std::ostringstream m;
      m.precision(9);
      m << where << ": float differs first at token " << int64_t(i) / N << ", row " << int64_t(i) % N << ": got "
        << y[i] << ", oracle " << want.y[i];
      return m.str();
    }
  }
  return "";
}

// Runs kernel k on (p, x) through the driver at the given thread count (run_i32 and run_f32) and returns
// first_mismatch against the oracle.
inline std::string compare(const tb::Kernel& k, const tb::PackedWeights& p, const tb::QuantizedActs& x,
                           const OracleOut& want, int threads) {
  const int64_t N = p.N;
  tb::PreparedActs prep;
  tb::prepare_activations(k, x, prep);
  std::vector<int32_t> c(size_t(x.T * N), 0x7eadbeef);
  std::vector<float> y(size_t(x.T * N), -1.0f);
  tb::run_i32(k, p, prep, c.data(), threads);
  tb::run_f32(k, p, prep, y.data(), threads);
  std::ostringstream where;
  where << k.name << " " << N << "x" << p.K << " T=" << x.T << " threads=" << threads;
  return first_mismatch(want, c, y, N, where.str());
}

// Extreme inputs: activations all +127, all -128, alternating; weights all +1, all -1, all 0, alternating.
// All -128 against all +1 or all -1 gives every pair or triple of a TL table its largest |entry| (256, 384),
// so a K tile of BK weights reaches |partial sum| = 128 BK, the int16 bound (kernels/tl_format.cpp).
// Returns "" or the first mismatch, naming the inputs. n_rows: rows of the weight matrix. limit_only: just
// the two that reach the bound (all -128 against all +1 and all -1), for long sweeps under emulation.
inline std::string check_extremes(const tb::Kernel& k, int64_t n_rows, int64_t K, const std::vector<int64_t>& tokens,
                                  const std::vector<int>& threads_list, bool limit_only = false) {
  const std::vector<std::pair<const char*, int8_t (*)(int64_t)>> acts = {
      {"all +127", [](int64_t) -> int8_t { return 127; }},
      {"all -128", [](int64_t) -> int8_t { return -128; }},
      {"alternating", [](int64_t k) -> int8_t { return k % 2 ? -128 : 127; }},
  };
  const std::vector<std::pair<const char*, int8_t (*)(int64_t)>> weights = {
      {"all +1", [](int64_t) -> int8_t { return 1; }},
      {"all -1", [](int64_t) -> int8_t { return -1; }},
      {"all 0", [](int64_t) -> int8_t { return 0; }},
      {"alternating", [](int64_t i) -> int8_t { return int8_t((i % 3) - 1); }},
  };
  for (const auto& [an, af] : acts)
    for (const auto& [wn, wf] : weights) {
      if (limit_only && (std::string(an) != "all -128" || std::string(wn) == "all 0" || std::string(wn) == "alternating"))
        continue;
      std::vector<int8_t> w(size_t(n_rows * K));
      for (int64_t i = 0; i < n_rows * K; ++i) w[size_t(i)] = wf(i);
      const tb::PackedWeights p = tb::pack_weights(*k.format, w.data(), n_rows, K, 0.5f);
      for (int64_t T : tokens) {
        std::vector<int8_t> q(size_t(T * K));
        for (int64_t t = 0; t < T; ++t)
          for (int64_t kk = 0; kk < K; ++kk) q[size_t(t * K + kk)] = af(kk + t);
        const std::vector<float> a(size_t(T), 127.0f / 3.5f);
        const tb::QuantizedActs x = tb::acts_from_int8(q.data(), T, K, a.data());
        const OracleOut want = oracle(w, n_rows, K, 0.5f, x);
        for (int threads : threads_list) {
          const std::string diff = compare(k, p, x, want, threads);
          if (!diff.empty()) return diff + " (activations " + an + ", weights " + wn + ")";
        }
      }
    }
  return "";
}

}  // namespace tbtest
