// Import of llama-bench output: the files recorded from llama.cpp, bitnet.cpp and ik_llama.cpp
// (tests/data/peers/llama-bench), the same records as JSON lines and CSV, and bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "harness/llama_bench.h"
#include "harness/machine.h"
#include "base/error.h"
#include "tests/error_of.h"

namespace {

namespace fs = std::filesystem;
using tb::json;

const std::string kDir = std::string(TB_SOURCE_DIR) + "/tests/data/peers/llama-bench";

// The files are committed with the tests: missing is a broken checkout, not a reason to skip.
#define NEED_TESTDATA() \
  ASSERT_TRUE(fs::is_directory(kDir)) << "no recorded llama-bench files at " << kDir

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<json> load(const std::string& name, const tb::ImportOptions& o = {}) {
  return tb::import_llama_bench_file(kDir + "/" + name, o);
}

using tbtest::error_of;
std::string import_error(const std::string& text, const std::string& source = "bench.out") {
  return error_of([&] { tb::import_llama_bench(text, source); });
}

// A scratch file under the test's temporary folder.
std::string scratch(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(Import, EveryRecordedFile) {
  NEED_TESTDATA();
  int files = 0;
  for (const auto& e : fs::directory_iterator(kDir)) {
    const std::string name = e.path().filename().string();
    if (e.path().extension() != ".json") continue;
    SCOPED_TRACE(name);
    ++files;
    const std::vector<json> rows = load(name);
    ASSERT_EQ(rows.size(), 2u);
    const std::string engine = name.rfind("bitnet_", 0) == 0 ? "bitnet.cpp" : name.rfind("ik_", 0) == 0 ? "ik_llama.cpp" : "llama.cpp";
    const int threads = name.find("_t2.") != std::string::npos ? 2 : 1;
    for (const json& r : rows) {
      EXPECT_EQ(r["schema"], tb::kResultSchema);
      EXPECT_EQ(r["engine"], engine);
      EXPECT_EQ(r["engine_commit"], "unknown");
      EXPECT_EQ(r["run_id"], "import:" + name);
      EXPECT_EQ(r["threads"], threads);
      EXPECT_EQ(r["machine"]["cpu"], "AMD EPYC");
      EXPECT_EQ(r["machine"]["host"], "unknown");
      EXPECT_FALSE(r["kernel"].get<std::string>().empty());
      EXPECT_EQ(r["format"], r["kernel"]);
      EXPECT_EQ(r["reps"], 3);
      EXPECT_EQ(r["samples_ts"].size(), 3u);
      EXPECT_DOUBLE_EQ(r["cv"].get<double>(), r["stddev_ts"].get<double>() / r["avg_ts"].get<double>());
      EXPECT_EQ(r["peer"]["record"]["avg_ts"], r["avg_ts"]);
      EXPECT_TRUE(r["peer"].contains("flash_attn"));
      for (const char* k : {"memory", "energy", "head", "pin", "n_layers", "bandwidth_gbs"}) EXPECT_FALSE(r.contains(k)) << k;
    }
    EXPECT_EQ(rows[0]["test"], "pp");
    EXPECT_EQ(rows[0]["n_prompt"], 128);
    EXPECT_EQ(rows[0]["n_gen"], 0);
    EXPECT_EQ(rows[1]["test"], "tg");
    EXPECT_EQ(rows[1]["n_prompt"], 0);
    EXPECT_EQ(rows[1]["n_gen"], 32);
  }
  EXPECT_GE(files, 20);
}

TEST(Import, BitnetI2S) {
  NEED_TESTDATA();
  const std::vector<json> rows = load("bitnet_I2_S_t1.json");
  const json& pp = rows[0];
  EXPECT_EQ(pp["engine"], "bitnet.cpp");
  EXPECT_EQ(pp["kernel"], "I2_S");
  EXPECT_EQ(pp["format"], "I2_S");
  EXPECT_EQ(pp["bits_per_weight"], 2.0);
  EXPECT_EQ(pp["threads"], 1);
  EXPECT_EQ(pp["avg_ts"], 58.197162);  // the 58.2 tok/s
  EXPECT_EQ(pp["stddev_ts"], 0.837758);
  EXPECT_EQ(pp["median_ts"], 58.0866);  // of 58.0866, 59.0847, 57.4202
  EXPECT_EQ(pp["time"], "2026-11-25T15:15:18Z");
  EXPECT_EQ(pp["model"], "i2_s");
  EXPECT_EQ(pp["model_source"], "models/bitnet/i2_s.gguf");
  EXPECT_EQ(pp["params"], 2741155840);
  EXPECT_EQ(pp["model_bytes"], 1836120640);
  EXPECT_EQ(pp["peer"]["flash_attn"], false);
  EXPECT_EQ(pp["peer"]["n_batch"], 2048);
  EXPECT_EQ(pp["peer"]["type_k"], "f16");
  EXPECT_FALSE(pp["peer"].contains("mla_attn"));
  EXPECT_EQ(pp["peer"]["record"], json::parse(slurp(kDir + "/bitnet_I2_S_t1.json"))[0]);
  EXPECT_EQ(rows[1]["avg_ts"], 18.206624);

  const json tl2 = load("bitnet_TL2_t2.json")[1];
  EXPECT_EQ(tl2["engine"], "bitnet.cpp");
  EXPECT_EQ(tl2["kernel"], "TL2");
  EXPECT_FALSE(tl2.contains("bits_per_weight"));  // "bitnet-25 2B TL2" does not say
}

TEST(Import, IkLlama) {
  NEED_TESTDATA();
  const json r4 = load("ik_IQ2_BN_R4_t1.json")[0];
  EXPECT_EQ(r4["engine"], "ik_llama.cpp");
  EXPECT_EQ(r4["kernel"], "IQ2_BN_R4");
  EXPECT_EQ(r4["bits_per_weight"], 2.0);
  EXPECT_EQ(r4["peer"]["flash_attn"], true);
  EXPECT_EQ(r4["peer"]["mla_attn"], 3);
  EXPECT_EQ(r4["peer"]["fused_moe"], true);
  EXPECT_EQ(r4["peer"]["repack"], false);
  EXPECT_EQ(r4["avg_ts"], 74.408581);

  const json rtr = load("ik_IQ2_BN_rtr_t1.json")[0];  // repacked to IQ2_BN_R4 at load: the file's type stays
  EXPECT_EQ(rtr["kernel"], "IQ2_BN");
  EXPECT_EQ(rtr["peer"]["repack"], true);
  EXPECT_EQ(load("ik_IQ2_BN_fa_0_t2.json")[0]["peer"]["flash_attn"], false);
  EXPECT_EQ(load("ik_IQ1_BN_t1.json")[0]["bits_per_weight"], 1.625);
}

TEST(Import, LlamaCpp) {
  NEED_TESTDATA();
  const std::vector<json> rows = load("llama_F16_t2.json");
  EXPECT_EQ(rows[0]["engine"], "llama.cpp");
  EXPECT_EQ(rows[0]["kernel"], "F16");
  EXPECT_EQ(rows[0]["threads"], 2);
  EXPECT_FALSE(rows[0].contains("bits_per_weight"));  // "bitnet ?B F16": no "bpw" in it, none invented
  const json& tg = rows[1];
  EXPECT_EQ(tg["test"], "tg");
  EXPECT_EQ(tg["n_gen"], 32);
  EXPECT_EQ(tg["avg_ts"], 6.656578);
  EXPECT_EQ(tg["median_ts"], 6.63722);
  EXPECT_EQ(load("llama_TQ1_0_t1.json")[0]["kernel"], "TQ1_0");
  EXPECT_EQ(load("llama_TQ1_0_t1.json")[0]["bits_per_weight"], 1.69);
  EXPECT_EQ(load("llama_TQ2_0_t1.json")[0]["engine"], "llama.cpp");
}

TEST(Import, MachineIsTheFilesUnlessAskedOtherwise) {
  NEED_TESTDATA();
  const json m = load("llama_F16_t1.json")[0]["machine"];
  EXPECT_EQ(m["cpu"], "AMD EPYC");
  EXPECT_EQ(m["host"], "unknown");
  EXPECT_NE(m["source"].get<std::string>().find("llama_F16_t1.json"), std::string::npos);
  EXPECT_FALSE(m.contains("cpu_flags"));
  EXPECT_FALSE(m.contains("memory_bytes"));

  tb::ImportOptions here;
  here.this_machine = true;
  const json h = load("llama_F16_t1.json", here)[0]["machine"];
  EXPECT_EQ(h["cpu"], tb::machine_fingerprint()["cpu"]);
  EXPECT_EQ(h["host"], tb::machine_fingerprint()["host"]);
  EXPECT_EQ(h["cpu_info_in_file"], "AMD EPYC");
}

TEST(Import, EngineOverride) {
  NEED_TESTDATA();
  tb::ImportOptions o;
  o.engine = "bitnet.cpp";
  EXPECT_EQ(load("llama_TQ2_0_t1.json", o)[0]["engine"], "bitnet.cpp");
}

TEST(Import, JsonLinesAndOneObjectGiveTheSameRows) {
  NEED_TESTDATA();
  const json doc = json::parse(slurp(kDir + "/ik_IQ2_BN_t2.json"));
  const std::vector<json> rows = tb::import_llama_bench(slurp(kDir + "/ik_IQ2_BN_t2.json"), "x.out");
  const std::string jsonl = doc[0].dump() + "\n" + doc[1].dump() + "\n";
  EXPECT_EQ(tb::import_llama_bench(jsonl, "x.out"), rows);
  const std::vector<json> one = tb::import_llama_bench(doc[1].dump(1), "x.out");  // pretty, several lines
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0], rows[1]);
}

// llama-bench -o csv quotes every cell; older versions have no samples columns.
TEST(Import, Csv) {
  const std::string header =
      "build_commit,build_number,cpu_info,model_filename,model_type,model_size,model_n_params,n_batch,n_ubatch,"
      "n_threads,type_k,type_v,flash_attn,use_mmap,n_prompt,n_gen,test_time,avg_ns,stddev_ns,avg_ts,stddev_ts";
  const std::string record =
      "\"6d113cd2\",\"0\",\"AMD EPYC 9B45, 2 cores\",\"models/bitnet/i2_s.gguf\","
      "\"bitnet-25 2B I2_S - 2 bpw ternary, \"\"tied\"\"\",\"1836120640\",\"2741155840\",\"2048\",\"512\","
      "\"1\",\"f16\",\"f16\",\"0\",\"1\",\"128\",\"0\",\"2026-11-25T15:15:18Z\",\"2199723025\",\"31579904\","
      "\"58.197162\",\"0.837758\"";
  const std::vector<json> rows = tb::import_llama_bench(
      header + ",samples_ns,samples_ts\r\n" + record + ",\"2203608181 2166380366 2229180530\",\"58.0866 59.0847 57.4202\"\r\n" +
          record + ",\"1,2,3\",\"58.0866,59.0847,57.4202\"\r\n",
      "bench.csv");
  ASSERT_EQ(rows.size(), 2u);
  const json& r = rows[0];
  EXPECT_EQ(r["engine"], "bitnet.cpp");
  EXPECT_EQ(r["engine_commit"], "6d113cd2");
  EXPECT_EQ(r["kernel"], "I2_S");
  EXPECT_EQ(r["bits_per_weight"], 2.0);
  EXPECT_EQ(r["machine"]["cpu"], "AMD EPYC 9B45, 2 cores");
  EXPECT_EQ(r["peer"]["record"]["model_type"], "bitnet-25 2B I2_S - 2 bpw ternary, \"tied\"");
  EXPECT_EQ(r["threads"], 1);
  EXPECT_EQ(r["test"], "pp");
  EXPECT_EQ(r["n_prompt"], 128);
  EXPECT_EQ(r["avg_ts"], 58.197162);
  EXPECT_EQ(r["median_ts"], 58.0866);
  EXPECT_EQ(r["reps"], 3);
  EXPECT_EQ(r["params"], 2741155840);
  EXPECT_EQ(r["peer"]["flash_attn"], false);
  EXPECT_EQ(r["peer"]["use_mmap"], true);
  EXPECT_EQ(r["peer"]["n_ubatch"], 512);
  EXPECT_EQ(rows[1]["samples_ts"], r["samples_ts"]);  // comma-separated samples

  const std::vector<json> old = tb::import_llama_bench(header + "\n" + record + "\n", "old.csv");
  ASSERT_EQ(old.size(), 1u);
  for (const char* k : {"reps", "samples_ts", "median_ts"}) EXPECT_FALSE(old[0].contains(k)) << k;
  EXPECT_EQ(old[0]["avg_ts"], 58.197162);

  std::string csv = header + "\n" + record + "\n";  // n_threads "1" -> "one"
  csv.replace(csv.find("\"512\",\"1\""), 9, "\"512\",\"one\"");
  const std::string e = import_error(csv, "bench.csv");
  EXPECT_NE(e.find("bench.csv: line 2"), std::string::npos) << e;
  EXPECT_NE(e.find("n_threads"), std::string::npos) << e;
  const std::string cut = import_error(header + "\n" + record.substr(0, record.size() / 2), "bench.csv");
  EXPECT_NE(cut.find("line 2: truncated or malformed"), std::string::npos) << cut;
}

TEST(Import, PromptThenGenerationKeepsBothLengths) {
  const json rec = {{"n_prompt", 512}, {"n_gen", 128}, {"n_threads", 4}, {"avg_ts", 30.5}, {"model_type", "llama 7B Q4_0"}};
  const json r = tb::import_llama_bench(json::array({rec}).dump(), "pg.json")[0];
  EXPECT_EQ(r["test"], "pg");
  EXPECT_EQ(r["n_prompt"], 512);
  EXPECT_EQ(r["n_gen"], 128);
  EXPECT_EQ(r["kernel"], "Q4_0");
  EXPECT_EQ(r["engine"], "llama.cpp");
  for (const char* k : {"reps", "median_ts", "stddev_ts", "cv", "bits_per_weight", "model", "params"}) EXPECT_FALSE(r.contains(k)) << k;
}

TEST(Import, TruncatedJson) {
  NEED_TESTDATA();
  const std::string text = slurp(kDir + "/bitnet_I2_S_t1.json");
  const std::string path = scratch("cut_bitnet.json", text.substr(0, text.size() / 2));
  const std::string e = error_of([&] { tb::import_llama_bench_file(path); });
  EXPECT_NE(e.find("cut_bitnet.json"), std::string::npos) << e;
  EXPECT_NE(e.find("truncated or malformed"), std::string::npos) << e;
  EXPECT_NE(e.find("at byte"), std::string::npos) << e;

  const json doc = json::parse(text);
  const std::string jsonl = doc[0].dump() + "\n" + doc[1].dump().substr(0, 200) + "\n";
  const std::string l = import_error(jsonl, "cut.jsonl");
  EXPECT_NE(l.find("cut.jsonl: line 2: truncated or malformed"), std::string::npos) << l;
}

// Found by fuzz_results: a number beyond double (1e999) made nlohmann throw out_of_range, which escaped.
TEST(Import, NumberBeyondDoubleIsAnErrorNotACrash) {
  const std::string e = import_error("[{\"avg_ts\": 1e999}]", "huge.json");
  EXPECT_NE(e.find("huge.json: malformed JSON"), std::string::npos) << e;
  const std::string l = import_error("{\"avg_ts\": 1}\n{\"avg_ts\": -1e400}\n", "huge.jsonl");
  EXPECT_NE(l.find("huge.jsonl: line 2: malformed JSON"), std::string::npos) << l;
}

TEST(Import, MarkdownTableIsRefused) {
  const std::string md =
      "| model                          |       size |     params | backend    | threads |          test |                  t/s |\n"
      "| ------------------------------ | ---------: | ---------: | ---------- | ------: | ------------: | -------------------: |\n"
      "| bitnet-25 2B I2_S - 2 bpw ternary |   1.71 GiB |     2.74 B | CPU        |       1 |         pp128 |         58.20 ± 0.84 |\n";
  const std::string e = import_error(md, "bench.md");
  EXPECT_NE(e.find("bench.md"), std::string::npos) << e;
  EXPECT_NE(e.find("markdown"), std::string::npos) << e;
  EXPECT_NE(e.find("-o json"), std::string::npos) << e;
}

TEST(Import, EmptyAndUnknownInput) {
  const std::string path = scratch("empty.json", "");
  const std::string e = error_of([&] { tb::import_llama_bench_file(path); });
  EXPECT_NE(e.find("empty.json: empty"), std::string::npos) << e;
  EXPECT_NE(import_error(" \n\t\n").find("empty"), std::string::npos);
  EXPECT_NE(import_error("[]").find("no llama-bench records"), std::string::npos);
  EXPECT_NE(import_error("CREATE TABLE IF NOT EXISTS test (\n").find("-o json"), std::string::npos);
  EXPECT_NE(error_of([] { tb::import_llama_bench_file("/nonexistent/bench.json"); }).find("/nonexistent/bench.json"),
            std::string::npos);
}

TEST(Import, BadRecordsNameTheRecordAndField) {
  json doc = json::array();
  for (int i = 0; i < 2; ++i) doc.push_back({{"n_prompt", 128}, {"n_gen", 0}, {"n_threads", 1}, {"avg_ts", 50.0}});
  doc[1].erase("avg_ts");
  std::string e = import_error(doc.dump(), "b.json");
  EXPECT_NE(e.find("b.json: record 2 of 2"), std::string::npos) << e;
  EXPECT_NE(e.find("avg_ts"), std::string::npos) << e;

  doc[1]["avg_ts"] = "fast";
  e = import_error(doc.dump(), "b.json");
  EXPECT_NE(e.find("record 2 of 2: avg_ts is \"fast\", expected a number"), std::string::npos) << e;

  doc[1]["avg_ts"] = 50.0;
  doc[0].erase("n_threads");
  e = import_error(doc.dump(), "b.json");
  EXPECT_NE(e.find("record 1 of 2 has no n_threads"), std::string::npos) << e;

  doc[0]["n_threads"] = 1;
  doc[0]["n_prompt"] = 0;
  EXPECT_NE(import_error(doc.dump()).find("no test"), std::string::npos);
  EXPECT_NE(import_error("[1, 2]").find("record 1 of 2 is not a JSON object"), std::string::npos);
}

}  // namespace
