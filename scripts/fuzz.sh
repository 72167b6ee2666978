#!/usr/bin/env bash
# Runs each libFuzzer target of tests/fuzz for FUZZ_SECONDS (default 60) from a seed corpus of files the
# project and its peers write (a tiny model exported as GGUF, the committed micro seeds, the peers' GGUF files, the
# model and tile configs, a results file from a short sweep, the sample results, recorded llama-bench output).
# A crash, leak or timeout: the input is copied to tests/fuzz/regressions/<target>/ (commit it with the
# fix; every build replays that folder) and the script fails.
# Usage: scripts/fuzz.sh [BUILD_DIR]   (a build configured with -DTB_FUZZ=ON; scripts/sanitize.sh makes one)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-san}
secs=${FUZZ_SECONDS:-60}
[ -x "$dir/tests/fuzz/fuzz_gguf" ] || { echo "fuzz.sh: no fuzz targets in $dir (configure with -DTB_FUZZ=ON and clang++)" >&2; exit 2; }
corpus=$dir/fuzz-corpus
mkdir -p "$corpus"/gguf "$corpus"/config "$corpus"/results
# The seed sweep below probes the machine with an instrumented binary: its roofline (a tenth of the real one) must
# land in the build's own folder, never in the user's cache (~/.cache/ternbench), which later sweeps trust.
export TERNBENCH_CACHE_DIR="$dir/cache"
"$dir/harness/harness" export --model tiny --format i2s --out "$corpus/gguf/tiny-i2s.gguf" 2>/dev/null
# The committed seeds (tests/fuzz/seeds: micro models whose whole GGUF is a few tens of KB, so mutations stay
# fast) and the peers' files committed with the tests (tests/data/peers).
cp -f tests/fuzz/seeds/gguf/*.gguf tests/data/peers/*.gguf "$corpus/gguf/"
cp -f configs/models/*.json configs/tiles/*.json tests/fuzz/seeds/config/*.json "$corpus/config/"
"$dir/harness/harness" -m tiny -k i2s -r 1 -p 4 -n 2 -q --out "$corpus/results/run.jsonl" >/dev/null
cp -f results/sample/*.jsonl tests/data/peers/llama-bench/*.json "$corpus/results/"
status=0
for t in gguf config results; do
  art="$dir/fuzz-artifacts/$t"
  rm -rf "$art" && mkdir -p "$art"
  log="$dir/fuzz-$t.log"
  echo "== fuzz_$t for ${secs} s (seeds: $(ls "$corpus/$t" | wc -l) files)"
  # -max_len 64 KiB: the large seeds still lend their headers; mutating 700 KB inputs would crawl.
  if "$dir/tests/fuzz/fuzz_$t" "$corpus/$t" -max_total_time="$secs" -max_len=65536 -timeout=20 -rss_limit_mb=4096 \
       -artifact_prefix="$art/" -print_final_stats=1 >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    echo "   $runs executions, no crash (log: $log)"
  else
    status=1
    echo "   FAILED: see $log" >&2
    tail -30 "$log" >&2
    for f in "$art"/*; do
      [ -e "$f" ] || continue
      cp "$f" "tests/fuzz/regressions/$t/"
      echo "   kept $(basename "$f") in tests/fuzz/regressions/$t/ (commit it with the fix)" >&2
    done
  fi
done
exit $status
