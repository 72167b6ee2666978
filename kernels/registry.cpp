// The registry: an explicit list of kernel variants, oracle first. Adding a variant is adding a row.
#include <string>

#include "kernels/kernel.h"
#include "kernels/variants.h"

namespace tb {

using namespace detail;

const std::vector<Kernel>& all_kernels() {
  static const std::vector<Kernel> kernels = {
      // name               format           isa              rows  prepare                                         gemm
      {"int8_ref__scalar", &kFormatInt8Ref, Isa::scalar, 1, nullptr, nullptr, &int8_ref_gemm_scalar},
      {"int8__scalar", &kFormatInt8, Isa::scalar, 4, nullptr, nullptr, &int8_gemm_scalar},
#ifdef TB_HAVE_X86_KERNELS
      {"int8__avx2", &kFormatInt8, Isa::avx2, 4, nullptr, nullptr, &int8_gemm_avx2},
      {"int8__avx512vnni", &kFormatInt8, Isa::avx512vnni, 4, &int8_avx512_prepared_bytes, &int8_avx512_prepare,
       &int8_gemm_avx512vnni},
#endif
#ifdef TB_HAVE_NEON_KERNELS
      {"int8__neon", &kFormatInt8, Isa::neon, 4, nullptr, nullptr, &int8_gemm_neon},
#endif
      {"i2s__scalar", &kFormatI2S, Isa::scalar, 4, nullptr, nullptr, &i2s_gemm_scalar},
#ifdef TB_HAVE_X86_KERNELS
      {"i2s__avx2", &kFormatI2S, Isa::avx2, 4, nullptr, nullptr, &i2s_gemm_avx2, 2560, 16, kI2sAvx2LookupTokens,
       kI2sAvx2LookupRows, true},
      // Its prefill GEMM puts groups of 16 rows in the lanes and unpacks a tile's codes once for all its tokens.
      {"i2s__avx512vnni", &kFormatI2S, Isa::avx512vnni, 16, &i2s_avx512_prepared_bytes, &i2s_avx512_prepare,
       &i2s_gemm_avx512vnni, 64, 128, 0, 0, true},
#endif
#ifdef TB_HAVE_NEON_KERNELS
      {"i2s__neon", &kFormatI2S, Isa::neon, 4, nullptr, nullptr, &i2s_gemm_neon},
#endif
      {"tq1__scalar", &kFormatTQ1, Isa::scalar, 4, nullptr, nullptr, &tq1_gemm_scalar},
#ifdef TB_HAVE_X86_KERNELS
      {"tq1__avx2", &kFormatTQ1, Isa::avx2, 4, &tq1_padded_bytes, &tq1_prepare_padded, &tq1_gemm_avx2},
      {"tq1__avx512vnni", &kFormatTQ1, Isa::avx512vnni, 4, &tq1_avx512_prepared_bytes, &tq1_avx512_prepare,
       &tq1_gemm_avx512vnni},
#endif
#ifdef TB_HAVE_NEON_KERNELS
      {"tq1__neon", &kFormatTQ1, Isa::neon, 4, &tq1_padded_bytes, &tq1_prepare_padded, &tq1_gemm_neon},
#endif
      // TL kernels split rows at 32-row groups; the prepare hook builds the lookup tables.
      {"tl1__scalar", &kFormatTL1, Isa::scalar, 32, &tl1_prepared_bytes, &tl1_prepare, &tl_gemm_scalar},
#ifdef TB_HAVE_X86_KERNELS
      {"tl1__avx2", &kFormatTL1, Isa::avx2, 32, &tl1_prepared_bytes, &tl1_prepare_avx2, &tl_gemm_avx2},
      {"tl1__avx512vnni", &kFormatTL1, Isa::avx512vnni, 32, &tl1_prepared_bytes, &tl1_prepare_avx2, &tl_gemm_avx512},
#endif
#ifdef TB_HAVE_NEON_KERNELS
      {"tl1__neon", &kFormatTL1, Isa::neon, 32, &tl1_prepared_bytes, &tl1_prepare, &tl_gemm_neon},
#endif
      {"tl2__scalar", &kFormatTL2, Isa::scalar, 32, &tl2_prepared_bytes, &tl2_prepare, &tl_gemm_scalar},
#ifdef TB_HAVE_X86_KERNELS
      {"tl2__avx2", &kFormatTL2, Isa::avx2, 32, &tl2_prepared_bytes, &tl2_prepare_avx2, &tl_gemm_avx2},
      {"tl2__avx512vnni", &kFormatTL2, Isa::avx512vnni, 32, &tl2_prepared_bytes, &tl2_prepare_avx2, &tl_gemm_avx512},
#endif
#ifdef TB_HAVE_NEON_KERNELS
      {"tl2__neon", &kFormatTL2, Isa::neon, 32, &tl2_prepared_bytes, &tl2_prepare, &tl_gemm_neon},
#endif
      // TLW: 32-row blocks; calls of 256 rows x 16 tokens keep a token tile's tables in L2 for 8 row blocks.
      {"tlw__scalar", &kFormatTLW, Isa::scalar, 32, &tlw_prepared_bytes, &tlw_prepare, &tlw_gemm_scalar, 256, 16},
#ifdef TB_HAVE_X86_KERNELS
      {"tlw__avx512vnni", &kFormatTLW, Isa::avx512vnni, 32, &tlw_prepared_bytes, &tlw_prepare_avx512, &tlw_gemm_avx512,
       256, 16},
#endif
  };
  return kernels;
}

std::vector<const Format*> all_formats() {
  std::vector<const Format*> out;
  for (const Kernel& k : all_kernels()) {
    bool seen = false;
    for (const Format* f : out) seen |= (f == k.format);
    if (!seen) out.push_back(k.format);
  }
  return out;
}

const Format& find_format(const std::string& name) {
  std::string names;
  for (const Format* f : all_formats()) {
    if (name == f->name) return *f;
    names += (names.empty() ? "" : ", ") + std::string(f->name);
  }
  throw Error("unknown weight format or kernel '" + name + "': known are " + names);
}

const Kernel& find_kernel(const std::string& variant) {
  std::string names;
  for (const Kernel& k : all_kernels()) {
    if (variant == k.name) return k;
    names += (names.empty() ? "" : ", ") + std::string(k.name);
  }
  throw Error("unknown kernel variant '" + variant + "': this build has " + names);
}

const Kernel& oracle_kernel() {
  for (const Kernel& k : all_kernels())
    if (k.format->oracle) return k;
  throw Error("this build registers no oracle kernel");
}

const Kernel& select_kernel(const Format& f, uint32_t allowed) {
  static const Isa order[] = {Isa::avx512vnni, Isa::avx2, Isa::neon, Isa::scalar};
  for (Isa isa : order) {
    if (!(allowed & uint32_t(isa))) continue;
    for (const Kernel& k : all_kernels())
      if (k.format == &f && k.isa == isa) return k;
  }
  throw Error(std::string("no variant of ") + f.name + " can run here");
}

const Kernel& select_kernel(const std::string& format) { return select_kernel(find_format(format), allowed_isas()); }

}  // namespace tb
