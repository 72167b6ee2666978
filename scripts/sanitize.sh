#!/usr/bin/env bash
# Robustness run: builds everything with clang, AddressSanitizer and UndefinedBehaviorSanitizer (any report
# fails), plus the libFuzzer targets; runs the whole test suite on that build (TERNBENCH_QUICK_TESTS=1 and
# TERNBENCH_SANITIZER_TESTS=1: the smaller shape set), then scripts/fuzz.sh (FUZZ_SECONDS per target, default 60).
# Usage: scripts/sanitize.sh [--no-fuzz]
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
command -v clang++ >/dev/null || { echo "sanitize.sh: clang++ missing; run scripts/setup.sh" >&2; exit 1; }
echo "== sanitizer build (clang, ASan + UBSan, libFuzzer targets)"
cmake -S . -B build-san -G Ninja -DCMAKE_BUILD_TYPE=Sanitize -DCMAKE_CXX_FLAGS_SANITIZE="-O1 -g1" -DCMAKE_CXX_COMPILER=clang++ \
  -DTB_SANITIZE=ON -DTB_FUZZ=ON -DTB_BUILD_BENCH=OFF >/dev/null
cmake --build build-san -j "$jobs"
echo "== test suite under ASan + UBSan"
# LSan suppressions: tests/sanitize/lsan.supp (third-party runtimes only, each with its reason).
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions="$PWD/tests/sanitize/lsan.supp":print_suppressions=0 TERNBENCH_QUICK_TESTS=1 TERNBENCH_SANITIZER_TESTS=1 ctest --test-dir build-san --output-on-failure -j "$jobs"
if [ "${1:-}" != "--no-fuzz" ]; then
  bash scripts/fuzz.sh build-san
fi
