#include "harness/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include "base/error.h"
#include "base/strings.h"

namespace tb {

namespace {

// A row's field, or null; never throws on a row of unexpected shape (files can be damaged or hand-edited).
json field(const json& r, const char* k) { return r.is_object() && r.contains(k) ? r[k] : json(nullptr); }
std::string text(const json& v) { return v.is_null() ? "-" : v.is_string() ? v.get<std::string>() : v.dump(); }
int64_t integer(const json& v) { return v.is_number_integer() ? v.get<int64_t>() : 0; }

void add_distinct(std::vector<std::string>& v, const std::string& s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}
std::string joined(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

// "pp128", "tg32", "pp128+tg32" from the key.
std::string test_label(const json& k) {
  const int64_t p = integer(k["n_prompt"]), g = integer(k["n_gen"]);
  if (p > 0 && g > 0) return "pp" + std::to_string(p) + "+tg" + std::to_string(g);
  if (p > 0) return "pp" + std::to_string(p);
  if (g > 0) return "tg" + std::to_string(g);
  return text(k["test"]);
}
std::string threads_label(const json& k) {
  const std::string pin = text(k["pin"]);
  return text(k["threads"]) + (pin == "-" || pin == "none" ? "" : " (" + pin + ")");
}
// Before's and after's machines: one list when they are the same, "A -> B" when --any-machine paired others.
std::string machine_label(const Group& b, const Group* a) {
  if (!a || a->machines == b.machines) return joined(b.machines);
  return joined(b.machines) + " -> " + joined(a->machines);
}

struct Side {
  std::vector<Group> groups;
  std::map<std::string, size_t> index;  // key dump -> group
};

Side group_rows(const std::vector<json>& rows, bool any_machine, const char* side, std::vector<std::string>* warnings) {
  Side s;
  int without = 0;
  for (const json& r : rows) {
    json key = compare_key(r, any_machine);
    const std::string k = key.dump();
    auto it = s.index.find(k);
    if (it == s.index.end()) {
      it = s.index.emplace(k, s.groups.size()).first;
      s.groups.push_back(Group{});
      s.groups.back().key = std::move(key);
    }
    Group& g = s.groups[it->second];
    ++g.rows;
    const json samples = field(r, "samples_ts");
    size_t added = 0;
    if (samples.is_array())
      for (const json& v : samples)
        if (v.is_number()) g.samples.push_back(v.get<double>()), ++added;
    if (added == 0) ++g.rows_without_samples, ++without;
    const json m = field(r, "machine");
    add_distinct(g.machines, text(field(m, "host")) + " (" + text(field(m, "isa")) + ")");
    add_distinct(g.commits, text(field(r, "engine_commit")));
    if (g.rows == 1) {  // as the report table: "2B4T (2 of 30 layers)" when a run had --layers
      const json n = field(r, "n_layers"), of = field(r, "model_layers");
      g.model = text(field(r, "model")) + (n.is_number_integer() && of.is_number_integer() && n != of
                                               ? " (" + n.dump() + " of " + of.dump() + " layers)" : "");
    }
  }
  for (Group& g : s.groups) g.median_ts = median(g.samples);
  if (without > 0)
    warnings->push_back(std::string(side) + ": " + std::to_string(without) + " row" + (without == 1 ? " has" : "s have") +
                        " no samples_ts (repetitions); such a row adds no samples to its pair");
  return s;
}

json without_machine(json key) {
  key["machine"] = nullptr;
  return key;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}
std::string num(double v, const char* f = "%.10g") { return std::isfinite(v) ? fmt(f, v) : ""; }

json group_json(const Group& g) {
  return {{"rows", g.rows}, {"n", g.samples.size()}, {"median_ts", std::isfinite(g.median_ts) ? json(g.median_ts) : json(nullptr)},
          {"machines", g.machines}, {"commits", g.commits}, {"rows_without_samples", g.rows_without_samples}};
}
json key_json(const json& k) {
  json j = k;
  j["test_name"] = test_label(k);
  return j;
}

}  // namespace

const char* verdict_name(Verdict v) {
  static const char* const names[] = {"faster", "slower", "no significant change", "too few samples"};
  return enum_name<Verdict::too_few>(v, names);
}

Verdict decide(const MannWhitney& mw, double alpha) {
  if (mw.min_p > alpha) return Verdict::too_few;
  if (mw.p < alpha) return mw.u2 > mw.u1 ? Verdict::faster : Verdict::slower;
  return Verdict::no_change;
}

int Comparison::failed() const {
  return int(std::count_if(pairs.begin(), pairs.end(), [](const ComparePair& p) { return p.fails; }));
}

json compare_key(const json& row, bool any_machine) {
  json machine = nullptr;
  if (!any_machine) {
    const json m = field(row, "machine");
    machine = {{"host", field(m, "host")}, {"cpu", field(m, "cpu")}, {"isa", field(m, "isa")}};
  }
  json k = {{"machine", machine}};
  for (const char* f : {"engine", "model", "n_layers", "kernel", "head", "threads", "pin", "test", "n_prompt", "n_gen"})
    k[f] = field(row, f);
  return k;
}

Comparison compare_rows(const std::vector<json>& before, const std::vector<json>& after, const CompareOptions& o) {
  Comparison c;
  c.options = o;
  const Side b = group_rows(before, o.any_machine, "before", &c.warnings);
  const Side a = group_rows(after, o.any_machine, "after", &c.warnings);
  std::vector<bool> after_used(a.groups.size(), false);
  std::set<std::string> b_loose, a_loose;  // keys without the machine, for "on another machine"
  for (const Group& g : b.groups) b_loose.insert(without_machine(g.key).dump());
  for (const Group& g : a.groups) a_loose.insert(without_machine(g.key).dump());
  std::vector<Unmatched> only_after;
  for (const Group& g : b.groups) {
    auto it = a.index.find(g.key.dump());
    if (it == a.index.end()) {
      c.unmatched.push_back({g, true, a_loose.count(without_machine(g.key).dump()) > 0});
      continue;
    }
    after_used[it->second] = true;
    ComparePair p;
    p.before = g;
    p.after = a.groups[it->second];
    p.ratio = p.after.median_ts / p.before.median_ts;
    p.mw = mann_whitney(p.before.samples, p.after.samples);
    p.verdict = decide(p.mw, o.alpha);
    p.fails = p.verdict == Verdict::slower && o.fail_above_pct >= 0 && std::isfinite(p.ratio) &&
              (1 - p.ratio) * 100 > o.fail_above_pct;
    c.pairs.push_back(std::move(p));
  }
  for (size_t i = 0; i < a.groups.size(); ++i)
    if (!after_used[i])
      c.unmatched.push_back({a.groups[i], false, b_loose.count(without_machine(a.groups[i].key).dump()) > 0});
  return c;
}

void split_by_commit(const std::vector<json>& rows, const std::string& before, const std::string& after,
                     std::vector<json>* before_rows, std::vector<json>* after_rows, std::vector<std::string>* other_commits) {
  std::vector<std::string> all;
  for (size_t i = 0; i < rows.size(); ++i) {
    const json c = field(rows[i], "engine_commit");
    const std::string commit = c.is_string() ? c.get<std::string>() : "";
    add_distinct(all, commit.empty() ? "(none)" : commit);
    const bool is_b = !commit.empty() && commit.rfind(before, 0) == 0, is_a = !commit.empty() && commit.rfind(after, 0) == 0;
    if (is_b && is_a)
      throw Error("row " + std::to_string(i + 1) + " (engine_commit " + commit + ") matches both --before '" + before +
                  "' and --after '" + after + "'; give prefixes that tell the two commits apart");
    if (is_b) before_rows->push_back(rows[i]);
    else if (is_a) after_rows->push_back(rows[i]);
    else add_distinct(*other_commits, commit.empty() ? "(none)" : commit);
  }
  if (before_rows->empty()) throw Error("--before '" + before + "' selects no row; engine_commit values here: " + joined(all));
  if (after_rows->empty()) throw Error("--after '" + after + "' selects no row; engine_commit values here: " + joined(all));
}

double parse_percent(const std::string& s) {
  std::string t;
  for (char ch : s)
    if (ch != ' ') t += ch;
  if (!t.empty() && t.back() == '%') t.pop_back();
  char* end = nullptr;
  const double v = t.empty() ? NAN : std::strtod(t.c_str(), &end);
  if (t.empty() || *end != '\0' || !std::isfinite(v) || v < 0)
    throw Error("--fail-above '" + s + "' is not a percentage such as 5% (a regression larger than this fails)");
  return v;
}

namespace {

std::string render_json(const Comparison& c, const CompareLabels& labels) {
  const CompareOptions& o = c.options;
  json j = {{"before", labels.before}, {"after", labels.after}, {"alpha", o.alpha},
            {"pairing", o.any_machine ? "any machine" : "machine (host, cpu, isa)"},
            {"fail_above_pct", o.fail_above_pct >= 0 ? json(o.fail_above_pct) : json(nullptr)},
            {"pairs", json::array()}, {"unmatched", json::array()}};
  std::map<std::string, int> counts;
  for (Verdict v : {Verdict::faster, Verdict::slower, Verdict::no_change, Verdict::too_few}) counts[verdict_name(v)] = 0;
  for (const ComparePair& p : c.pairs) {
    ++counts[verdict_name(p.verdict)];
    j["pairs"].push_back({{"key", key_json(p.before.key)}, {"before", group_json(p.before)}, {"after", group_json(p.after)},
                          {"ratio", std::isfinite(p.ratio) ? json(p.ratio) : json(nullptr)}, {"u", p.mw.u},
                          {"u_after", p.mw.u2}, {"z", p.mw.z}, {"p", p.mw.p}, {"min_p", p.mw.min_p},
                          {"ties", p.mw.ties}, {"method", method_name(p.mw.method)}, {"verdict", verdict_name(p.verdict)},
                          {"fails", p.fails}});
  }
  for (const Unmatched& u : c.unmatched)
    j["unmatched"].push_back({{"side", u.before ? "before" : "after"}, {"key", key_json(u.group.key)},
                              {"rows", group_json(u.group)}, {"on_another_machine", u.on_another_machine}});
  j["summary"] = counts;
  j["summary"]["failed"] = c.failed();
  return j.dump(2) + "\n";
}

std::string render_csv(const Comparison& c) {
  std::string out;
  out = "status,machine,engine,model,n_layers,kernel,head,threads,pin,test,runs_before,runs_after,n_before,n_after,"
        "median_before,median_after,ratio,u,u_after,p,min_p,method,verdict,fails\n";
  auto key_cells = [&](const json& k, const std::string& machine) {
    return csv_field(machine) + "," + csv_field(text(k["engine"])) + "," + csv_field(text(k["model"])) + "," +
           (k["n_layers"].is_null() ? "" : text(k["n_layers"])) + "," + csv_field(text(k["kernel"])) + "," +
           csv_field(text(k["head"])) + "," + text(k["threads"]) + "," + csv_field(text(k["pin"])) + "," +
           csv_field(test_label(k));
  };
  for (const ComparePair& p : c.pairs)
    out += "paired," + key_cells(p.before.key, machine_label(p.before, &p.after)) + "," + std::to_string(p.before.rows) +
           "," + std::to_string(p.after.rows) + "," + std::to_string(p.before.samples.size()) + "," +
           std::to_string(p.after.samples.size()) + "," + num(p.before.median_ts) + "," + num(p.after.median_ts) + "," +
           num(p.ratio) + "," + num(p.mw.u) + "," + num(p.mw.u2) + "," + num(p.mw.p) + "," + num(p.mw.min_p) + "," +
           method_name(p.mw.method) + "," + verdict_name(p.verdict) + "," + (p.fails ? "true" : "false") + "\n";
  for (const Unmatched& u : c.unmatched) {
    const Group& g = u.group;
    const std::string rows = std::to_string(g.rows), n = std::to_string(g.samples.size()), m = num(g.median_ts);
    out += std::string(u.before ? "only_before," : "only_after,") + key_cells(g.key, machine_label(g, nullptr)) + "," +
           (u.before ? rows + ",," + n + ",," + m + "," : "," + rows + ",," + n + ",," + m) + ",,,,,,,,\n";
  }
  return out;
}

// The md table of pairs, and the count of each verdict.
std::string render_md_pairs(const Comparison& c, std::map<Verdict, int>& counts) {
  const CompareOptions& o = c.options;
  auto too_few_text = [&](const MannWhitney& mw) {
    return "too few samples: min p = " + fmt("%.3g", mw.min_p) + " > alpha";
  };
  std::string out;
  if (c.pairs.empty()) {
    out += "(no pairs)\n";
  } else {
    out += "| machine | engine | model | kernel | head | threads | test | runs | n | before t/s | after t/s | after/before "
           "| U | p | method | verdict |\n|---|---|---|---|---|---:|---|---|---|---:|---:|---:|---:|---:|---|---|\n";
    for (const ComparePair& p : c.pairs) {
      const json& k = p.before.key;
      ++counts[p.verdict];
      std::string verdict = p.verdict == Verdict::too_few ? too_few_text(p.mw) : verdict_name(p.verdict);
      if (p.fails) verdict += ", beyond --fail-above " + fmt("%g", o.fail_above_pct) + "%";
      const std::string ratio = std::isfinite(p.ratio) ? fmt("%.3f", p.ratio) + fmt(" (%+.1f%%)", (p.ratio - 1) * 100) : "-";
      const bool tested = p.mw.method != UMethod::none;
      out += "| " + machine_label(p.before, &p.after) + " | " + text(k["engine"]) + " | " + p.before.model + " | " +
             text(k["kernel"]) + " | " + text(k["head"]) + " | " + threads_label(k) + " | " + test_label(k) + " | " +
             std::to_string(p.before.rows) + "+" + std::to_string(p.after.rows) + " | " +
             std::to_string(p.before.samples.size()) + "+" + std::to_string(p.after.samples.size()) + " | " +
             (std::isfinite(p.before.median_ts) ? fmt("%.2f", p.before.median_ts) : "-") + " | " +
             (std::isfinite(p.after.median_ts) ? fmt("%.2f", p.after.median_ts) : "-") + " | " + ratio + " | " +
             (tested ? fmt("%g", p.mw.u) : "-") + " | " + (tested ? fmt("%.3g", p.mw.p) : "-") + " | " +
             method_name(p.mw.method) + " | " + verdict + " |\n";
    }
  }
  return out;
}

std::string render_md(const Comparison& c, const CompareLabels& labels) {
  const CompareOptions& o = c.options;
  std::string out = "Before: " + labels.before + ". After: " + labels.after + ".\n";
  out += std::string("Pairs: the same ") + (o.any_machine ? "" : "machine (host, cpu, isa), ") +
         "engine, model, layers, kernel, head, threads, pin and test" + (o.any_machine ? " on any machine (--any-machine)" : "") +
         "; runs: rows pooled per side, n: their repetitions (samples_ts). Two-sided Mann-Whitney U test, alpha " +
         fmt("%g", o.alpha) + "; U is the smaller of U(before), U(after).\n\n";
  std::map<Verdict, int> counts;
  out += render_md_pairs(c, counts);
  int only[2] = {0, 0};
  bool elsewhere = false;
  for (int side = 0; side < 2; ++side) {
    std::string table;
    for (const Unmatched& u : c.unmatched) {
      if (u.before != (side == 0)) continue;
      const Group& g = u.group;
      const json& k = g.key;
      only[side] += g.rows;
      elsewhere = elsewhere || u.on_another_machine;
      table += "| " + machine_label(g, nullptr) + " | " + text(k["engine"]) + " | " + g.model + " | " +
               text(k["kernel"]) + " | " + text(k["head"]) + " | " + threads_label(k) + " | " + test_label(k) + " | " +
               std::to_string(g.rows) + " | " + std::to_string(g.samples.size()) + " | " +
               (std::isfinite(g.median_ts) ? fmt("%.2f", g.median_ts) : "-") + " | " +
               (u.on_another_machine ? std::string("on another machine ") + (u.before ? "after" : "before") : "") + " |\n";
    }
    if (table.empty()) continue;
    out += std::string("\nOnly ") + (side == 0 ? "before" : "after") + ", not paired: " +
           std::to_string(only[side]) + " row" + (only[side] == 1 ? "" : "s") + "\n\n" +
           "| machine | engine | model | kernel | head | threads | test | runs | n | median t/s | note |\n"
           "|---|---|---|---|---|---:|---|---:|---:|---:|---|\n" + table;
  }
  if (elsewhere) out += "\n(--any-machine pairs the same test measured on different machines.)\n";
  out += "\nSummary: " + std::to_string(counts[Verdict::faster]) + " faster, " + std::to_string(counts[Verdict::slower]) +
         " slower, " + std::to_string(counts[Verdict::no_change]) + " no significant change, " +
         std::to_string(counts[Verdict::too_few]) + " too few samples; " + std::to_string(only[0]) + " row" +
         (only[0] == 1 ? "" : "s") + " only before, " + std::to_string(only[1]) + " only after.";
  if (o.fail_above_pct >= 0)
    out += " " + std::to_string(c.failed()) + " significantly slower by more than " + fmt("%g", o.fail_above_pct) + "%.";
  return out + "\n";
}

}  // namespace

std::string render_comparison(const Comparison& c, const std::string& mode, const CompareLabels& labels) {
  if (mode == "json") return render_json(c, labels);
  if (mode == "csv") return render_csv(c);
  if (mode != "md") throw Error("--output '" + mode + "' is not one of md, csv, json");
  return render_md(c, labels);
}

namespace {
std::vector<json> read_side(const std::string& path) {
  std::vector<std::string> warnings;
  std::vector<json> rows = read_results(path, &warnings);
  for (const std::string& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  return rows;
}
std::string rows_text(size_t n) { return std::to_string(n) + " row" + (n == 1 ? "" : "s"); }
}  // namespace

int cmd_compare(const CompareArgs& a) {
  if (a.output != "md" && a.output != "csv" && a.output != "json")
    throw Error("--output '" + a.output + "' is not one of md, csv, json");
  if (!(a.alpha > 0 && a.alpha < 1)) throw Error("--alpha " + fmt("%g", a.alpha) + " is not between 0 and 1 (e.g. 0.05)");
  CompareOptions o;
  o.alpha = a.alpha;
  o.any_machine = a.any_machine;
  o.fail_above_pct = a.fail_above.empty() ? -1 : parse_percent(a.fail_above);
  const bool by_commit = !a.before_commit.empty() || !a.after_commit.empty();
  std::vector<json> before, after;
  CompareLabels labels;
  if (by_commit) {
    if (a.before_commit.empty() || a.after_commit.empty())
      throw Error("--before and --after go together: harness compare --before COMMIT --after COMMIT FILE.jsonl");
    if (a.files.empty()) throw Error("compare --before/--after needs a results file (FILE.jsonl)");
    std::vector<json> rows;
    for (const std::string& f : a.files)
      for (json& r : read_side(f)) rows.push_back(std::move(r));
    std::vector<std::string> others;
    split_by_commit(rows, a.before_commit, a.after_commit, &before, &after, &others);
    const std::string in = a.files.size() == 1 ? a.files[0] : std::to_string(a.files.size()) + " files";
    labels.before = "commit " + a.before_commit + " in " + in + " (" + rows_text(before.size()) + ")";
    labels.after = "commit " + a.after_commit + " in " + in + " (" + rows_text(after.size()) + ")";
    const size_t left = rows.size() - before.size() - after.size();
    if (left > 0) std::fprintf(stderr, "note: %s of other commits (%s) left out\n", rows_text(left).c_str(), joined(others).c_str());
  } else {
    if (a.files.size() != 2)
      throw Error("compare takes two results files, before and after (got " + std::to_string(a.files.size()) +
                  "); or --before COMMIT --after COMMIT FILE.jsonl");
    before = read_side(a.files[0]);
    after = read_side(a.files[1]);
    for (int i = 0; i < 2; ++i)
      if ((i ? after : before).empty()) throw Error(a.files[size_t(i)] + " has no result rows (schema " + kResultSchema + ")");
    labels.before = a.files[0] + " (" + rows_text(before.size()) + ")";
    labels.after = a.files[1] + " (" + rows_text(after.size()) + ")";
  }
  const Comparison c = compare_rows(before, after, o);
  std::fputs(render_comparison(c, a.output, labels).c_str(), stdout);
  std::fflush(stdout);
  for (const std::string& w : c.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  if (c.failed() > 0) {
    std::string which;
    for (const ComparePair& p : c.pairs)
      if (p.fails)
        which += (which.empty() ? "" : ", ") + text(p.before.key["kernel"]) + " " + test_label(p.before.key) + " t" +
                 text(p.before.key["threads"]) + fmt(" (%+.1f%%)", (p.ratio - 1) * 100);
    std::fprintf(stderr, "harness compare: %d significant regression%s beyond --fail-above %g%%: %s\n", c.failed(),
                 c.failed() == 1 ? "" : "s", o.fail_above_pct, which.c_str());
    return 1;
  }
  return 0;
}

}  // namespace tb
