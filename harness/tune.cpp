// The TL tile tuner. For each TL format and 2B4T shape it packs the weights with every candidate
// (BM, BK, bm), times the decode GEMV with cold weights (copies rotated, together larger than the
// last-level cache) at the first thread count given, prints each candidate's time and weight GB/s,
// and writes the fastest per shape to a tiles file (default configs/tiles/<cpu>.json). It also prints
// the exact bytes per weight of each format and shape (index bits, sign bits, padding, header).
#include "harness/ternary_matrix.h"
#include "harness/tune.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/tl_tiles.h"

namespace tb {
namespace {

struct Shape {
  const char* role;
  int64_t N, K;
};
const Shape k2B4T[] = {{"wq,wo", 2560, 2560}, {"wk,wv", 640, 2560}, {"gate,up", 6912, 2560}, {"down", 2560, 6912}};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(item);
  return out;
}

std::vector<TlTiles> candidates(const std::string& f, bool quick) {
  std::vector<TlTiles> out;
  const std::vector<int> bms = quick ? std::vector<int>{128} : std::vector<int>{64, 128, 256};
  const std::vector<int> bks = f == "tl1" ? (quick ? std::vector<int>{240} : std::vector<int>{120, 240, 252})
                                          : (quick ? std::vector<int>{192} : std::vector<int>{96, 192, 252});
  for (int BM : bms)
    for (int BK : bks)
      for (int bm : {32, 64, 128})
        if (bm <= BM) out.push_back({BM, BK, bm});
  return out;
}


// Seconds per GEMV: the best of `reps` passes over the cold copies (each pass >= 16 calls).
double time_gemv(const Kernel& k, const std::vector<PackedWeights>& copies, const PreparedActs& prep, float* y,
                 int threads, int reps) {
  using clk = std::chrono::steady_clock;
  const size_t calls = std::max<size_t>(16, copies.size());
  for (size_t i = 0; i < copies.size(); ++i) run_f32(k, copies[i], prep, y, threads);  // warm-up
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = clk::now();
    for (size_t i = 0; i < calls; ++i) run_f32(k, copies[i % copies.size()], prep, y, threads);
    best = std::min(best, std::chrono::duration<double>(clk::now() - t0).count() / double(calls));
  }
  return best;
}

}  // namespace

int tune_main(int argc, char** argv) {
  std::string formats = "tl1,tl2", out = tl_tiles_cpu_file(), threads_arg = "1";
  long cold_mb = 256;
  int reps = 5;
  bool quick = false, write = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--formats=", 0) == 0) formats = a.substr(10);
    else if (a.rfind("--out=", 0) == 0) out = a.substr(6);
    else if (a.rfind("--threads=", 0) == 0) threads_arg = a.substr(10);
    else if (a.rfind("--cold_mb=", 0) == 0) cold_mb = std::atol(a.c_str() + 10);
    else if (a.rfind("--reps=", 0) == 0) reps = std::max(1, std::atoi(a.c_str() + 7));
    else if (a == "--quick") quick = true;
    else if (a == "--dry-run") write = false;
    else if (a == "--tune") continue;
    else if (a == "--model" || a.rfind("--model=", 0) == 0) {
      const std::string m = a == "--model" ? (i + 1 < argc ? argv[++i] : "") : a.substr(8);
      if (m != "2B4T") {
        std::fprintf(stderr, "tune: only --model 2B4T (its four matmul shapes) is tuned so far, got '%s'\n", m.c_str());
        return 2;
      }
    }
    else {
      std::printf(
          "tune: TL tile tuner. For each format and 2B4T shape, times the cold-weight GEMV of every tile\n"
          "candidate (BM, BK, bm) and writes the fastest per shape.\n"
          "  --model 2B4T        the model whose shapes are tuned (2B4T only, the default)\n"
          "  --formats=tl1,tl2   formats to tune\n"
          "  --threads=1         thread count of the timing (one number)\n"
          "  --out=PATH          tiles file to write (default %s; rewritten whole)\n"
          "  --cold_mb=256       total size of the rotated weight copies\n"
          "  --reps=5            timed passes per candidate (the best counts)\n"
          "  --quick             few candidates (a smoke run)\n"
          "  --dry-run           print, do not write\n",
          tl_tiles_cpu_file().c_str());
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  const int threads = std::atoi(threads_arg.c_str());
  if (threads <= 0) {
    std::fprintf(stderr, "tune: --threads wants one positive number, got '%s'\n", threads_arg.c_str());
    return 2;
  }
  std::printf("CPU: %s; threads %d; cold copies over %ld MiB; best of %d passes\n", cpu_info().model.c_str(), threads,
              cold_mb, reps);

  // Exact storage per shape.
  std::printf("\nBytes per weight (bits/weight of N x K; header = 64 bytes holding tiles, shape, scale):\n");
  std::printf("| format | shape | bytes | bits/weight | index | sign | padding | header |\n|---|---|---|---|---|---|---|---|\n");
  for (const std::string& f : split(formats))
    for (const Shape& s : k2B4T) {
      const TlBytes b = tl_bytes_breakdown(f, s.N, s.K);
      const double nk = double(s.N) * double(s.K) / 8.0;  // bytes -> bits per weight
      std::printf("| %s | %lldx%lld | %zu | %.5f | %.5f | %.5f | %.5f | %.6f |\n", f.c_str(), (long long)s.N,
                  (long long)s.K, b.total, double(b.total) / nk, b.index / nk, b.sign / nk, b.pad / nk, b.header / nk);
    }

  struct Winner {
    std::string f;
    Shape s;
    TlTiles t;
    double us;
  };
  std::vector<Winner> winners;
  for (const std::string& f : split(formats)) {
    const Kernel& k = select_kernel(f);
    for (const Shape& s : k2B4T) {
      std::printf("\n%s (%s) %lldx%lld (%s), GEMV, cold weights, %d thread(s):\n", f.c_str(), k.name,
                  (long long)s.N, (long long)s.K, s.role, threads);
      std::printf("| BM | BK | bm | us | weight GB/s |\n|---|---|---|---|---|\n");
      const auto w = tb::ternary_matrix(s.N, s.K, 42);
      std::vector<float> x(size_t(s.K));
      for (size_t i = 0; i < x.size(); ++i) x[i] = float(int64_t(i * 2654435761u % 2001) - 1000) / 137.0f;
      QuantizedActs acts;
      quantize_activations(x.data(), 1, s.K, acts);
      PreparedActs prep;
      prepare_activations(k, acts, prep);
      std::vector<float> y(size_t(s.N));
      Winner best{f, s, {}, 1e30};
      for (const TlTiles& t : candidates(f, quick)) {
        tl_tiles_set(f, s.N, s.K, t);
        std::vector<PackedWeights> copies;
        copies.push_back(pack_weights(find_format(f), w.data(), s.N, s.K, 0.01f));
        const size_t per = copies[0].data.size();
        const size_t want = std::max<size_t>(2, (size_t(cold_mb) << 20) / per);
        while (copies.size() < want) {
          PackedWeights c;
          c.format = copies[0].format;
          c.N = s.N;
          c.K = s.K;
          c.scale = copies[0].scale;
          c.data = copies[0].data.clone();
          copies.push_back(std::move(c));
        }
        const double sec = time_gemv(k, copies, prep, y.data(), threads, reps);
        std::printf("| %d | %d | %d | %.1f | %.2f |\n", t.BM, t.BK, t.bm, sec * 1e6, double(per) / sec / 1e9);
        std::fflush(stdout);
        if (sec * 1e6 < best.us) best = {f, s, t, sec * 1e6};
      }
      std::printf("winner: BM=%d BK=%d bm=%d, %.1f us\n", best.t.BM, best.t.BK, best.t.bm, best.us);
      winners.push_back(best);
    }
  }
  tl_tiles_reset();

  std::ostringstream j;
  j << "{\n  \"cpu\": \"" << cpu_info().model << "\",\n  \"note\": \"written by the TL tile tuner (harness/tune.cpp): "
    << "fastest cold-weight GEMV at " << threads << " thread(s)\",\n  \"tiles\": [\n";
  for (size_t i = 0; i < winners.size(); ++i) {
    const Winner& v = winners[i];
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "    {\"format\": \"%s\", \"N\": %lld, \"K\": %lld, \"BM\": %d, \"BK\": %d, \"bm\": %d, \"us\": %.1f}%s\n",
                  v.f.c_str(), (long long)v.s.N, (long long)v.s.K, v.t.BM, v.t.BK, v.t.bm, v.us,
                  i + 1 < winners.size() ? "," : "");
    j << buf;
  }
  j << "  ]\n}\n";
  if (!write) {
    std::printf("\n(dry run) would write %s:\n%s", out.c_str(), j.str().c_str());
    return 0;
  }
  FILE* fp = std::fopen(out.c_str(), "w");
  if (!fp) {
    std::fprintf(stderr, "tune: cannot write %s (run from the source tree, or pass --out=PATH)\n", out.c_str());
    return 1;
  }
  std::fputs(j.str().c_str(), fp);
  std::fclose(fp);
  std::printf("\nwrote %s\n", out.c_str());
  return 0;
}

}  // namespace tb
