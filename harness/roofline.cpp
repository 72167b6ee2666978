#include "harness/roofline.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "harness/bandwidth.h"
#include "harness/bench_inputs.h"
#include "harness/ternary_matrix.h"
#include "harness/machine.h"
#include "base/error.h"
#include "kernels/peak.h"

namespace tb {

namespace {
// Bumped whenever a peak loop changes what it measures: cached figures of older loops are measured again.
// 2: the AVX2 and NEON loops run the multiplies they count (the compiler had merged them), AVX2 with int16 sums.
// 3: every path the CPU runs is measured (path_gmacs), not only the best.
// 4: the read probe takes the faster of one and four streams per thread (read_streams); four alone understated a
//    Zen 4's one-thread bandwidth by a third.
// 5: the GEMV prefetch distance of each path that prefetches (path_prefetch): none streams a Zen 4's i2s GEMV
//    about 20% faster than the fixed 4 KiB that a Zen 5 preferred.
// 6: the lookup ceiling of each TLW variant (lookup_gmacs): its vpermw loop, not vpdpbusd, bounds it.
// 7: i2s__avx2's lookup ceiling on 2048 rows, as many as its tables now serve in one pass (1024 before).
// 8: ... on as many rows as its tables serve in one pass (Kernel::gemm_rows: 2560).
// 9: the fp16 LM head is one of the read probe's readers, and read_streams is its own faster walk (a Zen 3's head
//    streamed 27 GB/s on one thread with four streams, the plain probe 21 with one, which the head then walked at 14).
constexpr int kPeakLoopsVersion = 9;
// The fields that must match for cached figures to apply to this machine.
json identity() {
  const json m = machine_fingerprint();
  return json{{"host", m["host"]}, {"cpu", m["cpu"]}, {"logical_cpus", m["logical_cpus"]},
              {"memory_bytes", m["memory_bytes"]}, {"isa", m["isa"]}};
}
}  // namespace

double measure_read_gbs(int threads, int* streams) {
  const double gbs = measure_read_bandwidth(threads, bandwidth_probe_bytes(), 5, streams) / 1e9;
  release_bandwidth_buffer();  // 512 MiB or more that would otherwise sit in every peak-RSS figure
  return gbs;
}

const std::vector<int64_t>& gemv_prefetch_candidates() {
  static const std::vector<int64_t> c = {0, 1024, kDefaultGemvPrefetch};
  return c;
}

std::map<std::string, std::map<int64_t, double>> measure_gemv_prefetch(int threads, int passes) {
  std::map<std::string, std::map<int64_t, double>> us;
  std::vector<const Kernel*> ks;  // the i2s variants whose GEMVs prefetch, where this CPU runs them
  for (const Kernel& k : all_kernels())
    if (std::string(k.format->name) == "i2s" && gemv_prefetches(k) && (allowed_isas() & uint32_t(k.isa))) ks.push_back(&k);
  if (ks.empty()) return us;
  constexpr int64_t N = 6912, K = 2560;
  const std::vector<int8_t> w = ternary_matrix(N, K, 42);
  const std::vector<float> x = bench_activations(K);
  QuantizedActs acts;
  quantize_activations(x.data(), 1, K, acts);
  std::vector<float> y(size_t{N});
  std::vector<PackedWeights> copies;  // one packing serves every path: I2_S is one layout
  copies.push_back(pack_weights(find_format("i2s"), w.data(), N, K, 0.01f));
  add_cold_copies(copies, bandwidth_probe_bytes());
  const int64_t before = gemv_prefetch();
  for (const Kernel* k : ks) {
    PreparedActs prep;
    prepare_activations(*k, acts, prep);
    std::map<int64_t, double>& m = us[isa_name(k->isa)];
    for (const PackedWeights& c : copies) run_f32(*k, c, prep, y.data(), threads);  // first touch, warm-up
    for (int p = 0; p < passes; ++p)
      for (int64_t d : gemv_prefetch_candidates()) {  // in turn, so a slow spell of a shared machine hits all alike
        set_gemv_prefetch(d);
        const auto t0 = std::chrono::steady_clock::now();
        for (const PackedWeights& c : copies) run_f32(*k, c, prep, y.data(), threads);
        const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() * 1e6;
        m[d] = p ? std::min(m[d], t / double(copies.size())) : t / double(copies.size());
      }
  }
  set_gemv_prefetch(before);
  return us;
}

std::vector<const Kernel*> lookup_peak_kernels() {
  std::vector<const Kernel*> ks;
  for (const Kernel& k : all_kernels())
    if (((k.format->lookup && !k.format->lookup_tiled) || k.lookup_tokens > 0) && k.isa != Isa::scalar &&
        (allowed_isas() & uint32_t(k.isa)))
      ks.push_back(&k);
  return ks;
}

double measure_lookup_peak(const Kernel& k, int threads, double seconds, int passes) {
  // A lookup format's kernel (TLW) on 128 x 252 x 4; a GEMM that looks up only from lookup_tokens tokens on (i2s's
  // AVX2 one) on as many rows as its tables serve in one pass (Kernel::gemm_rows, 2560: 960 KiB of weights at
  // K = 1536, in L2 on most cores) x 1536 x 16 tokens (at K = 512 the fixed cost of a call took 13% more on a Zen 4).
  const bool rows_kernel = k.lookup_tokens > 0;
  const int64_t N = rows_kernel ? k.gemm_rows : 128, K = rows_kernel ? 1536 : 252, T = rows_kernel ? 16 : 4;
  const std::vector<int8_t> w = ternary_matrix(N, K, 7);
  const PackedWeights pw = pack_weights(*k.format, w.data(), N, K, 1.0f);
  const std::vector<float> x = bench_activations(T * K);
  QuantizedActs acts;
  quantize_activations(x.data(), T, K, acts);
  PreparedActs prep;
  prepare_activations(k, acts, prep);
  auto call = [&](int32_t* c) {
    GemmArgs g;
    g.w = pw.data.data();
    g.N = N;
    g.K = K;
    g.x = prep.x;
    g.ldx = prep.ldx;
    g.xsum = acts.sum.data();
    g.c = c;
    g.ldc = size_t(N);
    g.n0 = 0;
    g.n1 = N;
    g.t0 = 0;
    g.t1 = T;
    k.gemm(g);
  };
  std::vector<std::vector<int32_t>> c(static_cast<size_t>(threads), std::vector<int32_t>(size_t(N * T)));
  const TimedPasses tp = time_parallel_passes(threads, seconds, passes, [&](int64_t calls, int thread) {
    for (int64_t i = 0; i < calls; ++i) call(c[size_t(thread)].data());  // each thread its own results
  });
  return double(threads) * double(tp.iters) * double(N * K * T) / tp.seconds / 1e9;
}

RooflinePoint measure_roofline(int threads) {
  RooflinePoint p;
  p.threads = threads;
  p.read_gbs = measure_read_gbs(threads, &p.read_streams);
  for (Isa i : {Isa::scalar, Isa::neon, Isa::avx2, Isa::avx512vnni}) {
    if (!(allowed_isas() & uint32_t(i))) continue;
    const PeakResult r = measure_int8_peak(i, threads, 0.2, 3);
    p.path_gmacs[isa_name(i)] = r.macs_per_s / 1e9;
    p.path_instructions[isa_name(i)] = r.instructions;
  }
  const Isa isa = best_allowed_isa();
  p.isa = isa_name(isa);
  p.int8_gmacs = p.path_gmacs[p.isa];
  p.instructions = p.path_instructions[p.isa];
  for (const Kernel* k : lookup_peak_kernels()) p.lookup_gmacs[k->name] = measure_lookup_peak(*k, threads);
  p.path_prefetch_us = measure_gemv_prefetch(threads);
  for (const auto& [path, us] : p.path_prefetch_us)
    p.path_prefetch[path] = std::min_element(us.begin(), us.end(), [](auto& a, auto& b) { return a.second < b.second; })->first;
  p.measured_at = utc_now_iso();
  return p;
}

int64_t RooflinePoint::prefetch_of(const std::string& isa_name) const {
  auto it = path_prefetch.find(isa_name);
  return it == path_prefetch.end() ? kDefaultGemvPrefetch : it->second;
}

double RooflinePoint::lookup_gmacs_of(const std::string& variant) const {
  auto it = lookup_gmacs.find(variant);
  return it == lookup_gmacs.end() ? 0.0 : it->second;
}

double RooflinePoint::gmacs_of(const std::string& isa_name) const {
  auto it = path_gmacs.find(isa_name);
  return it == path_gmacs.end() ? 0.0 : it->second;
}

std::string ternbench_cache_dir() {
  std::string dir;
  if (const char* d = std::getenv("TERNBENCH_CACHE_DIR"); d && *d) dir = d;
  else if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) dir = std::string(x) + "/ternbench";
  else if (const char* h = std::getenv("HOME"); h && *h) dir = std::string(h) + "/.cache/ternbench";
  else dir = ".ternbench-cache";
  return dir;
}

// One file per machine, and one per forced ISA path beside it (--isa avx2 measures that path's ceilings only): runs
// that alternate between the native and a forced path each find their own figures, not the other's to replace.
std::string roofline_cache_path() {
  const std::string forced = forced_isa();
  return ternbench_cache_dir() + "/roofline-" + machine_fingerprint()["host"].get<std::string>() +
         (forced.empty() ? "" : "-" + forced) + ".json";
}

RooflineCache::RooflineCache(std::string path) : path_(std::move(path)) {
  std::ifstream in(path_);
  if (!in) {
    note_ = "no cached roofline at " + path_;
    return;
  }
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("machine") || !j.contains("points")) {
    note_ = "cached roofline " + path_ + " is damaged; measuring again";
    return;
  }
  // Compared as JSON: a damaged file's float would make get<int> a cast with undefined overflow.
  if (!j.contains("peak_loops") || j["peak_loops"] != json(kPeakLoopsVersion)) {
    note_ = "cached roofline " + path_ + " was measured with older int8 peak loops or probes (before version " +
            std::to_string(kPeakLoopsVersion) + ": i2s__avx2's lookup ceiling on 2560 rows); measuring again";
    return;
  }
  if (j["machine"] != identity()) {
    note_ = "cached roofline " + path_ + " is from another machine or ISA path (" + j["machine"].dump() + "); measuring again";
    return;
  }
  try {
    for (const json& p : j["points"]) {
      RooflinePoint r;
      r.threads = p.at("threads");
      r.read_gbs = p.at("read_gbs");
      const json& streams = p.at("read_streams");
      if (streams != json(1) && streams != json(4)) {
        points_.clear();
        note_ = "cached roofline " + path_ + " is damaged (read_streams is not 1 or 4); measuring again";
        return;
      }
      r.read_streams = streams;
      r.int8_gmacs = p.at("int8_gmacs");
      r.isa = p.value("isa", "");
      r.instructions = p.value("instructions", "");
      r.measured_at = p.value("measured_at", "");
      for (const auto& [k, v] : p.at("path_gmacs").items()) r.path_gmacs[k] = v.get<double>();
      for (const auto& [k, v] : p.at("path_instructions").items()) r.path_instructions[k] = v.get<std::string>();
      for (const auto& [k, v] : p.at("path_prefetch").items()) {
        const auto& c = gemv_prefetch_candidates();
        if (!v.is_number_integer() || std::find(c.begin(), c.end(), v.get<int64_t>()) == c.end()) {
          points_.clear();
          note_ = "cached roofline " + path_ + " is damaged (path_prefetch of " + k + " is " + v.dump() +
                  ", not a candidate distance); measuring again";
          return;
        }
        r.path_prefetch[k] = v.get<int64_t>();
      }
      for (const auto& [k, v] : p.at("path_prefetch_us").items())
        for (const auto& [d, t] : v.items()) r.path_prefetch_us[k][std::stoll(d)] = t.get<double>();
      for (const auto& [k, v] : p.at("lookup_gmacs").items()) r.lookup_gmacs[k] = v.get<double>();
      for (const Kernel* k : lookup_peak_kernels())
        if (!(r.lookup_gmacs_of(k->name) > 0)) {
          points_.clear();
          note_ = "cached roofline " + path_ + " lacks the lookup ceiling of " + k->name + " at " +
                  std::to_string(r.threads) + " thread(s); measuring again";
          return;
        }
      points_[r.threads] = r;
    }
    note_ = "roofline cached in " + path_;
  } catch (const std::exception& e) {  // json's, or stoll's on a damaged distance key
    points_.clear();
    note_ = "cached roofline " + path_ + " is damaged (" + e.what() + "); measuring again";
  }
}

const RooflinePoint* RooflineCache::find(int threads) const {
  auto it = points_.find(threads);
  return it == points_.end() ? nullptr : &it->second;
}

void RooflineCache::put(const RooflinePoint& p) { points_[p.threads] = p; }

namespace {
json prefetch_us_json(const RooflinePoint& p) {  // {"avx2": {"0": 190.2, "1024": 201.5, "4096": 215.9}, ...}
  json j = json::object();
  for (const auto& [isa, us] : p.path_prefetch_us)
    for (const auto& [d, t] : us) j[isa][std::to_string(d)] = t;
  return j;
}
}  // namespace

void RooflineCache::save() const {
  json pts = json::array();
  for (const auto& [t, p] : points_)
    pts.push_back({{"threads", t}, {"read_gbs", p.read_gbs}, {"read_streams", p.read_streams},
                   {"int8_gmacs", p.int8_gmacs}, {"isa", p.isa}, {"instructions", p.instructions}, {"measured_at", p.measured_at}, {"path_gmacs", p.path_gmacs},
                   {"path_instructions", p.path_instructions}, {"path_prefetch", p.path_prefetch},
                   {"path_prefetch_us", prefetch_us_json(p)}, {"lookup_gmacs", p.lookup_gmacs}});
  const size_t slash = path_.rfind('/');
  if (slash != std::string::npos) make_dirs(path_.substr(0, slash), "set TERNBENCH_CACHE_DIR to a writable folder");
  const std::string tmp = path_ + ".tmp";
  {
    std::ofstream out(tmp);
    out << json{{"machine", identity()}, {"peak_loops", kPeakLoopsVersion}, {"points", pts}}.dump(2) << "\n";
    if (!out) throw Error("cannot write the roofline cache " + tmp + "; set TERNBENCH_CACHE_DIR to a writable folder");
  }
  if (std::rename(tmp.c_str(), path_.c_str()) != 0)
    throw Error("cannot write the roofline cache " + path_ + "; set TERNBENCH_CACHE_DIR to a writable folder");
}

const RooflinePoint& RooflineCache::get(int threads) {
  if (!find(threads)) {
    put(measure_roofline(threads));
    save();
  }
  return *find(threads);
}

}  // namespace tb
