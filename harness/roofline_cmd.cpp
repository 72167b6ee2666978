// `harness roofline`: read bandwidth and each path's int8 ceiling per thread count, cached per machine.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "harness/commands.h"
#include "harness/machine.h"
#include "harness/roofline.h"
#include "harness/thread_spec.h"

namespace tb {

namespace {

using json = nlohmann::json;

// `harness roofline`: read bandwidth and each path's int8 ceiling per thread count, from the cache or measured.
// Decode streams every weight once per token (bandwidth ceiling); prefill multiplies (a path's int8 ceiling). A
// sweep row is held to the lower of the two for its own path (fields ceiling_ts and binding).
// cached_only: measure nothing; thread counts the cache lacks are listed ("missing" in the JSON).
int cmd_roofline(const std::vector<int>& threads, bool refresh, bool as_json, bool cached_only) {
  RooflineCache cache;
  std::fprintf(stderr, "%s\n", cache.note().c_str());
  std::vector<RooflinePoint> pts;
  std::vector<int> missing;
  for (int t : threads) {
    const bool had = cache.find(t) != nullptr;
    if (cached_only) {
      if (had) pts.push_back(*cache.find(t));
      else missing.push_back(t);
      continue;
    }
    if (refresh || !had) {
      std::fprintf(stderr, "measuring %d thread%s (read bandwidth, the int8 ceiling of every path, then the GEMV prefetch distance)...\n", t, t == 1 ? "" : "s");
      cache.put(measure_roofline(t));
      cache.save();
    }
    pts.push_back(*cache.find(t));
    if (!(refresh || !had)) pts.back().measured_at += " (cached)";
  }
  if (as_json) {
    json out = {{"cache", cache.path()}, {"cpu", machine_fingerprint()["cpu"]}, {"points", json::array()}};
    if (cached_only) out["missing"] = missing;
    for (const RooflinePoint& p : pts)
      out["points"].push_back({{"threads", p.threads}, {"read_gbs", p.read_gbs}, {"read_streams", p.read_streams}, {"best_path", p.isa},
                               {"int8_gmacs", p.int8_gmacs}, {"path_gmacs", p.path_gmacs},
                               {"path_instructions", p.path_instructions}, {"path_prefetch", p.path_prefetch},
                               {"lookup_gmacs", p.lookup_gmacs}, {"measured_at", p.measured_at}});
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  if (!missing.empty()) {
    std::string list;
    for (int t : missing) list += (list.empty() ? "" : ", ") + std::to_string(t);
    std::printf("not cached (--cached measures nothing): %s thread%s\n", list.c_str(), missing.size() > 1 ? "s" : "");
  }
  if (pts.empty()) return 0;
  std::vector<std::string> paths;
  for (const auto& [k, v] : pts.front().path_gmacs) paths.push_back(k);
  std::printf("| threads | read GB/s |");
  for (const std::string& k : paths) std::printf(" %s GMAC/s |", k.c_str());
  std::printf(" GEMV prefetch | measured |\n|---:|---:|");
  for (size_t i = 0; i < paths.size(); ++i) std::printf("---:|");
  std::printf("---|---|\n");
  for (const RooflinePoint& p : pts) {
    std::printf("| %d | %.1f (head: %s) |", p.threads, p.read_gbs, p.read_streams == 1 ? "1 stream" : "4 streams");
    for (const std::string& k : paths) std::printf(" %.0f%s |", p.gmacs_of(k), k == p.isa ? " (best)" : "");
    std::string pf;
    for (const auto& [k, d] : p.path_prefetch)
      pf += (pf.empty() ? "" : ", ") + k + " " + (d ? std::to_string(d / 1024) + " KiB" : "none");
    std::printf(" %s | %s |\n", pf.empty() ? "-" : pf.c_str(), p.measured_at.c_str());
  }
  std::printf("\nint8 ceilings, one per path (the instruction sequence of its best kernels):\n");
  for (const std::string& k : paths) std::printf("- %s: %s\n", k.c_str(), pts.front().path_instructions.at(k).c_str());
  if (!pts.front().lookup_gmacs.empty()) {
    std::printf("lookup ceilings (a lookup kernel's own GEMM on data in cache: TLW's vpermw + vpaddw, 96 multiply-adds\n"
                "per lookup; i2s__avx2's prefill, a 256-bit load-and-add of a table entry, 64 per lookup; their prefill\n"
                "rows are held to it, not to the int8 ceiling):\n");
    for (const auto& [k, v] : pts.front().lookup_gmacs) {
      std::printf("- %s:", k.c_str());
      for (const RooflinePoint& p : pts)
        std::printf(" %.0f GMAC/s at %d thread%s (%.2fx the int8 ceiling);", p.lookup_gmacs_of(k), p.threads,
                    p.threads == 1 ? "" : "s", p.lookup_gmacs_of(k) / std::max(1e-9, p.gmacs_of(isa_name(find_kernel(k).isa))));
      std::printf("\n");
    }
  }
  std::printf("A sweep row's ceiling is the lower of bandwidth / bytes per token and its own path's int8 ceiling (TLW, and\n"
              "i2s__avx2 in prefill: its lookup ceiling) / MACs per token.\n");
  std::printf("Read bandwidth: the fastest of four readers: each thread reading one sequential stream or four side by\n"
              "side, and the fp16 LM head walking its rows either way; the head walks its rows the way it read faster\n"
              "(in parentheses) at each thread count.\n");
  std::printf("GEMV prefetch: how far ahead the i2s and tq1 decode GEMVs of a path fetch their weights in software,\n"
              "the fastest of none, 1 KiB and 4 KiB for that path's cold i2s GEMV at 6912 x 2560; sweeps use it.\n");
  std::fflush(stdout);
  std::fprintf(stderr, "%s %s (--refresh measures again; sweeps re-probe bandwidth beside each decode test)\n",
               cached_only ? "cache:" : "saved in", cache.path().c_str());
  return 0;
}

}  // namespace

static Command add_roofline_command(CLI::App& app) {
  struct Args {
    std::string threads = default_thread_ladder();
    bool refresh = false, json = false, cached = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* roofline = app.add_subcommand("roofline", "measure read bandwidth and int8 dot-product peak per thread count (cached per machine)");
  roofline->add_option("--threads,-t", a->threads, "thread counts")->capture_default_str();
  roofline->add_flag("--refresh", a->refresh, "measure again even when cached");
  roofline->add_flag("--json", a->json, "the figures as JSON on stdout (for scripts)");
  roofline->add_flag("--cached", a->cached, "only what the cache holds, measuring nothing (thread counts it lacks "
                     "are listed; JSON: \"missing\")")->excludes("--refresh");
  return {roofline, [a] { return cmd_roofline(parse_thread_spec(a->threads), a->refresh, a->json, a->cached); }};
}
[[maybe_unused]] const bool registered = register_command(40, add_roofline_command);

}  // namespace tb
