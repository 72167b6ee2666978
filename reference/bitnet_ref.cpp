#include "reference/bitnet_ref.h"

#include <Eigen/Dense>
#include <cmath>

#include "base/error.h"
#include "model/memory.h"

namespace tb::ref {

using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vec = Eigen::VectorXf;

struct Reference::Impl {
  ModelConfig c;
  Activations mode;
  int64_t context = 0, pos = 0;
  // A linear layer. full: w holds w * scale. fake_quant: w holds the ternary codes (-1, 0, +1) and the
  // scale is applied after the sum, as the int8 path's epilogue does.
  struct Lin {
    Mat w;  // N x K
    float scale = 1.0f;
  };
  struct Layer {
    Lin q, k, v, o, gate, up, down;
    Vec attn_norm, ffn_norm, attn_sub, ffn_sub;
  };
  Probe* probe = nullptr;
  Fault fault = Fault::none;
  int64_t cur_layer = 0;  // the block being run (for the probe)
  std::vector<Layer> layers;
  Mat emb;   // vocab x hidden
  Mat head;  // the LM head when the file has its own output.weight (else the tied embedding)
  const Mat& lm_head() const { return head.size() ? head : emb; }
  Vec out_norm;
  std::vector<Mat> kc, vc;  // per layer: context x kv_dim

  static Lin load(const TernaryTensor& t, Activations mode) {
    Lin l;
    l.w.resize(t.N, t.K);
    const float s = mode == Activations::full ? t.scale : 1.0f;
    for (int64_t i = 0; i < t.N * t.K; ++i) l.w.data()[i] = float(t.w[size_t(i)]) * s;
    l.scale = mode == Activations::full ? 1.0f : t.scale;
    return l;
  }
  static Vec vec(const std::vector<float>& v) { return Eigen::Map<const Vec>(v.data(), Eigen::Index(v.size())); }

  Mat rmsnorm(const Mat& x, const Vec& w) const {
    Mat y(x.rows(), x.cols());
    for (Eigen::Index t = 0; t < x.rows(); ++t) {
      const float ms = x.row(t).squaredNorm() / float(x.cols());
      y.row(t) = (x.row(t) / std::sqrt(ms + float(c.norm_eps))).cwiseProduct(w.transpose());
    }
    return y;
  }

  // The linear layers that read x (q/k/v share an input, as do gate/up): site is the block's quantization
  // point, the matmuls are numbered from `first`.
  //
  // full: y = x * (w * s)^T in fp32.
  // fake_quant: x is quantized per token as the int8 path does (docs/reference.md §1.2: q = rne(x * a)
  // clamped to [-128, 127], a = 127 / max(max|x|, 1e-5)); then acc = q * w^T is summed in fp32, which is
  // exact here: every partial sum is an integer of magnitude at most 128 * K (K <= 6912 in 2B4T: under
  // 2^20), far below 2^24, so any summation order (Eigen's blocking follows the CPU's cache sizes) gives
  // the same integer; then y = acc / a * s, the epilogue's expression in the same order. So given the same
  // codes the outputs equal the runner's bit for bit, on any CPU.
  std::vector<Mat> lins(const Mat& x, QuantSite site, int first, std::initializer_list<const Lin*> ws) {
    std::vector<Mat> out;
    if (mode == Activations::full) {
      for (const Lin* w : ws) out.push_back(x * w->w.transpose());
    } else {
      const Eigen::Index T = x.rows(), K = x.cols();
      std::vector<int8_t> q(static_cast<size_t>(T * K));
      std::vector<float> a(static_cast<size_t>(T));
      for (Eigen::Index t = 0; t < T; ++t) {
        float amax = x.row(t).cwiseAbs().maxCoeff();
        if (amax < 1e-5f) amax = 1e-5f;
        a[size_t(t)] = 127.0f / amax;
        for (Eigen::Index i = 0; i < K; ++i) {
          float r = std::nearbyint(x(t, i) * a[size_t(t)]);
          r = std::min(127.0f, std::max(-128.0f, r));
          q[size_t(t * K + i)] = int8_t(r);
        }
      }
      if (probe) {
        QuantPoint p(cur_layer, site, pos, T, K, x.data(), q.data(), a.data());
        probe->quantized(p);
      }
      Mat qf(T, K);
      for (Eigen::Index i = 0; i < T * K; ++i) qf.data()[i] = float(q[size_t(i)]);
      for (const Lin* w : ws) {
        Mat y = qf * w->w.transpose();  // exact integers
        for (Eigen::Index t = 0; t < T; ++t)
          for (Eigen::Index n = 0; n < y.cols(); ++n)
            y(t, n) = fault == Fault::epilogue_order ? y(t, n) * w->scale / a[size_t(t)] : y(t, n) / a[size_t(t)] * w->scale;
        if (fault == Fault::skip_last_token && T > 1) y.row(T - 1).setZero();
        out.push_back(std::move(y));
      }
    }
    if (probe)
      for (size_t i = 0; i < out.size(); ++i)
        probe->linear_out(cur_layer, Matmul(first + int(i)), out[i].rows(), out[i].cols(), out[i].data());
    return out;
  }

  void rope(Mat& x, int64_t nheads) const {
    const int64_t d = c.head_dim, half = d / 2;
    for (Eigen::Index t = 0; t < x.rows(); ++t)
      for (int64_t i = 0; i < half; ++i) {
        const double ang = double(pos + t) * std::pow(c.rope_theta, -2.0 * double(i) / double(d));
        const float co = float(std::cos(ang)), si = float(std::sin(ang));
        for (int64_t h = 0; h < nheads; ++h) {
          // NEOX: dimension i turns with i + d/2 (the fault: with its neighbour, as the GPT-J form does).
          const int64_t i0 = fault == Fault::rope_neighbour_pairs ? 2 * i : i;
          const int64_t i1 = fault == Fault::rope_neighbour_pairs ? 2 * i + 1 : i + half;
          const float a = x(t, h * d + i0), b = x(t, h * d + i1);
          x(t, h * d + i0) = a * co - b * si;
          x(t, h * d + i1) = a * si + b * co;
        }
      }
  }

  void forward(const int32_t* tokens, int64_t T, float* logits) {
    const int64_t d = c.head_dim, group = c.heads / c.kv_heads;
    Mat x(T, c.hidden);
    for (int64_t t = 0; t < T; ++t) {
      if (tokens[t] < 0 || tokens[t] >= c.vocab) throw Error("token id " + std::to_string(tokens[t]) + " outside the vocabulary");
      x.row(t) = emb.row(tokens[t]);
    }
    for (int64_t l = 0; l < c.layers; ++l) {
      Layer& L = layers[size_t(l)];
      cur_layer = l;
      std::vector<Mat> qkv = lins(rmsnorm(x, L.attn_norm), QuantSite::attn_in, 0, {&L.q, &L.k, &L.v});
      Mat& q = qkv[0];
      Mat& k = qkv[1];
      const Mat& v = qkv[2];
      rope(q, c.heads);
      rope(k, c.kv_heads);
      kc[size_t(l)].middleRows(pos, T) = k;
      vc[size_t(l)].middleRows(pos, T) = v;
      Mat att(T, c.q_dim());
      for (int64_t t = 0; t < T; ++t)
        for (int64_t h = 0; h < c.heads; ++h) {
          const int64_t n = pos + t + 1, g = h / group;
          const Vec qv = q.row(t).segment(h * d, d).transpose();
          Vec s = kc[size_t(l)].topRows(n).middleCols(g * d, d) * qv / std::sqrt(float(d));
          s = (s.array() - s.maxCoeff()).exp();
          s /= s.sum();
          att.row(t).segment(h * d, d) = (vc[size_t(l)].topRows(n).middleCols(g * d, d).transpose() * s).transpose();
        }
      if (probe) probe->attention(l, att.rows(), att.cols(), att.data());
      const Mat ao = c.sub_norms ? rmsnorm(att, L.attn_sub) : att;
      x += lins(ao, QuantSite::attn_out, 3, {&L.o})[0];
      const std::vector<Mat> gu = lins(rmsnorm(x, L.ffn_norm), QuantSite::ffn_in, 4, {&L.gate, &L.up});
      const Mat& gte = gu[0];
      const Mat& up = gu[1];
      Mat hdn(T, c.ffn);
      for (Eigen::Index i = 0; i < hdn.size(); ++i) {
        const float g = gte.data()[i];
        const float ga = c.ffn_act == FfnAct::relu2 ? (g > 0.0f ? g * g : 0.0f) : g / (1.0f + std::exp(-g));
        hdn.data()[i] = ga * up.data()[i];
      }
      const Mat fo = c.sub_norms ? rmsnorm(hdn, L.ffn_sub) : hdn;
      x += lins(fo, QuantSite::ffn_out, 6, {&L.down})[0];
      if (probe) probe->residual(l, x.rows(), x.cols(), x.data());
    }
    pos += T;
    if (logits) {
      const Mat hfin = rmsnorm(x.bottomRows(1), out_norm);
      if (probe) probe->final_hidden(hfin.cols(), hfin.data());
      Eigen::Map<Eigen::Matrix<float, 1, Eigen::Dynamic>>(logits, c.vocab) = hfin * lm_head().transpose();
    }
  }
};

size_t Reference::memory_bytes(const ModelConfig& c, int64_t context) {
  const int64_t ctx = context > 0 ? context : c.context;
  return size_t(c.non_embedding_params() + c.vocab * c.hidden * (c.tied_embedding ? 1 : 2) +
                2 * c.layers * ctx * c.kv_dim()) * sizeof(float);
}

Reference::Reference(const WeightSource& src, Activations mode, int64_t context) : impl_(new Impl) {
  Impl& m = *impl_;
  m.c = src.config();
  m.mode = mode;
  m.context = context > 0 ? context : m.c.context;
  check_memory(memory_bytes(m.c, m.context), "the fp32 reference of " + m.c.name);
  m.layers.resize(size_t(m.c.layers));
  for (int64_t l = 0; l < m.c.layers; ++l) {
    Impl::Layer& L = m.layers[size_t(l)];
    L.q = Impl::load(src.linear(l, "attn_q"), mode);
    L.k = Impl::load(src.linear(l, "attn_k"), mode);
    L.v = Impl::load(src.linear(l, "attn_v"), mode);
    L.o = Impl::load(src.linear(l, "attn_output"), mode);
    L.gate = Impl::load(src.linear(l, "ffn_gate"), mode);
    L.up = Impl::load(src.linear(l, "ffn_up"), mode);
    L.down = Impl::load(src.linear(l, "ffn_down"), mode);
    L.attn_norm = Impl::vec(src.norm(l, "attn_norm"));
    L.ffn_norm = Impl::vec(src.norm(l, "ffn_norm"));
    if (m.c.sub_norms) {
      L.attn_sub = Impl::vec(src.norm(l, "attn_sub_norm"));
      L.ffn_sub = Impl::vec(src.norm(l, "ffn_sub_norm"));
    }
  }
  m.out_norm = Impl::vec(src.norm(-1, "output_norm"));
  m.emb.resize(m.c.vocab, m.c.hidden);
  src.embedding_rows(0, m.c.vocab, m.emb.data());
  if (src.untied_head()) {
    m.head.resize(m.c.vocab, m.c.hidden);
    src.head_rows(0, m.c.vocab, m.head.data());
  }
  m.kc.assign(size_t(m.c.layers), Mat::Zero(m.context, m.c.kv_dim()));
  m.vc.assign(size_t(m.c.layers), Mat::Zero(m.context, m.c.kv_dim()));
}

Reference::~Reference() = default;
void Reference::reset() { impl_->pos = 0; }
int64_t Reference::position() const { return impl_->pos; }
void Reference::set_probe(Probe* p) { impl_->probe = p; }
void Reference::inject_fault(Fault f) { impl_->fault = f; }

void Reference::head_abs_products(const float* x, double* out) const {
  const Impl& m = *impl_;
  for (int64_t r = 0; r < m.c.vocab; ++r) {
    double s = 0.0;
    for (int64_t k = 0; k < m.c.hidden; ++k) s += std::fabs(double(m.lm_head()(r, k)) * double(x[k]));
    out[r] = s;
  }
}

void Reference::forward(const int32_t* tokens, int64_t T, float* logits) {
  if (T <= 0) throw Error("forward needs at least one token");
  if (impl_->pos + T > impl_->context) throw Error("reference: context full");
  impl_->forward(tokens, T, logits);
}

}  // namespace tb::ref
