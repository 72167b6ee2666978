#!/usr/bin/env bash
# The main job: set up (first use installs what is missing), build Release, show which kernel path
# this CPU uses, then run the kernel benchmarks and keep their JSON under results/.
# (Until the model runner lands, the kernel benchmark is the main job.)
# Usage: scripts/run.sh [bench_kernels flags...], e.g. --threads=1,2,max --benchmark_filter='gemv/i2s.*'
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exec build/harness/bench_kernels --help 2>/dev/null || exit 0 ;; esac
bash scripts/setup.sh --no-arm
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs"
build/harness/harness kernels
mkdir -p results
out="results/bench-$(hostname -s 2>/dev/null || echo host)-$(date -u +%Y%m%dT%H%M%SZ).json"
echo "== kernel benchmarks (JSON also written to $out)" >&2
build/harness/bench_kernels --benchmark_out="$out" --benchmark_out_format=json "$@"
