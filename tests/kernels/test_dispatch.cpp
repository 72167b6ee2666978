// Run-time path selection: the best supported path by default, forced paths by name, clear errors.
#include <gtest/gtest.h>

#include <cstdlib>

#include "kernels/kernel.h"
#include "tests/error_of.h"

namespace {

struct ForcedIsa {
  explicit ForcedIsa(const std::string& s) { tb::set_forced_isa(s); }
  ~ForcedIsa() { tb::set_forced_isa(""); }
};

TEST(Dispatch, ScalarAlwaysRunsAndIsSelectedWhenForced) {
  EXPECT_TRUE(tb::cpu_supports(tb::Isa::scalar));
  ForcedIsa f("scalar");
  EXPECT_STREQ(tb::select_kernel("i2s").name, "i2s__scalar");
  EXPECT_STREQ(tb::select_kernel("int8").name, "int8__scalar");
}

TEST(Dispatch, EachSupportedPathCanBeForced) {
  for (tb::Isa isa : {tb::Isa::neon, tb::Isa::avx2, tb::Isa::avx512vnni}) {
    if (!tb::cpu_supports(isa)) continue;
    ForcedIsa f(tb::isa_name(isa));
    EXPECT_EQ(tb::select_kernel("i2s").isa, isa);
    EXPECT_EQ(tb::select_kernel("int8").isa, isa);
    // A format without that path falls back to scalar, never to another SIMD path.
    EXPECT_STREQ(tb::select_kernel("int8_ref").name, "int8_ref__scalar");
  }
}

TEST(Dispatch, DefaultIsBestSupported) {
  ForcedIsa f("auto");
  tb::Isa best = tb::Isa::scalar;
  for (tb::Isa isa : {tb::Isa::neon, tb::Isa::avx2, tb::Isa::avx512vnni})
    if (tb::cpu_supports(isa)) best = isa;
  EXPECT_EQ(tb::select_kernel("i2s").isa, best);
}

// On the architectures with SIMD paths, they must be compiled in and chosen: a build that silently
// fell back to scalar would pass every other test.
TEST(Dispatch, ThisArchitecturesSimdPathIsCompiledAndUsed) {
  ForcedIsa f("auto");
#if defined(__aarch64__)
  EXPECT_TRUE(tb::cpu_supports(tb::Isa::neon));
  EXPECT_STREQ(tb::select_kernel("i2s").name, "i2s__neon");
#elif defined(__x86_64__)
  bool found = false;
  for (const tb::Kernel& k : tb::all_kernels()) found |= (k.isa == tb::Isa::avx512vnni);
  EXPECT_TRUE(found) << "the AVX-512 VNNI variants are not compiled in";
  if (tb::cpu_supports(tb::Isa::avx2)) {
    EXPECT_NE(tb::select_kernel("i2s").isa, tb::Isa::scalar);
  }
#else
  GTEST_SKIP() << "no SIMD paths for this architecture";
#endif
}

TEST(Dispatch, EnvironmentVariableForcesAPath) {
  tb::set_forced_isa("");
  setenv("TERNBENCH_ISA", "scalar", 1);
  EXPECT_STREQ(tb::select_kernel("i2s").name, "i2s__scalar");
  unsetenv("TERNBENCH_ISA");
}

TEST(Dispatch, UnsupportedOrUnknownPathIsAClearError) {
  EXPECT_THROW(tb::set_forced_isa("sse9"), tb::Error);
  for (tb::Isa isa : {tb::Isa::neon, tb::Isa::avx2, tb::Isa::avx512vnni}) {
    if (tb::cpu_supports(isa)) continue;
    ForcedIsa f(tb::isa_name(isa));
    EXPECT_TRUE(tbtest::throws_error([&] { tb::select_kernel("i2s"); },
                                     {tb::isa_name(isa)})) << "forcing " << tb::isa_name(isa)
        << " on a CPU without it was accepted";
  }
  EXPECT_TRUE(tbtest::throws_error([&] { tb::find_kernel("tl9__avx2"); }, {"i2s__scalar"})) << "lists the known variants";
}

TEST(Dispatch, RegistryIsWellFormed) {
  const auto& ks = tb::all_kernels();
  ASSERT_FALSE(ks.empty());
  EXPECT_STREQ(ks.front().name, "int8_ref__scalar") << "the oracle is the first row";
  for (const tb::Kernel& k : ks) {
    EXPECT_EQ(std::string(k.name), std::string(k.format->name) + "__" + tb::isa_name(k.isa));
    EXPECT_EQ(k.prepare == nullptr, k.prepared_bytes_per_token == nullptr) << k.name;
    EXPECT_GE(k.row_multiple, 1);
  }
}

}  // namespace
