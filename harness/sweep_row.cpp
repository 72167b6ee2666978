#include "harness/sweep_row.h"

#include <algorithm>
#include <cmath>

#include "harness/results.h"

namespace tb {

Stats stats(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  for (double x : v) s.mean += x;
  s.mean /= double(v.size());
  for (double x : v) s.sd += (x - s.mean) * (x - s.mean);
  s.sd = v.size() > 1 ? std::sqrt(s.sd / double(v.size() - 1)) : 0.0;
  std::sort(v.begin(), v.end());
  s.median = v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
  s.cv = s.mean > 0 ? s.sd / s.mean : 0.0;
  return s;
}

namespace {

// Ceilings in tokens/s: the int8 ceiling of the kernel's own path over the int8 multiply-adds of a token
// (linear layers, and the head when it is int8), for the kernels that multiply (not the TL1/TL2 lookups, not the
// float baselines); for TLW, and for i2s__avx2's prefill (table lookups), the kernel's own lookup loop's rate over
// the multiply-adds it looks up (roofline lookup_gmacs); and for decode the bandwidth probed now over the bytes a
// token reads. The lower one binds. The multiply-adds are those the runner counted as it ran (Runner::Timers), per
// token of the timed repetitions: a prefill runs the last layer past its attention, and the head, for one token.
void add_ceilings(const KernelContext& k, const TestContext& t, const TestMeasurement& m, double median, json& row) {
  const ModelConfig& c = *k.cfg;
  const LinearPath& p = *k.path;
  const Runner::Timers& tm = m.timers;
  const double per_tok = 1.0 / (double(k.reps) * double(t.n));
  const double path_gmacs = p.is_float() ? 0.0 : t.roof->gmacs_of(isa_name(p.kernel->isa));
  const double linear_macs = double(tm.linear_macs) * per_tok;
  const double head_macs = k.head == HeadPrecision::int8 ? double(tm.head_macs) * per_tok : 0.0;
  const double int8_macs = linear_macs + head_macs;
  row["linear_macs_per_token"] = linear_macs;
  // A lookup kernel with a measured loop (TLW): its linear layers at that rate, an int8 head at the path's int8 one.
  // A kernel whose GEMM looks up in large enough tiles (i2s__avx2, Kernel::lookup_tokens): the multiply-adds of the
  // matrices' lookup tiles at that rate (the runner counts them: gemm_lookup_share per matrix, at its token count and
  // threads; none in decode), the rest at the int8 one.
  double lookup_gmacs = p.kernel ? t.roof->lookup_gmacs_of(p.kernel->name) : 0.0;
  const double lookup_macs = p.kernel && p.kernel->format->lookup ? linear_macs : tm.lookup_macs * per_tok;
  if (lookup_macs <= 0) lookup_gmacs = 0.0;
  double compute_ts = p.multiplies() && path_gmacs > 0 && int8_macs > 0 ? path_gmacs * 1e9 / int8_macs : 0.0;
  if (lookup_gmacs > 0 && path_gmacs > 0)
    compute_ts = 1.0 / (lookup_macs / (lookup_gmacs * 1e9) + (int8_macs - lookup_macs) / (path_gmacs * 1e9));
  double bw_ts = 0.0;
  if (t.pp) {
    const double lin_s = m.timers.linear / double(k.reps);
    if (!p.is_float() && lin_s > 0) {
      const double gmacs = double(t.n) * linear_macs / lin_s / 1e9;
      row["gmacs"] = gmacs;
      if (path_gmacs > 0) {
        row["int8_peak_gmacs"] = path_gmacs;
        row["int8_peak_isa"] = isa_name(p.kernel->isa);  // the path whose ceiling that is
        row["compute_share"] = gmacs / path_gmacs;
      }
      if (lookup_gmacs > 0) {
        row["lookup_peak_gmacs"] = lookup_gmacs;
        row["lookup_share"] = gmacs / lookup_gmacs;
        row["lookup_macs_share"] = lookup_macs / linear_macs;  // of the linear layers' multiply-adds
      }
    }
  } else {
    // Bytes read per generated token: every weight once, the head, and the KV cache at the mean position.
    const size_t head_bytes = k.mem.embedding / (c.tied_embedding ? 1 : 2);
    const double kv = double(2 * c.layers * c.kv_dim()) * sizeof(float) * double(t.n + 1) / 2;
    const double bytes = double(k.mem.linear_weights + k.mem.norms + head_bytes) + kv;
    row["bytes_per_token"] = bytes;
    row["bandwidth_gbs"] = bytes * median / 1e9;
    row["roofline_gbs"] = t.read_gbs_now();
    row["roofline_probes_gbs"] = t.read_gbs_probes;
    row["roofline_cached_gbs"] = t.roof->read_gbs;
    row["head_row_streams"] = t.roof->read_streams;
    // How far ahead an i2s or tq1 GEMV fetched its weights (the kernels that prefetch, on the paths measured).
    if (p.kernel && gemv_prefetches(*p.kernel) && t.roof->path_prefetch.count(isa_name(p.kernel->isa)))
      row["gemv_prefetch"] = t.roof->prefetch_of(isa_name(p.kernel->isa));
    row["roofline_share"] = bytes * median / 1e9 / t.read_gbs_now();
    bw_ts = t.read_gbs_now() * 1e9 / bytes;
    row["bandwidth_ceiling_ts"] = bw_ts;
  }
  if (compute_ts > 0) row["compute_ceiling_ts"] = compute_ts;
  if (compute_ts > 0 || bw_ts > 0) {
    const bool by_bw = bw_ts > 0 && (compute_ts <= 0 || bw_ts <= compute_ts);
    const double ceil_ts = by_bw ? bw_ts : compute_ts;
    row["ceiling_ts"] = ceil_ts;
    const bool all_lookup = lookup_gmacs > 0 && lookup_macs >= linear_macs;
    row["binding"] = by_bw ? "bandwidth"
                           : std::string(isa_name(p.kernel->isa)) +
                                 (all_lookup ? " lookup" : lookup_gmacs > 0 ? " lookup+int8" : " int8");
    row["ceiling_share"] = median / ceil_ts;
  }
}

json energy_field(const KernelContext& k, const TestContext& t, const TestMeasurement& m) {
  const energy::Phase ph = t.pp ? energy::Phase::prefill : energy::Phase::decode;
  if (m.energy)
    return {{"source", k.energy_source}, {"estimated", false}, {"j_per_token", m.energy->joules_per_token(ph)},
            {"domain", m.energy->domain}};
  double j = 0;
  if (t.pp) j = k.estimate->tokens(t.n, 0).total_j();
  else
    for (int64_t i = 0; i < t.n; ++i) j += k.estimate->tokens(1, i).total_j();
  return {{"source", "estimate"}, {"estimated", true}, {"j_per_token", j / double(t.n)}, {"node", k.estimate_node}};
}

// Where the time went, per token, and an estimate of what threading costs: fork-joins per token x the cost of
// one empty fork-join at this thread count (inside the other parts, not added to them).
json time_split(const KernelContext& k, const TestContext& t, const Runner::Timers& tm) {
  const double per_tok = 1.0 / (double(k.reps) * double(t.n));
  json ts = {{"linear", tm.linear * per_tok}, {"attention", tm.attention * per_tok},
             {"norms_and_quant", tm.norms_and_quant * per_tok}, {"head", tm.head * per_tok}};
  for (int i = 0; i < 4; ++i) ts[std::string("linear_") + Runner::kLinearParts[i]] = tm.linear_by_shape[i] * per_tok;
  ts["threading_est"] = double(tm.parallel_regions) * per_tok * t.fork_join_s;
  ts["fork_joins_per_token"] = double(tm.parallel_regions) * per_tok;
  return ts;
}

}  // namespace

json sweep_row(const KernelContext& k, const TestContext& t, const TestMeasurement& m, const HwCounters& counters) {
  const ModelConfig& c = *k.cfg;
  const Stats s = stats(m.tps);
  json row;
  row["schema"] = kResultSchema;
  row["time"] = utc_now_iso();
  row["run_id"] = k.run_id;
  row["engine"] = "ternbench";
  row["engine_commit"] = (*k.machine)["commit"];
  row["machine"] = *k.machine;
  row["model"] = c.name;
  row["model_source"] = k.source;
  row["n_layers"] = c.layers;
  row["model_layers"] = k.full_layers;
  row["params"] = c.non_embedding_params();
  row["kernel"] = k.path->name;
  row["format"] = k.path->format;
  row["bits_per_weight"] = k.path->bits_per_weight;
  if (!k.tiles.is_null()) row["tiles"] = k.tiles;
  row["head"] = head_precision_name(k.head);
  row["threads"] = t.threads;
  row["pin"] = k.pin;
  row["test"] = t.pp ? "pp" : "tg";
  row["n_prompt"] = t.pp ? t.n : 0;
  row["n_gen"] = t.pp ? 0 : t.n;
  row["reps"] = k.reps;
  row["samples_ts"] = m.tps;
  row["avg_ts"] = s.mean;
  row["stddev_ts"] = s.sd;
  row["median_ts"] = s.median;
  row["cv"] = s.cv;
  if (s.cv > k.cv_warn) row["noisy"] = true;
  const MemoryPlan& mem = k.mem;
  row["model_bytes"] = mem.linear_weights + mem.norms + mem.embedding;
  row["memory"] = {{"linear_weights", mem.linear_weights}, {"norms", mem.norms}, {"embedding", mem.embedding},
                   {"head", mem.embedding / (c.tied_embedding ? 1 : 2)}, {"kv_cache", mem.kv_cache},
                   {"activations", mem.activations}, {"non_embedding", mem.linear_weights + mem.norms},
                   {"peak_rss", t.peak_rss}, {"peak_rss_scope", k.peak_reset ? "this kernel" : "process lifetime"}};
  add_ceilings(k, t, m, s.median, row);
  row["energy"] = energy_field(k, t, m);
  row["counters"] = counters_field(counters, m.counted, double(k.reps) * double(t.n));
  row["time_split"] = time_split(k, t, m.timers);
  row["fork_join_us"] = t.fork_join_s * 1e6;
  return row;
}

}  // namespace tb
