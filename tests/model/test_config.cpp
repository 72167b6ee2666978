// Model presets: every file parses, and the counts match the published figures.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "base/error.h"
#include "model/config.h"
#include "tests/error_of.h"

namespace {

TEST(ModelConfig, EveryPresetLoadsAndValidates) {
  const auto names = tb::list_model_configs();
  ASSERT_GE(names.size(), 20u) << "presets in " << tb::model_config_dir();
  for (const auto& n : names) {
    const tb::ModelConfig c = tb::load_model_config(n);
    EXPECT_EQ(c.name, n) << "the name field matches the file name";
  }
}

TEST(ModelConfig, Counts2B4TMatchTheTechnicalReport) {
  const tb::ModelConfig c = tb::load_model_config("2B4T");
  // docs/reference.md §5.1: non-embedding parameters 2.084 B (linear weights), embedding 0.328 B.
  EXPECT_EQ(c.linear_params(), int64_t(30) * (2560 * 2560 * 2 + 2 * 2560 * 640 + 3 * 2560 * 6912));
  EXPECT_NEAR(double(c.linear_params()) / 1e9, 2.084, 0.0005);
  EXPECT_NEAR(double(c.embedding_params()) / 1e9, 0.328, 0.0005);
  const auto mm = c.layer_matmuls();
  ASSERT_EQ(mm.size(), 7u);
  EXPECT_EQ(mm[1].N, 640);
  EXPECT_EQ(mm[6].K, 6912);
}

TEST(ModelConfig, BadInputIsAClearError) {
  EXPECT_THROW(tb::load_model_config("no-such-model"), tb::Error);
  EXPECT_TRUE(tbtest::throws_error([&] { tb::parse_model_config(R"({"name": "x"})", "inline"); },
                                   {"missing field 'family'"}));
  EXPECT_THROW(tb::parse_model_config("{not json", "inline"), tb::Error);
}

// Found by fuzz_config under UBSan: a float where an integer belongs (1e300, or an integer too long for
// int64, which JSON parsers read as a float) was cast to int64 with undefined overflow.
TEST(ModelConfig, FloatInAnIntegerFieldIsAnError) {
  std::ifstream in(std::string(TB_SOURCE_DIR) + "/configs/models/2B4T.json");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string good = ss.str();
  ASSERT_NO_THROW(tb::parse_model_config(good, "2B4T.json"));
  for (const std::string v : {"1e300", "99999999999999999999999", "4096.5"}) {
    std::string bad = good;
    const size_t at = bad.find("\"context\":");
    ASSERT_NE(at, std::string::npos);
    const size_t v0 = bad.find_first_of("0123456789", at), v1 = bad.find_first_not_of("0123456789", v0);
    bad.replace(v0, v1 - v0, v);
    EXPECT_TRUE(tbtest::throws_error([&] { tb::parse_model_config(bad, "bad.json"); },
                                     {"bad.json: field 'context' must be an integer"})) << v;
  }
}

}  // namespace
