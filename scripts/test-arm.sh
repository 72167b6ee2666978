#!/usr/bin/env bash
# Cross-compiles the tests for AArch64 with Debian's g++-aarch64-linux-gnu (GoogleTest built from
# /usr/src/googletest) and runs them under qemu-aarch64, so the NEON paths are tested on an x86 host.
# Emulation is slow: TERNBENCH_QUICK_TESTS=1 leaves out T = 64, 128 and 129 on the model and odd shapes.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in aarch64-linux-gnu-g++ qemu-aarch64; do
  command -v "$tool" >/dev/null || { echo "test-arm.sh: $tool missing; run scripts/setup.sh" >&2; exit 1; }
done
jobs=$(nproc 2>/dev/null || echo 2)
echo "== aarch64 cross build, tests under qemu-aarch64"
cmake -S . -B build-aarch64 -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DTB_GTEST_FROM_SOURCE=ON \
  -DTB_BUILD_BENCH=OFF -DTB_BUILD_HARNESS=OFF >/dev/null
cmake --build build-aarch64 -j "$jobs"
# The NEON path is compiled in and selected under emulation (the test fails otherwise):
qemu-aarch64 -L /usr/aarch64-linux-gnu build-aarch64/tests/test_kernels --gtest_filter='Dispatch.ThisArchitecturesSimdPathIsCompiledAndUsed' --gtest_brief=1
TERNBENCH_QUICK_TESTS=1 TERNBENCH_EMULATED=1 ctest --test-dir build-aarch64 --output-on-failure -j "$jobs"
