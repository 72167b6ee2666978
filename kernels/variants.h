// Internal: the per-ISA entry points that registry.cpp lists and quantize.cpp dispatches to.
// ISA files see only raw pointers and these declarations (no STL in ISA-flagged code, so no inline
// template compiled with AVX-512 can be picked by the linker for a scalar caller).
#pragma once
#include <cstddef>
#include <cstdint>

namespace tb {
struct GemmArgs;
struct Format;

namespace detail {

// Quantizer rows: return -1 when all finite, else the index of the first non-finite value.
int64_t quantize_row_scalar(const float* x, int64_t K, int8_t* q, float* a, int32_t* sum);
int64_t quantize_row_avx2(const float* x, int64_t K, int8_t* q, float* a, int32_t* sum);
int64_t quantize_row_avx512(const float* x, int64_t K, int8_t* q, float* a, int32_t* sum);
int64_t quantize_row_neon(const float* x, int64_t K, int8_t* q, float* a, int32_t* sum);

extern const Format kFormatInt8Ref;
extern const Format kFormatInt8;
extern const Format kFormatI2S;

void int8_ref_gemm_scalar(const GemmArgs& a);

void int8_gemm_scalar(const GemmArgs& a);
void int8_gemm_avx2(const GemmArgs& a);
size_t int8_avx512_prepared_bytes(int64_t K);
void int8_avx512_prepare(const int8_t* q, int64_t K, uint8_t* out);
void int8_gemm_avx512vnni(const GemmArgs& a);
void int8_gemm_neon(const GemmArgs& a);

void i2s_gemm_scalar(const GemmArgs& a);
void i2s_gemm_avx2(const GemmArgs& a);
// i2s__avx2 computes a GEMM by table lookups for each run of at least this many tokens (of the 16 it takes at once),
// by vpmaddubsw for fewer (registry: Kernel::lookup_tokens). A table entry holds 16 tokens' sums however many are
// there: with 12 tokens a call ran at 0.65-0.8x the vpmaddubsw tiles on a Zen 4 (2560 x 2560, 1 thread), with 16
// on par when its weights came from L3, and 1.2x in a 128-token prefill, where 8 token tiles reuse them from L2.
constexpr int kI2sAvx2LookupTokens = 16;
// ... and tiles of at least this many rows: fewer leave the tables' cost to too few lookups (at 512 rows a pass ran
// 0.95x as fast as at 1024, at 256 about as fast as the vpmaddubsw tiles, on a Zen 4).
constexpr int kI2sAvx2LookupRows = 256;
size_t i2s_avx512_prepared_bytes(int64_t K);
void i2s_avx512_prepare(const int8_t* q, int64_t K, uint8_t* out);
void i2s_gemm_avx512vnni(const GemmArgs& a);
void i2s_gemm_neon(const GemmArgs& a);

extern const Format kFormatTQ1;
size_t tq1_padded_bytes(int64_t K);  // AVX2 and NEON: activations zero-padded to whole groups of 160
void tq1_prepare_padded(const int8_t* q, int64_t K, uint8_t* out);
void tq1_gemm_scalar(const GemmArgs& a);
void tq1_gemm_avx2(const GemmArgs& a);
size_t tq1_avx512_prepared_bytes(int64_t K);
void tq1_avx512_prepare(const int8_t* q, int64_t K, uint8_t* out);
void tq1_gemm_avx512vnni(const GemmArgs& a);
void tq1_gemm_neon(const GemmArgs& a);

extern const Format kFormatTL1;
extern const Format kFormatTL2;
size_t tl1_prepared_bytes(int64_t K);
size_t tl2_prepared_bytes(int64_t K);
void tl1_prepare(const int8_t* q, int64_t K, uint8_t* out);
void tl2_prepare(const int8_t* q, int64_t K, uint8_t* out);
void tl1_prepare_avx2(const int8_t* q, int64_t K, uint8_t* out);  // the same bytes, AVX2 (x86 builds)
void tl2_prepare_avx2(const int8_t* q, int64_t K, uint8_t* out);
// One entry per ISA serves both TL formats (the packed header says which).
void tl_gemm_scalar(const GemmArgs& a);
void tl_gemm_avx2(const GemmArgs& a);
void tl_gemm_avx512(const GemmArgs& a);
void tl_gemm_neon(const GemmArgs& a);

extern const Format kFormatTLW;
int64_t tlw_words(int64_t K);   // 16-bit index words per row: ceil(K / 9)
int64_t tlw_blocks(int64_t N);  // blocks of 32 rows: ceil(N / 32)
size_t tlw_prepared_bytes(int64_t K);
void tlw_prepare(const int8_t* q, int64_t K, uint8_t* out);
void tlw_prepare_avx512(const int8_t* q, int64_t K, uint8_t* out);  // the same bytes (x86 builds)
void tlw_gemm_scalar(const GemmArgs& a);
void tlw_gemm_avx512(const GemmArgs& a);

// Peak-throughput loops (kernels/peak.h).
int64_t int8_peak_avx2(int64_t iters, const uint8_t* u64, const int8_t* s64);
int64_t int8_peak_avx512vnni(int64_t iters, const uint8_t* u64, const int8_t* s64);
int64_t int8_peak_neon(int64_t iters, const uint8_t* u64, const int8_t* s64);

}  // namespace detail
}  // namespace tb
