// The results file: lines appended whole, read back; damage at the end is skipped with a warning, damage
// before it is an error naming file and line; rows of another schema are skipped with a warning.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "harness/results.h"
#include "base/error.h"
#include "tests/error_of.h"

namespace {

tb::json row(int i) { return {{"schema", tb::kResultSchema}, {"i", i}}; }

std::string temp_path() {
  char p[] = "/tmp/ternbench-results-XXXXXX";
  const int fd = mkstemp(p);
  close(fd);
  return p;
}

TEST(Results, AppendThenRead) {
  const std::string p = temp_path();
  {
    tb::ResultsFile f(p);
    for (int i = 0; i < 3; ++i) f.append(row(i));
  }
  {
    tb::ResultsFile f(p);  // a second run appends, never truncates
    f.append(row(3));
  }
  std::vector<std::string> w;
  const auto rows = tb::read_results(p, &w);
  ASSERT_EQ(rows.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(rows[size_t(i)]["i"], i);
  EXPECT_TRUE(w.empty());
  std::remove(p.c_str());
}

TEST(Results, DamagedLastLineIsSkippedWithAWarning) {
  const std::string text = row(0).dump() + "\n" + row(1).dump() + "\n" + row(2).dump().substr(0, 9);
  std::vector<std::string> w;
  const auto rows = tb::parse_results(text, "r.jsonl", &w);
  EXPECT_EQ(rows.size(), 2u);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("r.jsonl:3"), std::string::npos) << w[0];
  EXPECT_NE(w[0].find("damaged last line"), std::string::npos) << w[0];
}

TEST(Results, DamageBeforeTheEndIsAnError) {
  const std::string text = row(0).dump() + "\n{\"schema\": \n" + row(2).dump() + "\n";
  EXPECT_TRUE(tbtest::throws_error([&] { tb::parse_results(text, "r.jsonl", nullptr); }, {"r.jsonl:2"})) << "no error";
}

TEST(Results, OtherSchemasAreSkippedWithAWarning) {
  const std::string text = row(0).dump() + "\n{\"schema\": \"something-else\"}\n{\"no\": \"schema\"}\n" + row(1).dump() + "\n";
  std::vector<std::string> w;
  EXPECT_EQ(tb::parse_results(text, "r.jsonl", &w).size(), 2u);
  EXPECT_EQ(w.size(), 2u);
}

TEST(Results, UnwritableFileIsRefusedNamingIt) {
  EXPECT_TRUE(tbtest::throws_error([&] { tb::ResultsFile f("/proc/ternbench-cannot-be-here/r.jsonl"); },
                                   {"/proc/ternbench-cannot-be-here"})) << "no error";
}

}  // namespace
