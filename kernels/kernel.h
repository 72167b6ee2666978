// The kernel interface: formats (how weights are stored), kernel variants (one format x one ISA path),
// the registry, the activation quantizer, and the driver that threads a kernel and applies the one
// shared epilogue. Depends on nothing of ternbench outside kernels/.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kernels/aligned_buffer.h"
#include "kernels/cpu_features.h"
#include "base/error.h"
#include "kernels/gemm_args.h"

namespace tb {

// ---- Activations (docs/reference.md §1.2) ------------------------------------------------------

// Per-token int8 activations: q = rne(x * a) clamped to [-128, 127], a = 127 / max(max|x|, 1e-5).
struct QuantizedActs {
  int64_t T = 0, K = 0;
  std::vector<int8_t, LineAllocator<int8_t>> q;  // T x K, row-major, from a 64-byte line
  std::vector<float> a;      // per token: 127 / amax
  std::vector<int32_t> sum;  // per token: sum of q
};

// Quantizes T tokens of K floats (row-major). Non-finite input throws tb::Error naming token and index.
// Uses the best allowed quantizer path; every path is bit-identical to the scalar one. threads > 1: tokens
// are split over that many OpenMP threads (prefill); the result does not depend on it.
void quantize_activations(const float* x, int64_t T, int64_t K, QuantizedActs& out, int threads = 1);
void quantize_activations(const float* x, int64_t T, int64_t K, QuantizedActs& out, Isa isa, int threads = 1);
// quantize_activations and prepare_activations (below) in one pass over the tokens: token t's floats are made by
// row(t) just before they are quantized and its int8 values prepared right after, so that a prefill's floats, int8
// values and prepared bytes of a token pass through L1 once instead of through L2/L3 once per step (e.g. row(t) an
// RMS norm of the residual stream, the runner's). The same results as the two calls on the rows row() returns; row(t)
// runs once per token, on any of the threads, and must not throw.
struct Kernel;
struct PreparedActs;
void quantize_and_prepare(const std::function<const float*(int64_t t)>& row, int64_t T, int64_t K, const Kernel& k,
                          QuantizedActs& qa, PreparedActs& prep, int threads);
// Builds QuantizedActs from given int8 values (tests, extreme inputs); a is taken as given.
QuantizedActs acts_from_int8(const int8_t* q, int64_t T, int64_t K, const float* a);

// Ternary weights from fp32 by absmean (docs/reference.md §1.1): s = max(mean|W|, 1e-5), w = round(clamp(W/s,-1,1)).
float quantize_weights_absmean(const float* W, int64_t N, int64_t K, int8_t* w);

// The one epilogue (docs/reference.md §1.4): y = acc / a * s, in this order, in float.
inline float epilogue(int32_t acc, float a, float s) { return static_cast<float>(acc) / a * s; }

// ---- Formats and kernels -----------------------------------------------------------------------

// A weight format: how a ternary N x K matrix (rows = outputs) plus one fp32 scale is stored.
struct Format {
  const char* name;         // "i2s"
  const char* summary;      // one line for `harness kernels`
  double bits_per_weight;   // storage per weight, not counting per-matrix overhead
  const char* constraint;   // shape rule in words, e.g. "K % 128 == 0"
  // "" when the shape is fine, else a message naming the violated constraint.
  std::string (*check_shape)(int64_t N, int64_t K);
  size_t (*packed_bytes)(int64_t N, int64_t K);
  // w: N x K int8 in {-1, 0, +1}. Offline, untimed. out has packed_bytes() zeroed bytes.
  void (*pack)(const int8_t* w, int64_t N, int64_t K, float scale, uint8_t* out);
  // Inverse of pack, for loaders and tests.
  void (*unpack)(const uint8_t* p, int64_t N, int64_t K, int8_t* w);
  bool oracle = false;      // the reference every kernel is checked against: correct, not fast
  // A lookup format (below) whose kernels pack with tile sizes per shape (kernels/tl_tiles.h) that the layers above
  // tune per CPU and hand down (TL1/TL2).
  bool lookup_tiled = false;
  // Table lookups instead of int8 multiplies (TL1, TL2, TLW): the path's int8 ceiling does not bound its kernels.
  bool lookup = false;
};

// A kernel variant: one format on one ISA path.
struct Kernel {
  const char* name;       // "<format>__<isa>", e.g. "i2s__avx512vnni"
  const Format* format;
  Isa isa;
  int row_multiple;       // the driver splits rows across threads at multiples of this
  // Activation preparation for one token (layout change, offset, padding); timed apart from run.
  // nullptr: the kernel reads q as is (ldx = K).
  size_t (*prepared_bytes_per_token)(int64_t K);
  void (*prepare)(const int8_t* q, int64_t K, uint8_t* out);
  void (*gemm)(const GemmArgs& args);
  // The driver's GEMM tile (rows x tokens per call) for this variant; the default suits kernels whose activations
  // are int8. Table-lookup kernels read tables many times larger than the activations, so they ask for more rows
  // and fewer tokens per call (each table then serves more rows while it is in cache); i2s on AVX-512, which unpacks
  // a call's codes once for all its tokens, asks for more tokens.
  int gemm_rows = 64;
  int gemm_tokens = 32;
  // A kernel of a multiplying format whose GEMM is table lookups for calls of at least lookup_tokens tokens and
  // lookup_rows rows (i2s on AVX2: kernels/i2s_avx2.cpp); lookup_tokens 0: never. The multiply-adds a GEMM does by
  // lookup (gemm_lookup_share) are held to the kernel's measured lookup ceiling (harness/roofline.h) in a prefill
  // row, the others to its path's int8 one; its GEMV multiplies.
  int lookup_tokens = 0;
  int lookup_rows = 0;
  // The kernel writes run_f32's floats itself when GemmArgs::y is set (the epilogue applied to sums still in its
  // registers), and the driver then applies none.
  bool writes_y = false;
};

// Every kernel variant compiled into this binary, oracle first. An explicit list (registry.cpp).
const std::vector<Kernel>& all_kernels();
std::vector<const Format*> all_formats();
const Format& find_format(const std::string& name);      // throws tb::Error listing the known names
const Kernel& find_kernel(const std::string& variant);   // "i2s__avx2"; throws tb::Error
const Kernel& oracle_kernel();                           // the variant of the Format::oracle format
// The variant this CPU will use for a format: the best allowed path (see allowed_isas()).
const Kernel& select_kernel(const std::string& format);
const Kernel& select_kernel(const Format& format, uint32_t allowed_isa_mask);

// ---- Packed weights and the driver ---------------------------------------------------------------

struct PackedWeights {
  const Format* format = nullptr;
  int64_t N = 0, K = 0;
  float scale = 0.0f;
  AlignedBuffer data;
};

// Throws tb::Error (naming the format's constraint) for a shape the format cannot take, and for
// weights outside {-1, 0, +1}.
// dst: pack into these f.packed_bytes(N, K) bytes (64-byte aligned, owned by the caller, e.g. a slot of a
// huge-page arena; the result is a view of them); null: into a buffer of its own.
PackedWeights pack_weights(const Format& f, const int8_t* w, int64_t N, int64_t K, float scale, uint8_t* dst = nullptr);

// Prepared activations for one kernel; reuse one across calls to avoid allocation.
struct PreparedActs {
  const QuantizedActs* src = nullptr;
  const Kernel* kernel = nullptr;
  AlignedBuffer buf;
  const uint8_t* x = nullptr;
  size_t ldx = 0;
  // What src looked like when prepared: a run refuses activations re-quantized since (stale buffer).
  int64_t T = 0, K = 0;
  const int8_t* q = nullptr;
};
void prepare_activations(const Kernel& k, const QuantizedActs& acts, PreparedActs& out, int threads = 1);
namespace detail {
// The two halves of filling a PreparedActs, shared by prepare_activations and quantize_and_prepare: begin reserves
// the buffer for T tokens of K and marks `out` unprepared, returning the prepared bytes per token (0: the kernel
// reads the int8 rows as they are); end, once every token is prepared, points `out` at them and records acts.
size_t begin_prepared(const Kernel& k, int64_t T, int64_t K, PreparedActs& out);
void end_prepared(const Kernel& k, const QuantizedActs& acts, size_t ld, PreparedActs& out);
}  // namespace detail

// Y (T x N, row-major) = the exact int32 accumulators, or the shared epilogue of them.
// threads <= 0: OpenMP's default. Results are identical for every thread count.
void run_i32(const Kernel& k, const PackedWeights& w, const PreparedActs& x, int32_t* C, int threads);
void run_f32(const Kernel& k, const PackedWeights& w, const PreparedActs& x, float* Y, int threads);

// Several weights on the same activations (q, k and v; gate and up) in one parallel region: the threads go from
// one matrix to the next without a barrier between them, one at the end (a fork-join and two barriers fewer
// per layer and matrix group in decode, where each costs microseconds beside ~0.1 ms of streaming). Every
// target's Y is exactly what run_f32 alone would give.
struct RunTarget {
  const PackedWeights* w = nullptr;
  float* y = nullptr;     // run_f32: T x w->N
  int32_t* c = nullptr;   // (run_i32's accumulators; internal)
};
void run_f32(const Kernel& k, const std::vector<RunTarget>& targets, const PreparedActs& x, int threads);

// How far ahead (bytes) the GEMV kernels that prefetch in software (i2s and tq1 on AVX2 and AVX-512) fetch their
// weight streams: 0 (none, the hardware prefetchers alone) or a multiple of 64 up to 65536. Process-wide, read at
// the start of each run; no result depends on it. The default, kDefaultGemvPrefetch, was the best of 0.5-16 KiB on
// a Zen 5; a Zen 4 streams the I2_S GEMV about 20% faster with none, so the harness measures the distance per
// machine, path and thread count (harness/roofline.h) and sets it. Throws tb::Error on another value.
constexpr int64_t kDefaultGemvPrefetch = 4096;
void set_gemv_prefetch(int64_t bytes);
int64_t gemv_prefetch();
// Whether a variant's GEMV reads gemv_prefetch() (the one list of them: the harness measures and reports by it).
bool gemv_prefetches(const Kernel& k);

// The share of an N-row GEMM of T tokens that a kernel with Kernel::lookup_tokens computes by table lookup when the
// driver runs it on `threads` threads: the rows in tiles of at least lookup_rows times the tokens in tiles of at least
// lookup_tokens (its tiles as run_f32 plans them); 0 for every other kernel and for T < lookup_tokens.
double gemm_lookup_share(const Kernel& k, int64_t N, int64_t T, int threads);

// Convenience: prepare + run_f32.
void matmul(const Kernel& k, const PackedWeights& w, const QuantizedActs& acts, float* Y, int threads);

}  // namespace tb
