// Import of llama-bench output (llama.cpp and its forks bitnet.cpp and ik_llama.cpp) as ternbench result
// rows (schema ternbench-result-1, results/README.md), so the peers sit next to ternbench in one results file.
//
// Formats, told apart by the first non-space character: '[' a JSON array (-o json); '{' JSON lines (-o jsonl)
// or one JSON object; otherwise CSV (-o csv, a header line naming avg_ts). A markdown table (-o md, lines
// starting with '|') is refused: it has lost the samples and the exact settings.
//
// One row per llama-bench record:
//   time          the record's test_time (else now); run_id "import:<file name>"
//   engine        see below; engine_commit = build_commit (else "unknown")
//   kernel,format the weight type in model_type, "<arch> <size> <type>[ - <bpw> bpw <note>]": the token after
//                 the size ("bitnet-25 2B I2_S - 2 bpw ternary" -> I2_S, "bitnet ?B F16" -> F16); absent if
//                 model_type is absent or has no such token. bits_per_weight only when model_type says "N bpw".
//   model         model_filename's base name without .gguf; model_source = model_filename
//   params, model_bytes  model_n_params, model_size as the engine counts them (all parameters, not the
//                 non-embedding ones ternbench reports; the bitnet.cpp fork counts a tied embedding twice)
//   threads, test ("pp": n_prompt > 0 only, "tg": n_gen > 0 only, "pg": both), n_prompt, n_gen
//   reps, samples_ts, median_ts  from samples_ts, only when the record has samples
//   avg_ts, stddev_ts, cv = stddev_ts / avg_ts
//   peer          flash_attn, n_batch, n_ubatch, type_k, type_v, use_mmap, and when present n_depth, rtr,
//                 repack, mla_attn, fused_moe; "record": the original record (CSV: its cells, as text)
//   machine       {"cpu": cpu_info, "host": "unknown", "source": "imported: <source>"}: the file's own CPU,
//                 never this machine's; with ImportOptions::this_machine, machine_fingerprint() plus
//                 "cpu_info_in_file". No memory, energy or roofline fields: llama-bench does not measure them.
//
// Engine detection (a heuristic; ImportOptions::engine overrides it), per record:
//   1. a key only ik_llama.cpp's llama-bench writes (mla_attn, fused_moe, rtr, ser)  -> "ik_llama.cpp"
//   2. weight type I2_S, TL1 or TL2, or model_filename with such a word (case-insensitive,
//      e.g. ggml-model-i2_s.gguf): types only the bitnet.cpp fork has            -> "bitnet.cpp"
//   3. otherwise                                                                  -> "llama.cpp"
#pragma once
#include <string>
#include <vector>

#include "harness/results.h"

namespace tb {

struct ImportOptions {
  bool this_machine = false;  // the file was measured here: take this machine's fingerprint
  std::string engine;         // "" = detect (see above)
};

// Parses llama-bench output `text` read from `source` (a file name, for messages and run_id). Throws
// tb::Error naming the source, the record or line, and the problem: empty input, truncated or malformed
// JSON (with the byte position), a record missing avg_ts, n_prompt, n_gen or n_threads, a value of the
// wrong type, a markdown table, an unknown format. Nothing is skipped silently.
std::vector<json> import_llama_bench(const std::string& text, const std::string& source,
                                     const ImportOptions& o = {});
// Reads `path` (an error names it if it cannot be read) and imports it.
std::vector<json> import_llama_bench_file(const std::string& path, const ImportOptions& o = {});

}  // namespace tb
