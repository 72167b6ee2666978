#!/usr/bin/env bash
# The main job: set up (first use installs what is missing), build Release, show which kernel path
# this CPU uses, then sweep BitNet b1.58 2B4T (synthetic weights, exact shapes) end to end: prefill
# (pp128) and generation (tg128) tokens/s for every kernel and fp16, at 1 thread and all threads.
# Usage: scripts/run.sh [harness options]   e.g. --kernels i2s,fp16 --threads 1..4 --model FILE.gguf
#        scripts/run.sh --bench [bench_kernels flags]   the kernel benchmarks instead (JSON kept in results/)
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
bash scripts/setup.sh --no-arm
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs"
build/harness/harness kernels
if [ "${1:-}" = "--bench" ]; then
  shift
  mkdir -p results
  out="results/bench-$(hostname -s 2>/dev/null || echo host)-$(date -u +%Y%m%dT%H%M%SZ).json"
  echo "== kernel benchmarks (JSON also written to $out)" >&2
  exec build/harness/bench_kernels --benchmark_out="$out" --benchmark_out_format=json "$@"
fi
echo "== 2B4T end to end (build/harness/harness --help for options; rows kept in results/ternbench.jsonl)" >&2
exec build/harness/harness --model 2B4T --threads 1,max "$@"
