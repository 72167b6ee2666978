#include "model/runner.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>

#include "kernels/float_matmul.h"
#include "model/float_ops.h"
#include "model/memory.h"

namespace tb {

const char* head_precision_name(HeadPrecision p) {
  return p == HeadPrecision::fp32 ? "fp32" : p == HeadPrecision::fp16 ? "fp16" : "int8";
}

HeadPrecision parse_head_precision(const std::string& s) {
  if (s == "fp32") return HeadPrecision::fp32;
  if (s == "fp16") return HeadPrecision::fp16;
  if (s == "int8") return HeadPrecision::int8;
  throw Error("unknown LM head precision '" + s + "': use fp32, fp16 or int8");
}

MemoryPlan plan_memory(const ModelConfig& c, const RunnerOptions& o, int64_t max_batch) {
  MemoryPlan m;
  const LinearPath& p = o.path;
  if (!p.kernel && !p.is_float()) throw Error("RunnerOptions::path names no kernel: set it to resolve_linear(name)");
  const Format* f = p.packed_format();
  const size_t fbytes = p.float_bytes();
  for (const auto& mm : c.layer_matmuls())
    m.linear_weights += (f ? f->packed_bytes(mm.N, mm.K) : size_t(mm.N * mm.K) * fbytes) * size_t(c.layers);
  m.norms = size_t(c.norm_params()) * sizeof(float);
  const size_t per = o.head == HeadPrecision::fp32 ? 4 : o.head == HeadPrecision::fp16 ? 2 : 1;
  m.embedding = (size_t(c.vocab * c.hidden) * per + (o.head == HeadPrecision::int8 ? size_t(c.vocab) * 4 : 0)) *
                (c.tied_embedding ? 1 : 2);
  const int64_t ctx = o.context > 0 ? o.context : c.context;
  m.kv_cache = size_t(2 * c.layers * ctx * c.kv_dim()) * sizeof(float);
  const int64_t widest = std::max({c.hidden, c.q_dim(), c.ffn});
  m.activations = size_t(max_batch) * size_t(3 * c.hidden + 2 * c.q_dim() + 2 * c.kv_dim() + 2 * c.ffn + widest) *
                      sizeof(float) + size_t(c.vocab) * sizeof(float);
  return m;
}

struct Runner::Impl {
  ModelConfig cfg;
  RunnerOptions opt;
  LinearPath path;
  std::vector<RunTarget> targets;  // linear(): the matmuls of one group
  MemoryPlan mem;
  double pack_s = 0;
  int64_t max_batch = 0, context = 0, pos = 0;
  int threads = 1;

  struct FloatW {
    AlignedBuffer buf;
    int64_t N = 0, K = 0;
  };
  struct Layer {
    PackedWeights q, k, v, o, gate, up, down;
    FloatW fq, fk, fv, fo, fgate, fup, fdown;
    std::vector<float> attn_norm, ffn_norm, attn_sub, ffn_sub;
  };
  std::vector<Layer> layers;
  // Every layer's linear weights (packed, or fp16/fp32 for the baselines) in one huge-page arena, each
  // matrix in a 64-byte aligned slot: q, k, v and o are under 2 MiB each and would sit on 4 KiB pages
  // on their own, a TLB walk every 4 KiB of a stream that decode reads once per token.
  AlignedBuffer arena;
  size_t arena_used = 0;
  uint8_t* arena_slot(size_t n) {
    const size_t at = arena_used;
    arena_used += (n + 63) / 64 * 64;
    if (arena_used > arena.size()) throw Error("internal: weight arena too small");
    return arena.data() + at;
  }
  std::vector<float> out_norm;
  // Token embedding and LM head at head precision (vocab x hidden), in huge-page buffers: the head is
  // streamed once per generated token (0.66 GB for 2B4T at fp16) and 4 KiB pages cost a third of it.
  template <class T>
  struct Table {
    AlignedBuffer buf;
    T* data() { return reinterpret_cast<T*>(buf.data()); }
    const T* data() const { return reinterpret_cast<const T*>(buf.data()); }
    bool empty() const { return buf.size() == 0; }
    void resize(size_t n) { buf.resize(n * sizeof(T)); }
  };
  Table<float> emb32, head32;     // fp32 head; head32 only for an untied output.weight
  Table<uint16_t> emb16, head16;  // fp16 head
  Table<int8_t> emb8, head8;       // int8 head: each row quantized by its absmax, scale per row
  std::vector<float> emb8_scale, head8_scale;
  QuantizedActs head_q;
  std::vector<float> kcache, vcache;  // [layer][position][kv_dim]
  std::vector<float> X, XN, Q, Kt, Vt, ATT, G, U, TMP, logits_buf;
  QuantizedActs qa;
  PreparedActs prep;
  Timers tm;
  Probe* probe = nullptr;  // verification only (model/probe.h)
  int64_t cur_layer = 0;

  using Clock = std::chrono::steady_clock;
  static double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }


  // Token-wise work (norms, RoPE, the FFN activation, residual adds, and in the kernels activation quantization
  // and preparation) is split over the threads when a chunk has several tokens (prefill); one token stays on
  // one thread (a fork-join costs more than its work). forks(T, n): whether n such regions fork, counted.
  bool forks(int64_t T, int n = 1) {
    const bool f = T > 1 && threads > 1;
    if (f) tm.parallel_regions += n;
    return f;
  }

  void rmsnorm(const float* x, const float* w, int64_t T, int64_t n, float* y) {
    const float eps = float(cfg.norm_eps);
    const FloatOps& ops = float_ops();
    const bool par = forks(T);
#pragma omp parallel for schedule(static) num_threads(threads) if (par)
    for (int64_t t = 0; t < T; ++t) ops.rmsnorm(x + t * n, w, n, eps, y + t * n);
  }

  // Quantizes x once and runs every weight in ws on it (q/k/v share an input, as do gate/up). part is the
  // block's quantization site (QuantSite), and the matmuls of ws are numbered from kFirstMatmul[part].
  // make (optional): makes the input's token t, into row t of x, and returns it (a norm of the residual stream, with
  // the residual add or the FFN activation before it). The ternary kernels then make, quantize and prepare each token
  // in one pass while it is in L1 (quantize_and_prepare); the float baselines and a probe make every token first.
  // The same floats either way: the same operations on the same rows.
  static constexpr int kFirstMatmul[4] = {0, 3, 4, 6};
  using RowMaker = std::function<const float*(int64_t)>;
  void linear(int part, const float* x, int64_t T, int64_t K,
              std::initializer_list<std::pair<const PackedWeights*, float*>> ws, const RowMaker& make = nullptr) {
    auto t0 = Clock::now();
    const bool fuse = make && !path.is_float() && !probe;
    if (make && !fuse) {
      const bool par = forks(T);
#pragma omp parallel for schedule(static) num_threads(threads) if (par)
      for (int64_t t = 0; t < T; ++t) make(t);
      tm.norms_and_quant += since(t0);
      t0 = Clock::now();
    }
    // One fork-join per matmul for the float baselines; the ternary kernels run the group in one (run_f32 with
    // several targets).
    tm.parallel_regions += path.is_float() ? int64_t(ws.size()) : 1;
    for (const auto& wy : ws) {
      const int64_t N = path.is_float() ? float_of(wy.first).N : wy.first->N;
      tm.linear_macs += T * N * K;
      if (!path.is_float() && path.kernel->lookup_tokens > 0)
        tm.lookup_macs += double(T * N * K) * gemm_lookup_share(*path.kernel, N, T, threads);
    }
    auto report = [&](int i, int64_t N, const float* y) {
      if (probe) probe->linear_out(cur_layer, Matmul(kFirstMatmul[part] + i), T, N, y);
    };
    if (path.is_float()) {  // float baseline: the FloatW sits at the same place in its layer as the PackedWeights
      int i = 0;
      for (const auto& [w, y] : ws) {
        const FloatW& fw = float_of(w);
        if (path.kind == LinearPath::Kind::fp32) matmul_f32w(reinterpret_cast<const float*>(fw.buf.data()), fw.N, K, x, T, y, threads);
        else matmul_f16w(reinterpret_cast<const uint16_t*>(fw.buf.data()), fw.N, K, x, T, y, threads);
        report(i++, fw.N, y);
      }
      const double dt = since(t0);
      tm.linear += dt;
      tm.linear_by_shape[part] += dt;
      return;
    }
    if (fuse) {
      forks(T);
      quantize_and_prepare(make, T, K, *path.kernel, qa, prep, threads);
    } else {
      forks(T, path.kernel->prepare ? 2 : 1);  // quantize_activations and prepare_activations fork on the same condition
      quantize_activations(x, T, K, qa, threads);
      if (probe) {
        QuantPoint p(cur_layer, QuantSite(part), pos, T, K, x, qa.q.data(), qa.a.data());
        probe->quantized(p);
        qa = acts_from_int8(qa.q.data(), T, K, qa.a.data());  // the probe may have rewritten the codes: new sums
      }
      prepare_activations(*path.kernel, qa, prep, threads);
    }
    tm.norms_and_quant += since(t0);
    t0 = Clock::now();
    targets.clear();
    for (const auto& [w, y] : ws) targets.push_back({w, y, nullptr});
    run_f32(*path.kernel, targets, prep, threads);
    int i = 0;
    for (const auto& [w, y] : ws) report(i++, w->N, y);
    const double dt = since(t0);
    tm.linear += dt;
    tm.linear_by_shape[part] += dt;
  }

  void add_into(float* x, const float* d, int64_t T, int64_t n) {
    const FloatOps& ops = float_ops();
    const bool par = forks(T);
#pragma omp parallel for schedule(static) num_threads(threads) if (par)
    for (int64_t t = 0; t < T; ++t) ops.add(x + t * n, d + t * n, n);
  }

  const FloatW& float_of(const PackedWeights* w) const {
    for (const Layer& L : layers) {
      const PackedWeights* p[] = {&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down};
      const FloatW* f[] = {&L.fq, &L.fk, &L.fv, &L.fo, &L.fgate, &L.fup, &L.fdown};
      for (int i = 0; i < 7; ++i)
        if (p[i] == w) return *f[i];
    }
    throw Error("internal: float weights not found");
  }

  // RoPE in the NEOX form: dimension i of a head turns with dimension i + head_dim / 2. The angles of a
  // chunk's positions are computed once per chunk (rope_table), not once per layer and per Q and K: cosines of
  // token t at rope_c[t * half ..], sines at rope_s[t * half ..].
  std::vector<float> rope_c, rope_s;
  void rope_table(int64_t T, int64_t p0) {
    const int64_t d = cfg.head_dim, half = d / 2;
    rope_c.resize(size_t(T * half));
    rope_s.resize(size_t(T * half));
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < half; ++i) {
        const double freq = std::pow(cfg.rope_theta, -2.0 * double(i) / double(d));
        const double ang = double(p0 + t) * freq;
        rope_c[size_t(t * half + i)] = float(std::cos(ang));
        rope_s[size_t(t * half + i)] = float(std::sin(ang));
      }
  }
  // Q and K of every token of the chunk.
  void rope_qk(int64_t T) {
    const FloatOps& ops = float_ops();
    const int64_t d = cfg.head_dim, half = d / 2;
    const bool par = forks(T);
#pragma omp parallel for schedule(static) num_threads(threads) if (par)
    for (int64_t t = 0; t < T; ++t) {
      const float* c = rope_c.data() + t * half;
      const float* s = rope_s.data() + t * half;
      ops.rope(Q.data() + t * cfg.heads * d, c, s, cfg.heads, d);
      ops.rope(Kt.data() + t * cfg.kv_heads * d, c, s, cfg.kv_heads, d);
    }
  }

  // Attention output (ATT) of tokens [t_from, T) of the chunk.
  void attention(int64_t l, int64_t T, int64_t p0, int64_t t_from = 0) {
    const int64_t d = cfg.head_dim, H = cfg.heads, kvd = cfg.kv_dim(), group = cfg.heads / cfg.kv_heads;
    const float* kc = kcache.data() + l * context * kvd;
    const float* vc = vcache.data() + l * context * kvd;
    const float scale = 1.0f / std::sqrt(float(d));
    const auto attend = float_ops().attend_heads;  // the allowed path now (TERNBENCH_ISA may change between runs)
#pragma omp parallel num_threads(threads)
    {
      std::vector<float> sc(size_t(group * (p0 + T)));
      // The query heads of a group share the cache's key/value head: one call for all of them reads it once.
      // Causal: token t's work grows with p0 + t. Plain static blocks would give the last thread the longest
      // tokens (at 2 threads and p0 = 0, 3/4 of the work on one thread); dealing the (token, group) pairs out one
      // at a time balances them for any thread count. Each pair writes only its own output: same result.
#pragma omp for collapse(2) schedule(static, 1)
      for (int64_t t = t_from; t < T; ++t)
        for (int64_t g = 0; g < cfg.kv_heads; ++g) {
          const int64_t n = p0 + t + 1;  // causal: positions 0 .. p0 + t
          const int64_t h = g * group;
          attend(Q.data() + (t * H + h) * d, group, kc + g * d, vc + g * d, kvd, n, d, scale, sc.data(),
                 ATT.data() + (t * H + h) * d);
        }
    }
  }

  void forward_chunk(const int32_t* tokens, int64_t T, float* logits) {
    const int64_t h = cfg.hidden, qd = cfg.q_dim(), kvd = cfg.kv_dim(), f = cfg.ffn;
    const int64_t T_chunk = T;  // T itself drops to 1 in the last layer (the last token's row moved to row 0)
    auto t0 = Clock::now();
    for (int64_t t = 0; t < T; ++t) {
      const int64_t id = tokens[t];
      if (id < 0 || id >= cfg.vocab)
        throw Error("token id " + std::to_string(id) + " is outside the vocabulary (0.." + std::to_string(cfg.vocab - 1) + ")");
      float* x = X.data() + t * h;
      if (!emb32.empty()) std::memcpy(x, emb32.data() + id * h, size_t(h) * sizeof(float));
      else if (!emb8.empty())
        for (int64_t i = 0; i < h; ++i) x[i] = float(emb8.data()[id * h + i]) * emb8_scale[size_t(id)];
      else for (int64_t i = 0; i < h; ++i) x[i] = fp16_to_fp32(emb16.data()[id * h + i]);
    }
    tm.norms_and_quant += since(t0);
    t0 = Clock::now();
    rope_table(T, pos);
    tm.attention += since(t0);
    const FloatOps& ops = float_ops();
    const float eps = float(cfg.norm_eps);
    // The residual add of the last layer's FFN output (TMP) into X, where the next norm makes its rows (deferred).
    bool add_pending = false;
    for (int64_t l = 0; l < cfg.layers; ++l) {
      Layer& L = layers[size_t(l)];
      cur_layer = l;
      {
        const bool add = add_pending;
        const float* nw = L.attn_norm.data();
        linear(0, XN.data(), T, h, {{&L.q, Q.data()}, {&L.k, Kt.data()}, {&L.v, Vt.data()}}, [&, add, nw](int64_t t) {
          if (add) ops.add(X.data() + t * h, TMP.data() + t * h, h);
          ops.rmsnorm(X.data() + t * h, nw, h, eps, XN.data() + t * h);
          return static_cast<const float*>(XN.data() + t * h);
        });
        add_pending = false;
      }
      t0 = Clock::now();
      rope_qk(T);
      std::memcpy(kcache.data() + (l * context + pos) * kvd, Kt.data(), size_t(T * kvd) * sizeof(float));
      std::memcpy(vcache.data() + (l * context + pos) * kvd, Vt.data(), size_t(T * kvd) * sizeof(float));
      // The last layer: past its keys and values (cached above), only the tokens whose logits are asked for matter,
      // the chunk's last one or none, as in llama.cpp, bitnet.cpp and ik_llama.cpp (their graphs keep the rows of
      // the output tokens, inp_out_ids, after the last layer's attention). Every row of a layer is computed on its
      // own (per-token activation scales, exact integer sums), so the last token's row, moved to row 0, gives the
      // same logits bit for bit. A probe sees every token of every layer.
      const bool last = l + 1 == cfg.layers && !probe;
      if (last && !logits) {
        tm.attention += since(t0);
        break;
      }
      attention(l, T, pos, last ? T - 1 : 0);
      if (last && T > 1) {
        std::memcpy(ATT.data(), ATT.data() + (T - 1) * qd, size_t(qd) * sizeof(float));
        std::memcpy(X.data(), X.data() + (T - 1) * h, size_t(h) * sizeof(float));
        T = 1;
      }
      ++tm.parallel_regions;
      tm.attention += since(t0);
      if (probe) probe->attention(l, T, qd, ATT.data());
      if (cfg.sub_norms) {
        const float* nw = L.attn_sub.data();
        linear(1, XN.data(), T, qd, {{&L.o, TMP.data()}}, [&, nw](int64_t t) {
          ops.rmsnorm(ATT.data() + t * qd, nw, qd, eps, XN.data() + t * qd);
          return static_cast<const float*>(XN.data() + t * qd);
        });
      } else {
        linear(1, ATT.data(), T, qd, {{&L.o, TMP.data()}});
      }
      {
        const float* nw = L.ffn_norm.data();
        linear(2, XN.data(), T, h, {{&L.gate, G.data()}, {&L.up, U.data()}}, [&, nw](int64_t t) {
          ops.add(X.data() + t * h, TMP.data() + t * h, h);
          ops.rmsnorm(X.data() + t * h, nw, h, eps, XN.data() + t * h);
          return static_cast<const float*>(XN.data() + t * h);
        });
      }
      {
        const auto act = cfg.ffn_act == FfnAct::relu2 ? ops.relu2_mul : ops.silu_mul;
        const bool sub = cfg.sub_norms;
        const float* nw = L.ffn_sub.data();
        linear(3, sub ? U.data() : G.data(), T, f, {{&L.down, TMP.data()}}, [&, act, sub, nw](int64_t t) {
          float* g = G.data() + t * f;
          act(g, U.data() + t * f, f);
          if (!sub) return static_cast<const float*>(g);
          ops.rmsnorm(g, nw, f, eps, U.data() + t * f);  // U's row t is read by act above, before
          return static_cast<const float*>(U.data() + t * f);
        });
      }
      if (probe) {
        add_into(X.data(), TMP.data(), T, h);
        probe->residual(l, T, h, X.data());
      } else {
        add_pending = true;
      }
    }
    if (add_pending) add_into(X.data(), TMP.data(), T, h);
    pos += T_chunk;
    if (logits) {
      t0 = Clock::now();
      rmsnorm(X.data() + (T - 1) * h, out_norm.data(), 1, h, XN.data());
      if (probe) probe->final_hidden(h, XN.data());
      const float* w32 = head32.empty() ? emb32.data() : head32.data();
      const uint16_t* w16 = head16.empty() ? emb16.data() : head16.data();
      if (opt.head == HeadPrecision::fp32) matmul_f32w(w32, cfg.vocab, h, XN.data(), 1, logits, threads);
      else if (opt.head == HeadPrecision::fp16) matmul_f16w(w16, cfg.vocab, h, XN.data(), 1, logits, threads);
      else {  // int8 head: the final hidden state quantized per token like every BitLinear input
        quantize_activations(XN.data(), 1, h, head_q);
        const bool untied = !head8.empty();
        matmul_i8rows(untied ? head8.data() : emb8.data(), untied ? head8_scale.data() : emb8_scale.data(), cfg.vocab, h,
                      head_q.q.data(), head_q.a[0], logits, threads);
      }
      tm.head += since(t0);
      tm.head_macs += cfg.vocab * h;
      ++tm.parallel_regions;
    }
  }
};

Runner::Runner(const WeightSource& src, const RunnerOptions& opt, int64_t max_batch) : impl_(new Impl) {
  Impl& m = *impl_;
  m.cfg = src.config();
  m.opt = opt;
  m.path = opt.path;
  const Format* fmt = m.path.packed_format();  // nullptr: a float baseline
  const ModelConfig& c = m.cfg;
  if (const std::string bad = check_shapes(m.path, c); !bad.empty()) throw Error(bad);
  m.max_batch = std::max<int64_t>(1, max_batch);
  m.context = opt.context > 0 ? opt.context : c.context;
  m.threads = omp_get_max_threads();
  m.mem = plan_memory(c, opt, m.max_batch);
  check_memory(m.mem.total(), "model " + c.name + " with kernel " + m.path.name);

  const auto t0 = Impl::Clock::now();
  size_t arena_bytes = 0;
  for (const auto& mm : c.layer_matmuls()) {
    const size_t b = fmt ? fmt->packed_bytes(mm.N, mm.K) : size_t(mm.N * mm.K) * m.path.float_bytes();
    arena_bytes += (b + 63) / 64 * 64 * size_t(c.layers);
  }
  m.arena.resize(arena_bytes);
  m.layers.resize(size_t(c.layers));
  for (int64_t l = 0; l < c.layers; ++l) {
    Impl::Layer& L = m.layers[size_t(l)];
    auto pack = [&](const char* name, PackedWeights& out, Impl::FloatW& fout) {
      const TernaryTensor t = src.linear(l, name);
      if (fmt) {
        out = pack_weights(*fmt, t.w.data(), t.N, t.K, t.scale, m.arena_slot(fmt->packed_bytes(t.N, t.K)));
        return;
      }
      fout.N = t.N;
      fout.K = t.K;
      const int64_t n = t.N * t.K;
      fout.buf = AlignedBuffer::view(m.arena_slot(size_t(n) * m.path.float_bytes()), size_t(n) * m.path.float_bytes());
      float* d32 = reinterpret_cast<float*>(fout.buf.data());
      uint16_t* d16 = reinterpret_cast<uint16_t*>(fout.buf.data());
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < n; ++i) {
        const float v = float(t.w[size_t(i)]) * t.scale;
        if (m.path.kind == LinearPath::Kind::fp32) d32[i] = v;
        else d16[i] = fp32_to_fp16(v);
      }
    };
    pack("attn_q", L.q, L.fq); pack("attn_k", L.k, L.fk); pack("attn_v", L.v, L.fv); pack("attn_output", L.o, L.fo);
    pack("ffn_gate", L.gate, L.fgate); pack("ffn_up", L.up, L.fup); pack("ffn_down", L.down, L.fdown);
    L.attn_norm = src.norm(l, "attn_norm");
    L.ffn_norm = src.norm(l, "ffn_norm");
    if (c.sub_norms) {
      L.attn_sub = src.norm(l, "attn_sub_norm");
      L.ffn_sub = src.norm(l, "ffn_sub_norm");
    }
  }
  m.out_norm = src.norm(-1, "output_norm");
  // Embedding (and an untied head) at head precision, converted in chunks: no fp32 copy for fp16.
  auto load = [&](bool head, Impl::Table<float>& d32, Impl::Table<uint16_t>& d16, Impl::Table<int8_t>& d8,
                  std::vector<float>& s8) {
    const int64_t chunk = 4096;
    std::vector<float> buf(size_t(chunk * c.hidden));
    if (opt.head == HeadPrecision::fp32) d32.resize(size_t(c.vocab * c.hidden));
    else if (opt.head == HeadPrecision::fp16) d16.resize(size_t(c.vocab * c.hidden));
    else {
      d8.resize(size_t(c.vocab * c.hidden));
      s8.assign(size_t(c.vocab), 0.0f);
    }
    for (int64_t r = 0; r < c.vocab; r += chunk) {
      const int64_t r1 = std::min(c.vocab, r + chunk);
      float* dst32 = opt.head == HeadPrecision::fp32 ? d32.data() + r * c.hidden : buf.data();
      if (head) src.head_rows(r, r1, dst32);
      else src.embedding_rows(r, r1, dst32);
      if (opt.head == HeadPrecision::fp16) {
        const int64_t n = (r1 - r) * c.hidden;
        uint16_t* dst = d16.data() + r * c.hidden;
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; ++i) dst[i] = fp32_to_fp16(buf[size_t(i)]);
      } else if (opt.head == HeadPrecision::int8) {
        // Per row: scale = absmax / 127, values rne(e / scale) in [-127, 127].
#pragma omp parallel for schedule(static)
        for (int64_t row = r; row < r1; ++row) {
          const float* e = buf.data() + (row - r) * c.hidden;
          float amax = 0.0f;
          for (int64_t i = 0; i < c.hidden; ++i) amax = std::max(amax, std::fabs(e[i]));
          const float sc = amax > 0.0f ? amax / 127.0f : 1.0f;
          s8[size_t(row)] = sc;
          int8_t* dst = d8.data() + row * c.hidden;
          for (int64_t i = 0; i < c.hidden; ++i) dst[i] = int8_t(std::nearbyint(e[i] / sc));
        }
      }
    }
  };
  load(false, m.emb32, m.emb16, m.emb8, m.emb8_scale);
  if (src.untied_head()) load(true, m.head32, m.head16, m.head8, m.head8_scale);
  m.pack_s = Impl::since(t0);
  m.kcache.assign(size_t(c.layers * m.context * c.kv_dim()), 0.0f);
  m.vcache.assign(m.kcache.size(), 0.0f);
  const size_t B = size_t(m.max_batch);
  m.X.resize(B * size_t(c.hidden));
  m.XN.resize(B * size_t(std::max({c.hidden, c.q_dim(), c.ffn})));
  m.Q.resize(B * size_t(c.q_dim()));
  m.ATT.resize(B * size_t(c.q_dim()));
  m.Kt.resize(B * size_t(c.kv_dim()));
  m.Vt.resize(B * size_t(c.kv_dim()));
  m.G.resize(B * size_t(c.ffn));
  m.U.resize(B * size_t(c.ffn));
  m.TMP.resize(B * size_t(c.hidden));
}

Runner::~Runner() = default;
const ModelConfig& Runner::config() const { return impl_->cfg; }
const Kernel& Runner::kernel() const {
  if (!impl_->path.kernel) throw Error("the " + impl_->path.name + " baseline runs no ternary kernel");
  return *impl_->path.kernel;
}
std::string Runner::kernel_name() const { return impl_->path.name; }
const LinearPath& Runner::linear_path() const { return impl_->path; }
const MemoryPlan& Runner::memory() const { return impl_->mem; }
double Runner::pack_seconds() const { return impl_->pack_s; }
void Runner::reset() { impl_->pos = 0; }
void Runner::set_threads(int t) { impl_->threads = t > 0 ? t : omp_get_max_threads(); }
int Runner::threads() const { return impl_->threads; }
int64_t Runner::position() const { return impl_->pos; }
const Runner::Timers& Runner::timers() const { return impl_->tm; }
void Runner::reset_timers() { impl_->tm = Timers(); }
void Runner::set_probe(Probe* p) { impl_->probe = p; }

void Runner::forward(const int32_t* tokens, int64_t T, float* logits) {
  Impl& m = *impl_;
  if (T <= 0) throw Error("forward needs at least one token");
  if (m.pos + T > m.context)
    throw Error("context full: " + std::to_string(m.pos) + " tokens cached + " + std::to_string(T) + " new > context " +
                std::to_string(m.context) + "; reset() or use a longer context");
  for (int64_t t0 = 0; t0 < T; t0 += m.max_batch) {
    const int64_t n = std::min(m.max_batch, T - t0);
    m.forward_chunk(tokens + t0, n, t0 + n == T ? logits : nullptr);
  }
}

}  // namespace tb
