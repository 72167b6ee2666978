#include "energy/summary.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "energy/recorder.h"
#include "base/error.h"
#include "model/config.h"

namespace tb::energy {

namespace {
std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}
// Table cells cannot hold '|'.
std::string cell(std::string s) {
  for (char& c : s)
    if (c == '|') c = '/';
  return s;
}
}  // namespace

std::string sources_summary(const SourcePaths& paths) {
  std::ostringstream o;
  const auto meters = hardware_meters(paths);
  o << "Energy sources, in the order a run tries them:\n\n";
  o << "| source | available here | domains, or why not |\n|---|---|---|\n";
  std::string chosen;
  for (const auto& m : meters) {
    if (m->available() && chosen.empty()) chosen = m->name();
    o << "| " << m->name() << ": " << cell(m->title()) << " | " << (m->available() ? "yes" : "no") << " | "
      << cell(m->available() ? join(m->domains(), ", ") : m->why_not()) << " |\n";
  }
  o << "| estimate: operation counts x per-operation energies ([A3] method) | yes (an estimate, not a "
       "measurement) | `harness energy --estimate --model NAME` |\n";
  bool any_note = false;
  for (const auto& m : meters)
    for (const auto& n : m->notes()) {
      if (!any_note) o << "\n";
      any_note = true;
      o << "note (" << m->name() << "): " << n << "\n";
    }
  o << "\n";
  if (chosen.empty())
    o << "No energy counter is usable here: runs report the operation-count estimate only, labelled as an "
         "estimate.\n";
  else
    o << "Runs measure with: " << chosen << ".\n";
  char b[256];
  std::snprintf(b, sizeof b,
                "Counters are polled every %.3g s by default: the fastest wrap in practice (2^32 x 2^-16 J) takes "
                "%.1f s at %.0f W.\n",
                std::chrono::duration<double>(kDefaultSampleInterval).count(), std::ldexp(1.0, 16) / kMaxPlausibleWatts,
                kMaxPlausibleWatts);
  o << b;
  return o.str();
}

std::string estimate_summary(const std::string& model, const EstimateOptions& opt, int64_t seq) {
  if (seq <= 0) throw Error("--seq must be a positive number of tokens (got " + std::to_string(seq) + ")");
  const ModelConfig cfg = load_model_config(model);
  const Estimate e(cfg, opt);
  std::ostringstream o;
  char b[512];
  o << "ESTIMATE, not a measurement: energy of the arithmetic only, from operation counts ([A3] Table 1 "
       "method, docs/reference.md §7).\n";
  o << "model: " << e.describe() << "\n";
  std::snprintf(b, sizeof b,
                "counts: hidden %lld, layers %lld, ffn %lld, heads %lld (kv %lld) x head_dim %lld; %.4g B "
                "non-embedding linear weights\n",
                (long long)cfg.hidden, (long long)cfg.layers, (long long)cfg.ffn, (long long)cfg.heads,
                (long long)cfg.kv_heads, (long long)cfg.head_dim, double(e.linear_weights()) / 1e9);
  o << b;
  std::snprintf(b, sizeof b, "op energies (%s): FP16 add %.3g, mul %.3g; INT8 add %.3g, mul %.3g pJ\n\n",
                opt.ops.label.c_str(), opt.ops.fp16_add_pj, opt.ops.fp16_mul_pj, opt.ops.int8_add_pj,
                opt.ops.int8_mul_pj);
  o << b;

  const EstimateBreakdown s = e.sequence(seq);
  EstimateBreakdown pre = s;  // the average prefill token
  pre.linear_j /= double(seq);
  pre.attention_j /= double(seq);
  const EstimateBreakdown dec = e.tokens(1, seq - 1);  // position seq: attends seq positions
  o << "| what | linear mJ | attention mJ | total mJ |\n|---|---|---|---|\n";
  auto row = [&](const std::string& what, const EstimateBreakdown& x) {
    std::snprintf(b, sizeof b, "| %s | %.5g | %.5g | %.5g |\n", what.c_str(), x.linear_j * 1e3, x.attention_j * 1e3,
                  x.total_j() * 1e3);
    o << b;
  };
  const std::string L = std::to_string(seq);
  row("prefill, one token (average over a " + L + "-token prompt)", pre);
  row("decode, one token at position " + L, dec);
  row(L + "-token sequence", s);
  o << "\n";
  std::snprintf(b, sizeof b, "%s-token sequence: %.4f J", L.c_str(), s.total_j());
  o << b;
  const auto pub = a3_published_energy_j(cfg.name);
  if (pub && seq == 512 && opt.ops.label == "7nm" && !opt.causal && opt.linear == LinearArith::from_config) {
    const bool same = std::lround(s.total_j() * 1000) == std::lround(*pub * 1000);
    std::snprintf(b, sizeof b, "; [A3] Table 1 publishes %.3f J: %s\n", *pub,
                  same ? "reproduced to the published precision" : "NOT reproduced");
    o << b;
  } else {
    o << (pub ? " ([A3]'s published value is for 512 tokens, 7nm, the default reading)\n" : "\n");
  }
  if (!opt.causal) {
    EstimateOptions c = opt;
    c.causal = true;
    std::snprintf(b, sizeof b,
                  "In [A3]'s reading every token attends all %s positions, so a decode token at position %s costs "
                  "what an average prefill token costs. Counting causal attention instead (token i attends i "
                  "positions), the sequence costs %.4f J.\n",
                  L.c_str(), L.c_str(), Estimate(cfg, c).sequence(seq).total_j());
    o << b;
  }
  const double bytes_per_weight = e.ternary() ? 1.58 / 8 : 2.0;
  std::snprintf(b, sizeof b,
                "Left out: memory traffic, which dominates real decode energy (each decode token reads every "
                "weight: %.3g GB at %s), the embedding and LM head, norms, softmax, quantization, idle and uncore "
                "power. Measured J/token on a CPU is far above these figures.\n",
                double(e.linear_weights()) * bytes_per_weight / 1e9, e.ternary() ? "1.58 bits/weight" : "fp16");
  o << b;
  return o.str();
}

}  // namespace tb::energy
