// The TL tile tuner (see tune.h); the timing itself is tiles.cpp's tune_shape, which the sweep's automatic
// tuning uses too.
#include "harness/tune.h"

#include <cstdio>
#include <memory>
#include <vector>

#include "base/strings.h"
#include "harness/commands.h"
#include "harness/machine.h"
#include "harness/results.h"
#include "harness/tiles.h"
#include "kernels/kernel.h"
#include "model/config.h"

namespace tb {

void add_tune_options(CLI::App& cmd, TuneArgs& a) {
  add_model_option(&cmd, a.model, "the model preset whose matmul shapes are tuned");
  cmd.add_option("--formats", a.formats, "TL formats to tune, comma-separated")->capture_default_str();
  cmd.add_option("--threads,-t", a.threads, "thread count of the timing (one number)")->capture_default_str()->check(CLI::PositiveNumber);
  cmd.add_option("--out", a.out, "tiles file to write (default: this machine's cache, " + tiles_cache_path() +
                                     "; configs/tiles/<cpu>.json ships tiles for a CPU model)");
  cmd.add_option("--cold-mb", a.cold_mb, "total size of the rotated weight copies (larger than the last-level cache)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd.add_option("--reps", a.reps, "timed passes per candidate (the best counts)")->capture_default_str()->check(CLI::PositiveNumber);
  cmd.add_flag("--quick", a.quick, "the short candidate list (the one a sweep's automatic tuning uses)");
  cmd.add_flag("--dry-run", a.dry_run, "print, do not write");
}

int cmd_tune(const TuneArgs& a) {
  const ModelConfig c = load_model_config(a.model);
  std::vector<std::string> formats;
  for (const std::string& f : split_list(a.formats)) {
    if (!find_format(f).lookup_tiled) throw Error("--formats: '" + f + "' is not a table-lookup format with tiles (tl1, tl2)");
    formats.push_back(f);
  }
  const std::vector<ModelConfig::Shape> shapes = c.distinct_matmul_shapes();
  TuneOptions o;
  o.threads = a.threads;
  o.cold_mb = a.cold_mb;
  o.reps = a.reps;
  o.quick = a.quick;
  std::printf("CPU: %s; model %s; threads %d; cold copies over %ld MiB; best of %d passes\n", cpu_info().model.c_str(),
              c.name.c_str(), o.threads, o.cold_mb, o.reps);

  std::printf("\nBytes per weight (bits/weight of N x K; header = 64 bytes holding tiles, shape, scale; default tiles):\n");
  std::printf("| format | shape | bytes | bits/weight | index | sign | padding | header |\n|---|---|---|---|---|---|---|---|\n");
  for (const std::string& f : formats)
    for (const auto& s : shapes) {
      const TlBytes b = tl_bytes_breakdown(f, s.N, s.K);
      const double nk = double(s.N) * double(s.K) / 8.0;  // bytes -> bits per weight
      std::printf("| %s | %lldx%lld | %zu | %.5f | %.5f | %.5f | %.5f | %.6f |\n", f.c_str(), (long long)s.N,
                  (long long)s.K, b.total, double(b.total) / nk, b.index / nk, b.sign / nk, b.pad / nk, b.header / nk);
    }

  TileFile out;
  out.cpu = cpu_info().model;
  out.host = machine_fingerprint()["host"].get<std::string>();
  out.threads = o.threads;
  out.note = std::string("written by harness tune (harness/tune.cpp): fastest cold-weight GEMV of the ") +
             (o.quick ? "short" : "full") + " candidate list";
  for (const std::string& f : formats)
    for (const auto& s : shapes) {
      std::printf("\n%s (%s) %lldx%lld (%s), GEMV, cold weights, %d thread(s):\n", f.c_str(), select_kernel(f).name,
                  (long long)s.N, (long long)s.K, s.names.c_str(), o.threads);
      std::printf("| BM | BK | bm | us | weight GB/s |\n|---|---|---|---|---|\n");
      const TileEntry best = tune_shape(select_kernel(f), s.N, s.K, o, [](const TlTiles& t, double us, double gbs) {
        std::printf("| %d | %d | %d | %.1f | %.2f |\n", t.BM, t.BK, t.bm, us, gbs);
        std::fflush(stdout);
      });
      std::printf("winner: BM=%d BK=%d bm=%d, %.1f us\n", best.t.BM, best.t.BK, best.t.bm, best.us);
      out.tiles.push_back(best);
    }
  const std::string path = a.out.empty() ? tiles_cache_path() : a.out;
  if (a.dry_run) {
    std::printf("\n(dry run) would write %s\n", path.c_str());
    return 0;
  }
  write_tiles_file(path, out);
  std::printf("\nwrote %s\n", path.c_str());
  return 0;
}

static Command add_tune_command(CLI::App& app) {
  auto a = std::make_shared<TuneArgs>();
  CLI::App* tune = app.add_subcommand("tune", "TL1/TL2 tile tuner: times tile candidates per matmul shape, writes this machine's tiles cache");
  add_tune_options(*tune, *a);
  return {tune, [a] { return cmd_tune(*a); }};
}
[[maybe_unused]] const bool registered = register_command(100, add_tune_command);

}  // namespace tb
