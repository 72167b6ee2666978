#include "harness/table.h"

#include <cstdio>
#include <map>

#include "base/error.h"
#include "base/strings.h"

namespace tb {

namespace {
// llama-bench's units: sizes in GiB (MiB when small), parameters in B (M when small).
std::string size_str(const json& r, const char* key) {
  if (!r.contains(key) || !r[key].is_number()) return "-";
  const double b = r[key].get<double>();
  return b >= double(1 << 30) ? fmt("%.2f GiB", b / double(1 << 30)) : fmt("%.2f MiB", b / double(1 << 20));
}
std::string params_str(const json& r) {
  if (!r.contains("params") || !r["params"].is_number()) return "-";
  const double n = r["params"].get<double>();
  return n >= 1e9 ? fmt("%.2f B", n / 1e9) : fmt("%.2f M", n / 1e6);
}
std::string str(const json& r, const char* key) {
  return r.contains(key) && r[key].is_string() ? r[key].get<std::string>() : r.contains(key) ? r[key].dump() : "-";
}
std::string num(const json& r, const char* key) { return r.contains(key) ? r[key].dump() : ""; }
const json& sub(const json& r, const char* key) {
  static const json empty = json::object();
  return r.contains(key) && r[key].is_object() ? r[key] : empty;
}
// Imported peers: the settings that change their numbers, beside the weight type.
std::string kernel_str(const json& r) {
  std::string k = str(r, "kernel");
  const json& p = sub(r, "peer");
  if (p.value("repack", false) || p.value("rtr", false)) k += " (rtr)";
  if (p.contains("flash_attn") && p["flash_attn"].is_boolean()) k += p["flash_attn"].get<bool>() ? " (fa)" : "";
  return k;
}
std::string model_str(const json& r) {
  std::string m = str(r, "model");
  if (r.contains("model_layers") && r.contains("n_layers") && r["n_layers"] != r["model_layers"])
    m += " (" + r["n_layers"].dump() + " of " + r["model_layers"].dump() + " layers)";
  return m;
}
}  // namespace

std::string test_name(const json& r) {
  const int64_t p = r.value("n_prompt", int64_t(0)), g = r.value("n_gen", int64_t(0));
  if (p > 0 && g > 0) return "pp" + std::to_string(p) + "+tg" + std::to_string(g);
  return p > 0 ? "pp" + std::to_string(p) : "tg" + std::to_string(g);
}

Table::Table(std::string mode, bool counters) : mode_(std::move(mode)), counters_(counters) {
  if (mode_ != "md" && mode_ != "csv" && mode_ != "json" && mode_ != "jsonl")
    throw Error("--output '" + mode_ + "' is not one of md, csv, json, jsonl");
}

void Table::header() {
  if (mode_ == "md")
    std::printf("| model | size | params | engine | kernel | bpw | head | threads | test | t/s | median t/s | peak RSS | roofline | J/token |%s\n"
                "|---|---:|---:|---|---|---:|---|---:|---|---:|---:|---:|---|---:|%s\n",
                counters_ ? " cycles/token | IPC | LLC misses/token |" : "", counters_ ? "---:|---:|---:|" : "");
  else if (mode_ == "csv")
    std::printf("model,size_bytes,params,engine,kernel,bits_per_weight,head,threads,test,avg_ts,stddev_ts,median_ts,peak_rss_bytes,"
                "bandwidth_gbs,roofline_share,gmacs,compute_share,j_per_token,energy_estimated,ceiling_ts,binding,ceiling_share%s\n",
                counters_ ? ",cycles_per_token,instructions_per_token,ipc,llc_misses_per_token,counters_scaled" : "");
  std::fflush(stdout);
}

void Table::row(const json& r) {
  const json& e = sub(r, "energy");
  const json& mem = sub(r, "memory");
  // Hardware counters (--counters): a row without them (unavailable, an imported peer) prints "-" / empty.
  const json& hc = sub(r, "counters");
  const json& hct = sub(hc, "per_token");
  std::string counters_md, counters_csv;
  if (counters_) {
    const bool has = hc.contains("ipc");
    const std::string sc = has && hc.value("scaled", false) ? " (scaled)" : "";
    counters_md = " " + (has ? fmt("%.4g", hct["cycles"].get<double>()) + sc : "-") + " | " +
                  (has ? fmt("%.2f", hc["ipc"].get<double>()) : "-") + " | " +
                  (hct.contains("llc_misses") ? fmt("%.4g", hct["llc_misses"].get<double>()) + sc : "-") + " |";
    counters_csv = "," + num(hct, "cycles") + "," + num(hct, "instructions") + "," + num(hc, "ipc") + "," +
                   num(hct, "llc_misses") + "," + (has ? (hc.value("scaled", false) ? "true" : "false") : "");
  }
  if (mode_ == "md") {
    std::string roof = "-";
    if (r.contains("roofline_share"))
      roof = fmt("%.1f GB/s", r["bandwidth_gbs"].get<double>()) + fmt(" (%.2f of bw)", r["roofline_share"].get<double>());
    else if (r.contains("lookup_share"))  // TLW, i2s__avx2 prefill: its own lookup loop's rate, not the int8 peak
      roof = fmt("%.0f GMAC/s", r["gmacs"].get<double>()) + fmt(" (%.2f of lookup peak,", r["lookup_share"].get<double>()) +
             fmt(" %.2f of int8)", r.value("compute_share", 0.0));
    else if (r.contains("compute_share"))
      roof = fmt("%.0f GMAC/s", r["gmacs"].get<double>()) + fmt(" (%.2f of int8 peak)", r["compute_share"].get<double>());
    // The binding ceiling (lower of bandwidth and the path's int8 ceiling) in tokens/s, and the share reached.
    if (r.contains("ceiling_ts"))
      roof += fmt("; %.2f of ", r["ceiling_share"].get<double>()) + fmt("%.1f t/s ", r["ceiling_ts"].get<double>()) +
              str(r, "binding") + "-bound";
    std::string energy = e.contains("j_per_token") ? fmt("%.3g", e["j_per_token"].get<double>()) : "-";
    if (e.value("estimated", false) && e.contains("j_per_token")) energy += " (est.)";
    const std::string bpw = r.contains("bits_per_weight") ? fmt("%.2f", r["bits_per_weight"].get<double>()) : "-";
    const std::string sd = r.contains("stddev_ts") ? fmt(" ± %.2f", r["stddev_ts"].get<double>()) : "";
    const std::string med = r.contains("median_ts") ? fmt("%.2f", r["median_ts"].get<double>()) : "-";
    std::printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %.2f%s%s | %s | %s | %s | %s |%s\n", model_str(r).c_str(),
                size_str(r, "model_bytes").c_str(), params_str(r).c_str(), str(r, "engine").c_str(), kernel_str(r).c_str(),
                bpw.c_str(), str(r, "head").c_str(), str(r, "threads").c_str(), test_name(r).c_str(), r["avg_ts"].get<double>(),
                sd.c_str(), r.value("noisy", false) ? " (noisy)" : "", med.c_str(), size_str(mem, "peak_rss").c_str(),
                roof.c_str(), energy.c_str(), counters_md.c_str());
  } else if (mode_ == "csv") {
    std::printf("%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s%s\n", str(r, "model").c_str(), num(r, "model_bytes").c_str(),
                num(r, "params").c_str(), str(r, "engine").c_str(), str(r, "kernel").c_str(), num(r, "bits_per_weight").c_str(),
                r.contains("head") ? str(r, "head").c_str() : "", num(r, "threads").c_str(), test_name(r).c_str(),
                num(r, "avg_ts").c_str(), num(r, "stddev_ts").c_str(), num(r, "median_ts").c_str(), num(mem, "peak_rss").c_str(),
                num(r, "bandwidth_gbs").c_str(), num(r, "roofline_share").c_str(), num(r, "gmacs").c_str(),
                num(r, "compute_share").c_str(), num(e, "j_per_token").c_str(),
                e.contains("j_per_token") ? (e.value("estimated", false) ? "true" : "false") : "", num(r, "ceiling_ts").c_str(),
                r.contains("binding") ? str(r, "binding").c_str() : "", num(r, "ceiling_share").c_str(), counters_csv.c_str());
  } else if (mode_ == "jsonl") {
    std::printf("%s\n", r.dump().c_str());
  }
  all_.push_back(r);
  std::fflush(stdout);
}

void Table::finish(const std::string& baseline) {
  if (mode_ == "json") std::printf("%s\n", all_.dump(2).c_str());
  if (mode_ == "md" && !all_.empty()) {
    const size_t colon = baseline.find(':');
    if (colon == std::string::npos) throw Error("--baseline '" + baseline + "' is not ENGINE:KERNEL (e.g. llama.cpp:F16, ternbench:fp16)");
    const std::string be = baseline.substr(0, colon), bk = baseline.substr(colon + 1);
    // Baseline t/s per (test, threads): the first matching row (kernel equal, or a prefix such as "i2s").
    std::map<std::pair<std::string, int64_t>, double> base;
    for (const json& r : all_)
      if (str(r, "engine") == be && str(r, "kernel").rfind(bk, 0) == 0)
        base.emplace(std::make_pair(test_name(r), r.value("threads", int64_t(0))), r.value("median_ts", r["avg_ts"].get<double>()));
    if (base.empty()) {
      std::printf("\n(no %s rows here, so no speedup column: --baseline picks another row)\n", baseline.c_str());
    } else {
      std::printf("\nSpeedup over %s (median t/s, same test and thread count):\n\n| engine | kernel | threads | test | median t/s | speedup |\n|---|---|---:|---|---:|---:|\n",
                  baseline.c_str());
      for (const json& r : all_) {
        const double t = r.value("median_ts", r["avg_ts"].get<double>());
        auto it = base.find({test_name(r), r.value("threads", int64_t(0))});
        std::printf("| %s | %s | %s | %s | %.2f | %s |\n", str(r, "engine").c_str(), kernel_str(r).c_str(),
                    str(r, "threads").c_str(), test_name(r).c_str(), t, it == base.end() ? "-" : fmt("%.2fx", t / it->second).c_str());
      }
    }
  }
  std::fflush(stdout);
}

}  // namespace tb
