#!/usr/bin/env bash
# Installs the Debian packages ternbench needs, only those missing. Idempotent and quick when all is there.
# Usage: scripts/setup.sh [--no-arm]   (--no-arm skips the aarch64 cross compiler and qemu-user)
set -euo pipefail

arm=1
for a in "$@"; do
  case "$a" in
    --no-arm) arm=0 ;;
    -h|--help) sed -n '2,3p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown option '$a' (try --help)" >&2; exit 2 ;;
  esac
done

pkgs=(cmake ninja-build g++ clang libomp-dev libeigen3-dev libgtest-dev googletest libbenchmark-dev
      nlohmann-json3-dev libcli11-dev python3-matplotlib python3-numpy git)
# libFuzzer and the sanitizer runtimes (scripts/sanitize.sh) are only a Recommends of clang-N: name them.
if command -v apt-cache >/dev/null 2>&1; then
  clang_v=$(apt-cache depends clang 2>/dev/null | sed -n 's/.*Depends: clang-\([0-9][0-9]*\)$/\1/p' | head -1)
  if [ -n "$clang_v" ] && apt-cache show "libclang-rt-$clang_v-dev" >/dev/null 2>&1; then
    pkgs+=("libclang-rt-$clang_v-dev")
  fi
fi
if [ "$arm" = 1 ] && [ "$(uname -m)" = x86_64 ]; then
  pkgs+=(g++-aarch64-linux-gnu qemu-user)
fi

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "setup.sh: this system has no apt/dpkg. Install these (Debian names; use your system's equivalents):" >&2
  printf '  %s\n' "${pkgs[@]}" >&2
  echo "then build with: cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build" >&2
  exit 1
fi

missing=()
for p in "${pkgs[@]}"; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$st" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup.sh: installing ${missing[*]}" >&2
sudo=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
    echo "setup.sh: not root and no sudo; as root run: apt-get install -y ${missing[*]}" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
if ! "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/ternbench-apt.log 2>&1; then
  "${sudo[@]}" apt-get update >>/tmp/ternbench-apt.log 2>&1 || true
  if ! "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >>/tmp/ternbench-apt.log 2>&1; then
    tail -20 /tmp/ternbench-apt.log >&2
    echo "setup.sh: apt-get could not install: ${missing[*]} (log: /tmp/ternbench-apt.log)" >&2
    exit 1
  fi
fi
echo "setup.sh: done" >&2
