#include "harness/crosscheck.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "reference/bitnet_ref.h"

namespace tb::ref {

namespace {

// Unit roundoff of fp32, and the classic bound on a sum of n products: |fl(sum) - sum| <= gamma(n) * sum |terms|
// (Higham, Accuracy and Stability of Numerical Algorithms, 3.1), whatever the order or FMA use.
constexpr double kU = 5.9604644775390625e-8;  // 2^-24
double gamma(double n) { return n * kU / (1.0 - n * kU); }

// The bound at a quantization point whose input is an RMSNorm of identical inputs (attn_in, ffn_in, and
// ffn_out: its input, the FFN activation of identical gate/up outputs, is the same expression on both sides):
// y_i = x_i * r * w_i with one r per token, quantized by a = 127 / max|y|, so x * a = 127 * (x_i w_i) /
// max|x w| and r cancels: the two sides differ only by their own roundings, 2 in y_i, 2 in the max element,
// 1 in a and 1 in y_i * a, 6u each, 12u together. 16u leaves room for the eps inside the square root.
constexpr double kNormSiteSteps = 127.0 * 16.0 * kU;

bool same_bits(const float* a, const float* b, size_t n) { return std::memcmp(a, b, n * sizeof(float)) == 0; }

}  // namespace

struct CrossCheck::Impl {
  CrossCheckOptions opt;
  ModelConfig cfg;
  const WeightSource& src;
  std::unique_ptr<Runner> run;
  std::unique_ptr<Reference> fq, full;
  std::vector<float> lq, lr, lf;
  CrossCheckReport rep;
  std::vector<std::vector<float>> sub_norm;  // attn_sub_norm weights per layer (bound of attn_out)

  // ---- what the runner did in this step, in order ----
  struct QuantRec {
    int64_t layer = 0;
    QuantSite site{};
    int64_t pos = 0, T = 0, K = 0;
    std::vector<float> x, a;
    std::vector<int8_t> q;
    std::vector<double> bound;  // per token, in steps
  };
  struct OutRec {
    int64_t layer = 0;
    int what = 0;  // a Matmul, or -1 for the residual stream
    int64_t T = 0, N = 0;
    std::vector<float> y;
  };
  std::vector<QuantRec> quants;
  std::vector<OutRec> outs;
  std::vector<float> final_run, final_ref;
  size_t qi = 0, oi = 0;
  // Magnitudes for the attention bound, from the runner's outputs: per layer and KV head, the largest
  // ||k_j|| (over the head's dims) and max |v_j,i| over every position so far; q of the current step.
  std::vector<std::vector<double>> kmax, vmax;
  std::vector<float> cur_q;
  std::vector<double> attn_bound;  // per token of the current step, for the coming attn_out point

  struct RunnerProbe : Probe {
    Impl& m;
    explicit RunnerProbe(Impl& i) : m(i) {}
    void quantized(QuantPoint& p) override {
      QuantRec r;
      r.layer = p.layer;
      r.site = p.site;
      r.pos = p.pos;
      r.T = p.T;
      r.K = p.K;
      r.x.assign(p.x, p.x + p.T * p.K);
      r.q.assign(p.q, p.q + p.T * p.K);
      r.a.assign(p.a, p.a + p.T);
      if (p.site == QuantSite::attn_out) r.bound = m.attn_bound;
      else r.bound.assign(size_t(p.T), kNormSiteSteps);
      m.quants.push_back(std::move(r));
    }
    void linear_out(int64_t layer, Matmul mm, int64_t T, int64_t N, const float* y) override {
      m.outs.push_back({layer, int(mm), T, N, std::vector<float>(y, y + T * N)});
      const int64_t d = m.cfg.head_dim;
      if (mm == Matmul::q) m.cur_q.assign(y, y + T * N);
      if (mm == Matmul::k || mm == Matmul::v)
        for (int64_t t = 0; t < T; ++t)
          for (int64_t g = 0; g < m.cfg.kv_heads; ++g) {
            const float* h = y + t * N + g * d;
            double nrm = 0, mx = 0;
            for (int64_t i = 0; i < d; ++i) nrm += double(h[i]) * h[i], mx = std::max(mx, double(std::fabs(h[i])));
            double& slot = (mm == Matmul::k ? m.kmax : m.vmax)[size_t(layer)][size_t(g)];
            slot = std::max(slot, mm == Matmul::k ? std::sqrt(nrm) : mx);
          }
    }
    // The bound at attn_out, from the operations between identical q, k, v and the quantizer:
    // - RoPE turns (a, b) pairs with the same float cos/sin on both sides (<= 3u each), keeping norms, so a
    //   score q.k / sqrt(d) has |error| <= E_s = (gamma(d) + 6u) ||q|| max_j ||k_j|| / sqrt(d) per side;
    // - softmax p_j = exp(s_j - m) / sum: relative error <= 2 E_s (score errors) + gamma(n) (sum) + 6u (exp to
    //   4 ulps, the subtraction and the division);
    // - o_i = sum_j p_j v_j,i: |error| <= (rel(p) + gamma(n)) max_j |v_j,i| per side; D = twice that;
    // - then as at a norm site, with o_i w_i / max|o w| moved by at most 2 D max|w| / max|o w|.
    void attention(int64_t layer, int64_t T, int64_t n, const float* o) override {
      const int64_t d = m.cfg.head_dim, H = m.cfg.heads, group = m.cfg.heads / m.cfg.kv_heads;
      const std::vector<float>* w = m.cfg.sub_norms ? &m.sub_norm[size_t(layer)] : nullptr;
      double wmax = 1.0;
      if (w) {
        wmax = 0;
        for (float v : *w) wmax = std::max(wmax, double(std::fabs(v)));
      }
      m.attn_bound.assign(size_t(T), 0.0);
      for (int64_t t = 0; t < T; ++t) {
        const double ctx = double(m.run->position() + t + 1);  // keys this token attends to
        double D = 0, amax = 0;
        for (int64_t h = 0; h < H; ++h) {
          const int64_t g = h / group;
          double qn = 0;
          for (int64_t i = 0; i < d; ++i) qn += double(m.cur_q[size_t(t * n + h * d + i)]) * m.cur_q[size_t(t * n + h * d + i)];
          const double es = (gamma(double(d)) + 6 * kU) * std::sqrt(qn) * m.kmax[size_t(layer)][size_t(g)] / std::sqrt(double(d));
          const double relp = 2 * es + gamma(ctx) + 6 * kU;
          D = std::max(D, 2 * (relp + gamma(ctx)) * m.vmax[size_t(layer)][size_t(g)]);
        }
        for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(double(o[t * n + i]) * (w ? (*w)[size_t(i)] : 1.0f)));
        m.attn_bound[size_t(t)] = amax > 0 ? 127.0 * 2 * D * wmax / amax + kNormSiteSteps : 127.0;
      }
    }
    void residual(int64_t layer, int64_t T, int64_t n, const float* x) override {
      m.outs.push_back({layer, -1, T, n, std::vector<float>(x, x + T * n)});
    }
    void final_hidden(int64_t n, const float* x) override { m.final_run.assign(x, x + n); }
  };

  // The fake-quant reference: compares with the runner's record as it goes, and takes the runner's codes.
  struct ForcingProbe : Probe {
    Impl& m;
    explicit ForcingProbe(Impl& i) : m(i) {}
    void quantized(QuantPoint& p) override {
      if (m.qi >= m.quants.size()) throw Error("crosscheck: the reference met a quantization point the runner did not");
      const QuantRec& r = m.quants[m.qi++];
      if (r.layer != p.layer || r.site != p.site || r.T != p.T || r.K != p.K)
        throw Error("crosscheck: runner and reference met their quantization points in a different order");
      CrossCheckReport::Site& st = m.rep.layers[size_t(p.layer)].site[int(p.site)];
      for (int64_t t = 0; t < p.T; ++t) {
        if (std::memcmp(&r.a[size_t(t)], &p.a[t], sizeof(float)) != 0) ++st.scale_diffs;
        st.bound_steps = std::max(st.bound_steps, r.bound[size_t(t)]);
        for (int64_t i = 0; i < p.K; ++i) {
          const size_t j = size_t(t * p.K + i);
          const double diff = std::fabs(double(p.x[j]) * p.a[t] - double(r.x[j]) * r.a[size_t(t)]);
          st.max_diff_steps = std::max(st.max_diff_steps, diff);
          if (diff > r.bound[size_t(t)] && m.rep.first_mismatch.empty()) {
            std::ostringstream o;
            o << "layer " << p.layer << " " << quant_site_name(p.site) << " position " << p.pos + t << " index " << i
              << ": pre-quantization difference " << diff << " steps exceeds its bound " << r.bound[size_t(t)];
            m.rep.first_mismatch = o.str();
          }
          ++st.values;
          if (p.q[j] != r.q[j]) {
            ++st.flips;
            ++m.rep.total_flips;
            if (m.rep.flips.size() < CrossCheckReport::kMaxFlipsKept)
              m.rep.flips.push_back({p.layer, p.site, p.pos + t, i, int(r.q[j]), int(p.q[j]), diff});
          }
        }
      }
      std::memcpy(p.q, r.q.data(), r.q.size());  // teacher forcing
      std::memcpy(p.a, r.a.data(), r.a.size() * sizeof(float));
    }
    void compare(int64_t layer, int what, int64_t T, int64_t N, const float* y) {
      if (m.oi >= m.outs.size()) throw Error("crosscheck: the reference produced an output the runner did not");
      const OutRec& r = m.outs[m.oi++];
      if (r.layer != layer || r.what != what || r.T != T || r.N != N)
        throw Error("crosscheck: runner and reference produced their outputs in a different order");
      CrossCheckReport::Layer& L = m.rep.layers[size_t(layer)];
      int64_t& values = what < 0 ? L.residual_values : L.linear_values;
      int64_t& bad = what < 0 ? L.residual_mismatches : L.linear_mismatches;
      values += T * N;
      if (same_bits(r.y.data(), y, r.y.size())) return;
      for (int64_t i = 0; i < T * N; ++i)
        if (std::memcmp(&r.y[size_t(i)], &y[i], sizeof(float)) != 0) {
          if (bad++ == 0 && m.rep.first_mismatch.empty()) {
            std::ostringstream o;
            o.precision(9);
            o << "layer " << layer << " " << (what < 0 ? "residual stream" : matmul_name(Matmul(what))) << " token "
              << i / N << " index " << i % N << ": runner " << r.y[size_t(i)] << ", reference " << y[i]
              << " (the same int8 codes went in)";
            m.rep.first_mismatch = o.str();
          }
        }
    }
    void linear_out(int64_t layer, Matmul mm, int64_t T, int64_t N, const float* y) override { compare(layer, int(mm), T, N, y); }
    void residual(int64_t layer, int64_t T, int64_t n, const float* x) override { compare(layer, -1, T, n, x); }
    void final_hidden(int64_t n, const float* x) override { m.final_ref.assign(x, x + n); }
  };

  // The full-precision reference: the residual stream after each block against the runner's.
  struct FullProbe : Probe {
    Impl& m;
    size_t at = 0;  // into outs, from the start of each step
    explicit FullProbe(Impl& i) : m(i) {}
    void residual(int64_t layer, int64_t T, int64_t n, const float* x) override {
      while (at < m.outs.size() && m.outs[at].what != -1) ++at;
      if (at >= m.outs.size()) throw Error("crosscheck: the full-precision reference ran a block the runner did not");
      const OutRec& r = m.outs[at++];
      double num = 0, den = 0;
      for (int64_t i = 0; i < T * n; ++i) {
        const double e = double(r.y[size_t(i)]) - x[i];
        num += e * e;
        den += double(x[i]) * x[i];
      }
      double& q = m.rep.layers[size_t(layer)].quant_err;
      q = std::max(q, den > 0 ? std::sqrt(num / den) : 0.0);
    }
  };

  RunnerProbe rp{*this};
  ForcingProbe fp{*this};
  FullProbe pp{*this};

  explicit Impl(const WeightSource& s) : src(s) {}
};

bool CrossCheckReport::ok() const { return failures().empty(); }

std::string CrossCheckReport::failures() const {
  std::ostringstream o;
  int64_t lin = 0, res = 0;
  for (const Layer& L : layers) lin += L.linear_mismatches, res += L.residual_mismatches;
  if (lin) o << lin << " linear output values differ given identical int8 codes\n";
  if (res) o << res << " residual-stream values differ\n";
  for (size_t l = 0; l < layers.size(); ++l)
    for (int s = 0; s < 4; ++s)
      if (layers[l].site[s].values && layers[l].site[s].max_diff_steps > layers[l].site[s].bound_steps)
        o << "layer " << l << " " << quant_site_name(QuantSite(s)) << ": pre-quantization difference "
          << layers[l].site[s].max_diff_steps << " steps above its bound " << layers[l].site[s].bound_steps << "\n";
  if (logit_excess > 1.0) o << "logits differ by " << logit_excess << "x their rounding bound\n";
  if (!first_mismatch.empty() && o.tellp() > 0) o << "first: " << first_mismatch << "\n";
  return o.str();
}

CrossCheck::CrossCheck(const WeightSource& src, const CrossCheckOptions& opt) : impl_(new Impl(src)) {
  Impl& m = *impl_;
  m.opt = opt;
  m.cfg = src.config();
  RunnerOptions ro;
  ro.path = resolve_linear(opt.kernel);  // once: the runner takes it as resolved
  if (ro.path.is_float())
    throw Error("crosscheck: '" + opt.kernel + "' is a float baseline; the check is for the int8 (ternary) kernels");
  ro.context = opt.context;
  ro.head = HeadPrecision::fp32;  // the reference's head is fp32
  m.run = std::make_unique<Runner>(src, ro, opt.max_batch);
  m.run->set_threads(opt.threads);
  const int64_t ctx = opt.context > 0 ? opt.context : m.cfg.context;
  m.fq = std::make_unique<Reference>(src, Activations::fake_quant, ctx);
  m.fq->inject_fault(opt.fault);
  if (opt.full_precision) m.full = std::make_unique<Reference>(src, Activations::full, ctx);
  m.run->set_probe(&m.rp);
  m.fq->set_probe(&m.fp);
  if (m.full) m.full->set_probe(&m.pp);
  m.rep.layers.resize(size_t(m.cfg.layers));
  m.kmax.assign(size_t(m.cfg.layers), std::vector<double>(size_t(m.cfg.kv_heads), 0.0));
  m.vmax = m.kmax;
  if (m.cfg.sub_norms)
    for (int64_t l = 0; l < m.cfg.layers; ++l) m.sub_norm.push_back(src.norm(l, "attn_sub_norm"));
  m.lq.resize(size_t(m.cfg.vocab));
  m.lr.resize(m.lq.size());
  m.lf.resize(m.lq.size());
}

CrossCheck::~CrossCheck() = default;

int32_t CrossCheck::step(const int32_t* tokens, int64_t T) {
  // In chunks of the runner's batch, so that both sides meet the same quantization points.
  for (int64_t t0 = 0; t0 + impl_->opt.max_batch < T; t0 += impl_->opt.max_batch) {
    step_chunk(tokens + t0, impl_->opt.max_batch);
  }
  const int64_t last = T - (T - 1) / impl_->opt.max_batch * impl_->opt.max_batch;
  return step_chunk(tokens + (T - last), last);
}

int32_t CrossCheck::step_chunk(const int32_t* tokens, int64_t T) {
  Impl& m = *impl_;
  m.quants.clear();
  m.outs.clear();
  m.qi = m.oi = 0;
  m.pp.at = 0;
  m.run->forward(tokens, T, m.lq.data());
  m.fq->forward(tokens, T, m.lr.data());
  if (m.qi != m.quants.size() || m.oi != m.outs.size())
    throw Error("crosscheck: the runner met quantization points or outputs the reference did not");
  if (m.full) {
    m.full->forward(tokens, T, m.lf.data());
    double num = 0, mx = 0;
    for (size_t i = 0; i < m.lq.size(); ++i) {
      num = std::max(num, std::fabs(double(m.lq[i]) - m.lf[i]));
      mx = std::max(mx, std::fabs(double(m.lf[i])));
    }
    m.rep.logit_err_full = std::max(m.rep.logit_err_full, mx > 0 ? num / mx : 0.0);
  }
  // Logits: identical residual streams, then the final RMSNorm and the fp32 head in two summation orders.
  // Each side's head dot has |error| <= gamma(h) S_i, S_i = sum_k |e_ik x_k| (Higham 3.1); the normed x differs
  // by the norm's r (a sum of h positive squares: gamma(h) relative, halved by the square root, plus 4u) and
  // 4u more per element, so |runner - reference| <= (3 gamma(h) + 16u) S_i; S_i from the reference's x (1% room
  // for the other side's).
  std::vector<double> S(m.lq.size());
  m.fq->head_abs_products(m.final_ref.data(), S.data());
  const double per = (3 * gamma(double(m.cfg.hidden)) + 16 * kU) * 1.01;
  double mx = 0, dmax = 0;
  for (size_t i = 0; i < m.lq.size(); ++i) {
    const double d = std::fabs(double(m.lq[i]) - m.lr[i]);
    dmax = std::max(dmax, d);
    mx = std::max(mx, std::fabs(double(m.lr[i])));
    const double b = per * S[i];
    m.rep.logit_excess = std::max(m.rep.logit_excess, b > 0 ? d / b : (d > 0 ? 1e30 : 0.0));
  }
  m.rep.logit_diff_rel = std::max(m.rep.logit_diff_rel, mx > 0 ? dmax / mx : 0.0);
  ++m.rep.steps;
  m.rep.tokens += T;
  return int32_t(std::max_element(m.lq.begin(), m.lq.end()) - m.lq.begin());
}

const std::vector<float>& CrossCheck::runner_logits() const { return impl_->lq; }
const std::vector<float>& CrossCheck::reference_logits() const { return impl_->lr; }
const CrossCheckReport& CrossCheck::report() const { return impl_->rep; }
Runner& CrossCheck::runner() { return *impl_->run; }

}  // namespace tb::ref
