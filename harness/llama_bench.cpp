#include "harness/llama_bench.h"
#include "harness/machine.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "base/error.h"

namespace tb {

namespace {

// One llama-bench record and where it sits in its file. JSON values carry their types; CSV cells are text.
struct Record {
  json j;
  std::string where;  // "record 2 of 4", "line 3"
  bool text = false;
};

enum class Kind { integer, number, boolean, string, numbers };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::integer: return "an integer";
    case Kind::number: return "a number";
    case Kind::boolean: return "true or false";
    case Kind::string: return "a string";
    case Kind::numbers: return "a list of numbers";
  }
  return "";
}

bool parse_int(const std::string& s, int64_t& v) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}
bool parse_num(const std::string& s, double& v) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size() && std::isfinite(v);
}

// A CSV cell as `kind`; null if it is not one. Sample lists are separated by spaces or commas.
json from_text(const std::string& s, Kind kind) {
  int64_t i;
  double d;
  switch (kind) {
    case Kind::integer: return parse_int(s, i) ? json(i) : json();
    case Kind::number: return parse_num(s, d) ? json(d) : json();
    case Kind::boolean:
      if (s == "1" || s == "true") return true;
      if (s == "0" || s == "false") return false;
      return {};
    case Kind::string: return s;
    case Kind::numbers: {
      json a = json::array();
      std::string t = s;
      std::replace(t.begin(), t.end(), ',', ' ');
      std::istringstream in(t);
      for (std::string w; in >> w;) {
        if (!parse_num(w, d)) return {};
        a.push_back(d);
      }
      return a;
    }
  }
  return {};
}

bool has_kind(const json& v, Kind kind) {
  switch (kind) {
    case Kind::integer: return v.is_number_integer();
    case Kind::number: return v.is_number();
    case Kind::boolean: return v.is_boolean();
    case Kind::string: return v.is_string();
    case Kind::numbers: return v.is_array() && std::all_of(v.begin(), v.end(), [](const json& x) { return x.is_number(); });
  }
  return false;
}

// The value of `key` as `kind`, or null when the record lacks it (an empty CSV cell counts as absent).
// A value of another type is an error naming the source, the record and the field.
json field(const Record& r, const std::string& source, const char* key, Kind kind, bool required = false) {
  const auto it = r.j.find(key);
  const bool absent = it == r.j.end() || it->is_null() || (r.text && it->get_ref<const std::string&>().empty());
  if (absent) {
    if (required) throw Error(source + ": " + r.where + " has no " + key + "; is this llama-bench output?");
    return {};
  }
  json v = r.text ? from_text(it->get<std::string>(), kind) : *it;
  if (!has_kind(v, kind))
    throw Error(source + ": " + r.where + ": " + key + " is " + it->dump() + ", expected " + kind_name(kind));
  return v;
}

std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::string upper(std::string s) {
  for (char& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// The weight type in llama.cpp's model description "<arch> <size> <type>[ - <bpw> bpw <note>]"
// ("llama 7B all F32" too); "" when there is none.
std::string weight_type(const std::string& model_type) {
  std::istringstream in(model_type);
  std::vector<std::string> w;
  for (std::string s; in >> s;) w.push_back(s);
  size_t i = 2;
  if (w.size() > 3 && w[2] == "all") i = 3;
  if (w.size() <= i || w[i] == "-") return "";
  return std::all_of(w[i].begin(), w[i].end(), word_char) ? w[i] : "";
}

bool is_bitnet_type(const std::string& t) {
  const std::string u = upper(t);
  return u == "I2_S" || u == "TL1" || u == "TL2";
}

// See the rule in the header.
std::string detect_engine(const json& rec, const std::string& type, const std::string& filename) {
  for (const char* k : {"mla_attn", "fused_moe", "rtr", "ser"})
    if (rec.contains(k)) return "ik_llama.cpp";
  if (is_bitnet_type(type)) return "bitnet.cpp";
  std::string word;
  for (const char c : filename + " ") {
    if (word_char(c)) {
      word += c;
    } else {
      if (is_bitnet_type(word)) return "bitnet.cpp";
      word.clear();
    }
  }
  return "llama.cpp";
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The machine a record ran on: this one's fingerprint (without ternbench's build facts) when the caller says so,
// else only the CPU the file names.
json machine_of(const json& cpu, const std::string& source, const ImportOptions& o) {
  json m;
  if (o.this_machine) {
    m = machine_fingerprint();
    for (const char* k : {"compiler", "cxx_flags", "isa", "commit"}) m.erase(k);  // ternbench's build, not the peer's
    if (!cpu.is_null()) m["cpu_info_in_file"] = cpu;
  } else {
    m["host"] = "unknown";
    if (!cpu.is_null()) m["cpu"] = cpu;
  }
  m["source"] = "imported: " + source;
  return m;
}

// model, model_source, params, model_bytes, kernel/format (the weight type) and bits_per_weight, where the record
// has them.
void add_model_fields(json& row, const Record& r, const std::string& source, const json& model_type,
                      const std::string& type, const std::string& file) {
  if (!file.empty()) {
    std::string name = base_name(file);
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".gguf") == 0) name.resize(name.size() - 5);
    row["model"] = name;
    row["model_source"] = file;
  }
  if (const json p = field(r, source, "model_n_params", Kind::integer, false); !p.is_null()) row["params"] = p;
  if (const json b = field(r, source, "model_size", Kind::integer, false); !b.is_null()) row["model_bytes"] = b;
  if (!type.empty()) row["kernel"] = row["format"] = type;
  static const std::regex bpw_re(R"((\d+(\.\d+)?) bpw)");
  std::smatch bpw;
  if (!model_type.is_null() && std::regex_search(model_type.get_ref<const std::string&>(), bpw, bpw_re)) {
    const double b = std::strtod(bpw[1].str().c_str(), nullptr);  // never throws; a huge figure is not a bpw
    if (std::isfinite(b) && b > 0 && b <= 64) row["bits_per_weight"] = b;
  }
}

// The settings a reader needs to compare; JSON values as written, CSV cells parsed where they fit; and the whole
// record.
json peer_settings(const Record& r) {
  static const std::pair<const char*, Kind> settings[] = {
      {"flash_attn", Kind::boolean}, {"n_batch", Kind::integer},  {"n_ubatch", Kind::integer},
      {"type_k", Kind::string},      {"type_v", Kind::string},    {"use_mmap", Kind::boolean},
      {"n_depth", Kind::integer},    {"rtr", Kind::boolean},      {"repack", Kind::boolean},
      {"mla_attn", Kind::integer},   {"fused_moe", Kind::boolean}};
  json peer;
  for (const auto& [key, kind] : settings) {
    const auto it = r.j.find(key);
    if (it == r.j.end() || it->is_null()) continue;
    const json v = r.text ? from_text(it->get<std::string>(), kind) : *it;
    peer[key] = v.is_null() ? *it : v;
  }
  peer["record"] = r.j;
  return peer;
}

json to_row(const Record& r, const std::string& source, const ImportOptions& o) {
  const auto get = [&](const char* key, Kind kind, bool required = false) { return field(r, source, key, kind, required); };
  const double avg = get("avg_ts", Kind::number, true).get<double>();
  const int64_t np = get("n_prompt", Kind::integer, true).get<int64_t>();
  const int64_t ng = get("n_gen", Kind::integer, true).get<int64_t>();
  const int64_t threads = get("n_threads", Kind::integer, true).get<int64_t>();
  const auto bad = [&](const std::string& what) { return Error(source + ": " + r.where + ": " + what); };
  if (np < 0 || ng < 0 || np + ng == 0) throw bad("n_prompt " + std::to_string(np) + " and n_gen " + std::to_string(ng) + " describe no test");
  if (threads < 1) throw bad("n_threads is " + std::to_string(threads));
  if (!(avg > 0)) throw bad("avg_ts is " + std::to_string(avg) + ", expected tokens/s above 0");

  const json model_type = get("model_type", Kind::string), filename = get("model_filename", Kind::string);
  const std::string type = model_type.is_null() ? "" : weight_type(model_type);
  const std::string file = filename.is_null() ? "" : filename.get<std::string>();

  json row;
  row["schema"] = kResultSchema;
  const json time = get("test_time", Kind::string);
  row["time"] = time.is_null() ? json(utc_now_iso()) : time;
  row["run_id"] = "import:" + base_name(source);
  row["engine"] = o.engine.empty() ? detect_engine(r.j, type, file) : o.engine;
  const json commit = get("build_commit", Kind::string);
  row["engine_commit"] = commit.is_null() ? json("unknown") : commit;

  row["machine"] = machine_of(get("cpu_info", Kind::string), source, o);
  add_model_fields(row, r, source, model_type, type, file);

  row["threads"] = threads;
  row["test"] = np > 0 && ng > 0 ? "pg" : np > 0 ? "pp" : "tg";
  row["n_prompt"] = np;
  row["n_gen"] = ng;
  if (const json s = get("samples_ts", Kind::numbers); !s.is_null() && !s.empty()) {
    row["reps"] = s.size();
    row["samples_ts"] = s;
    row["median_ts"] = median(s.get<std::vector<double>>());
  }
  row["avg_ts"] = avg;
  if (const json sd = get("stddev_ts", Kind::number); !sd.is_null()) {
    row["stddev_ts"] = sd;
    row["cv"] = sd.get<double>() / avg;
  }

  row["peer"] = peer_settings(r);
  return row;
}

[[noreturn]] void malformed_json(const std::string& where, const json::parse_error& e) {
  const std::string w = e.what();  // "[json.exception.parse_error.101] parse error at line 4, column 2: <reason>"
  const size_t colon = w.find(": ");
  throw Error(where + ": truncated or malformed JSON at byte " + std::to_string(e.byte) + " (" +
              (colon == std::string::npos ? w : w.substr(colon + 2)) + "); was llama-bench stopped early, or the file cut?");
}

std::vector<Record> parse_json(const std::string& text, const std::string& source) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    malformed_json(source, e);
  } catch (const json::exception& e) {  // out_of_range.406: a number beyond double, e.g. 1e999
    throw Error(source + ": malformed JSON (" + std::string(e.what()) + ")");
  }
  if (doc.is_object()) doc = json::array({doc});
  std::vector<Record> out;
  for (size_t i = 0; i < doc.size(); ++i) {
    const std::string where = "record " + std::to_string(i + 1) + " of " + std::to_string(doc.size());
    if (!doc[i].is_object()) throw Error(source + ": " + where + " is not a JSON object");
    out.push_back({doc[i], where});
  }
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    lines.push_back(l);
  }
  return lines;
}

bool blank(const std::string& s) { return s.find_first_not_of(" \t") == std::string::npos; }

// JSON lines (-o jsonl), or one JSON object spread over several lines.
std::vector<Record> parse_jsonl(const std::string& text, const std::string& source) {
  const std::vector<std::string> lines = lines_of(text);
  const auto first = std::find_if_not(lines.begin(), lines.end(), blank);
  if (!json::accept(*first)) return parse_json(text, source);
  std::vector<Record> out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (blank(lines[i])) continue;
    const std::string where = "line " + std::to_string(i + 1);
    json j;
    try {
      j = json::parse(lines[i]);
    } catch (const json::parse_error& e) {
      malformed_json(source + ": " + where, e);
    } catch (const json::exception& e) {  // out_of_range.406: a number beyond double
      throw Error(source + ": " + where + ": malformed JSON (" + std::string(e.what()) + ")");
    }
    if (!j.is_object()) throw Error(source + ": " + where + " is not a JSON object");
    out.push_back({j, where});
  }
  return out;
}

// One CSV line: comma-separated cells, optionally double-quoted with "" for a quote. False on an open quote.
bool split_csv(const std::string& line, std::vector<std::string>& cells) {
  cells.assign(1, "");
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') cells.back() += line[++i];
    else if (c == '"') quoted = !quoted;
    else if (c == ',' && !quoted) cells.emplace_back();
    else cells.back() += c;
  }
  return !quoted;
}

std::vector<Record> parse_csv(const std::string& text, const std::string& source) {
  const std::vector<std::string> lines = lines_of(text);
  std::vector<std::string> header, cells;
  size_t i = 0;
  while (blank(lines[i])) ++i;
  if (!split_csv(lines[i], header) || std::find(header.begin(), header.end(), "avg_ts") == header.end())
    throw Error(source + ": not llama-bench output ternbench can read (first line \"" + lines[i].substr(0, 60) +
                "\"); rerun llama-bench with -o json (-o jsonl and -o csv are read too)");
  std::vector<Record> out;
  for (++i; i < lines.size(); ++i) {
    if (blank(lines[i])) continue;
    const std::string where = "line " + std::to_string(i + 1);
    if (!split_csv(lines[i], cells) || cells.size() != header.size())
      throw Error(source + ": " + where + ": truncated or malformed CSV (" + std::to_string(cells.size()) +
                  " cells, the header has " + std::to_string(header.size()) + ")");
    Record r{json::object(), where, true};
    for (size_t c = 0; c < cells.size(); ++c) r.j[header[c]] = cells[c];
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

std::vector<json> import_llama_bench(const std::string& text, const std::string& source, const ImportOptions& o) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) throw Error(source + ": empty; expected llama-bench output (llama-bench -o json)");
  std::vector<Record> records;
  if (text[first] == '[') {
    records = parse_json(text, source);
  } else if (text[first] == '{') {
    records = parse_jsonl(text, source);
  } else {
    for (const std::string& l : lines_of(text)) {
      const size_t c = l.find_first_not_of(" \t");
      if (c != std::string::npos && l[c] == '|')
        throw Error(source + " is llama-bench's markdown table (-o md, its default), which keeps neither the samples "
                    "nor all settings; rerun llama-bench with -o json");
    }
    records = parse_csv(text, source);
  }
  if (records.empty()) throw Error(source + ": no llama-bench records in it");
  std::vector<json> rows;
  for (const Record& r : records) rows.push_back(to_row(r, source, o));
  return rows;
}

std::vector<json> import_llama_bench_file(const std::string& path, const ImportOptions& o) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error(path + " is a folder; give the file llama-bench wrote");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error("cannot read " + path + ": " + std::strerror(errno));
  return import_llama_bench(ss.str(), path, o);
}

}  // namespace tb
