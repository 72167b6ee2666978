#!/usr/bin/env bash
# The test command: set up, build (Release), run every test with ctest; then, on x86-64 hosts with
# the cross toolchain, build the tests for AArch64 and run them under qemu-user (NEON paths); then the
# suite again under ASan + UBSan (clang) and each fuzz target for FUZZ_SECONDS (scripts/sanitize.sh).
# The log ends with every skipped test and its reason, then one line naming the ISA paths that ran and the
# tests that skipped (scripts/ctest_summary.py).
# Usage: scripts/test.sh [--no-arm] [--no-sanitize]
set -euo pipefail
cd "$(dirname "$0")/.."
arm=1
san=1
for a in "$@"; do
  case "$a" in
    --no-arm) arm=0 ;;
    --no-sanitize) san=0 ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test.sh: unknown option '$a' (try --help)" >&2; exit 2 ;;
  esac
done
jobs=$(nproc 2>/dev/null || echo 2)
if [ "$arm" = 1 ]; then bash scripts/setup.sh; else bash scripts/setup.sh --no-arm; fi

echo "== native build and tests ($(uname -m))"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"
# Variants whose ISA this CPU lacks are skipped (GTEST_SKIP counts as a pass): say which paths ran.
echo "== ISA paths exercised on this machine: $(build/harness/harness kernels | sed -n 's/^paths this CPU runs: //p')"

# Each stage's ctest log (BUILD/Testing/Temporary/LastTest.log, written by the ctest of that stage just now)
# feeds the closing summary.
logs=("native=build/Testing/Temporary/LastTest.log")
if [ "$arm" = 1 ] && [ "$(uname -m)" = x86_64 ]; then
  bash scripts/test-arm.sh
  logs+=("aarch64-qemu=build-aarch64/Testing/Temporary/LastTest.log")
fi
if [ "$san" = 1 ]; then
  FUZZ_SECONDS=${FUZZ_SECONDS:-45} bash scripts/sanitize.sh
  logs+=("asan-ubsan=build-san/Testing/Temporary/LastTest.log")
fi
echo "== all tests passed"
# Last: every skipped test with the reason it printed, then one line: the ISA paths whose kernel tests passed
# in each stage and the tests that skipped (a skip is never silent).
python3 scripts/ctest_summary.py "${logs[@]}"
