#include "reference/bitnet_ref.h"

#include <Eigen/Dense>
#include <cmath>

#include "kernels/error.h"
#include "model/memory.h"

namespace tb::ref {

using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vec = Eigen::VectorXf;

struct Reference::Impl {
  ModelConfig c;
  Activations mode;
  int64_t context = 0, pos = 0;
  struct Layer {
    Mat q, k, v, o, gate, up, down;  // N x K, dequantized
    Vec attn_norm, ffn_norm, attn_sub, ffn_sub;
  };
  std::vector<Layer> layers;
  Mat emb;  // vocab x hidden
  Vec out_norm;
  std::vector<Mat> kc, vc;  // per layer: context x kv_dim

  static Mat dequant(const TernaryTensor& t) {
    Mat m(t.N, t.K);
    for (int64_t i = 0; i < t.N * t.K; ++i) m.data()[i] = float(t.w[size_t(i)]) * t.scale;
    return m;
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

  // The activation seen by a linear layer: as is, or quantized per token and dequantized.
  Mat act(const Mat& x) const {
    if (mode == Activations::full) return x;
    Mat y(x.rows(), x.cols());
    for (Eigen::Index t = 0; t < x.rows(); ++t) {
      float amax = x.row(t).cwiseAbs().maxCoeff();
      if (amax < 1e-5f) amax = 1e-5f;
      const float a = 127.0f / amax;
      for (Eigen::Index i = 0; i < x.cols(); ++i) {
        float q = std::nearbyint(x(t, i) * a);
        q = std::min(127.0f, std::max(-128.0f, q));
        y(t, i) = q / a;
      }
    }
    return y;
  }

  static Mat lin(const Mat& x, const Mat& w) { return x * w.transpose(); }

  void rope(Mat& x, int64_t nheads) const {
    const int64_t d = c.head_dim, half = d / 2;
    for (Eigen::Index t = 0; t < x.rows(); ++t)
      for (int64_t i = 0; i < half; ++i) {
        const double ang = double(pos + t) * std::pow(c.rope_theta, -2.0 * double(i) / double(d));
        const float co = float(std::cos(ang)), si = float(std::sin(ang));
        for (int64_t h = 0; h < nheads; ++h) {
          const float a = x(t, h * d + i), b = x(t, h * d + i + half);
          x(t, h * d + i) = a * co - b * si;
          x(t, h * d + i + half) = a * si + b * co;
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
      const Mat a = act(rmsnorm(x, L.attn_norm));
      Mat q = lin(a, L.q), k = lin(a, L.k), v = lin(a, L.v);
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
      const Mat ao = c.sub_norms ? rmsnorm(att, L.attn_sub) : att;
      x += lin(act(ao), L.o);
      const Mat f = act(rmsnorm(x, L.ffn_norm));
      const Mat gte = lin(f, L.gate), up = lin(f, L.up);
      Mat hdn(T, c.ffn);
      for (Eigen::Index i = 0; i < hdn.size(); ++i) {
        const float g = gte.data()[i];
        const float ga = c.ffn_act == FfnAct::relu2 ? (g > 0.0f ? g * g : 0.0f) : g / (1.0f + std::exp(-g));
        hdn.data()[i] = ga * up.data()[i];
      }
      const Mat fo = c.sub_norms ? rmsnorm(hdn, L.ffn_sub) : hdn;
      x += lin(act(fo), L.down);
    }
    pos += T;
    if (logits) {
      const Mat hfin = rmsnorm(x.bottomRows(1), out_norm);
      Eigen::Map<Eigen::Matrix<float, 1, Eigen::Dynamic>>(logits, c.vocab) = hfin * emb.transpose();
    }
  }
};

size_t Reference::memory_bytes(const ModelConfig& c, int64_t context) {
  const int64_t ctx = context > 0 ? context : c.context;
  return size_t(c.non_embedding_params() + c.vocab * c.hidden + 2 * c.layers * ctx * c.kv_dim()) * sizeof(float);
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
    L.q = Impl::dequant(src.linear(l, "attn_q"));
    L.k = Impl::dequant(src.linear(l, "attn_k"));
    L.v = Impl::dequant(src.linear(l, "attn_v"));
    L.o = Impl::dequant(src.linear(l, "attn_output"));
    L.gate = Impl::dequant(src.linear(l, "ffn_gate"));
    L.up = Impl::dequant(src.linear(l, "ffn_up"));
    L.down = Impl::dequant(src.linear(l, "ffn_down"));
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
  m.kc.assign(size_t(m.c.layers), Mat::Zero(m.context, m.c.kv_dim()));
  m.vc.assign(size_t(m.c.layers), Mat::Zero(m.context, m.c.kv_dim()));
}

Reference::~Reference() = default;
void Reference::reset() { impl_->pos = 0; }
int64_t Reference::position() const { return impl_->pos; }

void Reference::forward(const int32_t* tokens, int64_t T, float* logits) {
  if (T <= 0) throw Error("forward needs at least one token");
  if (impl_->pos + T > impl_->context) throw Error("reference: context full");
  impl_->forward(tokens, T, logits);
}

}  // namespace tb::ref
