#!/usr/bin/env bash
# Cross-compiles the C++ core and its test binary for aarch64 Linux (Debian's g++-aarch64-linux-gnu,
# toolchain file cmake/toolchain-aarch64.cmake) and runs qrt_tests under qemu-aarch64 once per
# aarch64 ISA level qemu offers (QRT_ISA=ref, neon, neondot).
#   .ci/cross_aarch64.sh [test-filter]
# Installs g++-aarch64-linux-gnu and qemu-user (or qemu-user-static) with apt-get when missing.
# Exit status: 0 when every level passes; 0 with a "SKIP" line only when the cross compiler cannot
# be installed (no apt, no root, no network); non-zero on any build or test failure, or when the
# compiler is there but no qemu-aarch64 can be found or installed.
# Environment: QRT_ARM_BUILD (build dir, default build-arm), QRT_ARM_JOBS (default 2),
# QRT_ARM_WERROR (default ON, as the native CI build).
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${QRT_ARM_BUILD:-$ROOT/build-arm}"
JOBS="${QRT_ARM_JOBS:-2}"
WERROR="${QRT_ARM_WERROR:-ON}"
FILTER="${1:-}"
SYSROOT=/usr/aarch64-linux-gnu
START=$SECONDS

find_qemu() { command -v qemu-aarch64 || command -v qemu-aarch64-static; }

apt_install() {
  local SUDO=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null || return 1
    SUDO=(sudo -n)
  fi
  command -v apt-get >/dev/null 2>&1 || return 1
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 && return 0
  "${SUDO[@]}" apt-get update >/dev/null 2>&1 || return 1
  "${SUDO[@]}" apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1
}

if ! command -v aarch64-linux-gnu-g++ >/dev/null 2>&1; then
  echo "=== installing g++-aarch64-linux-gnu"
  if ! apt_install g++-aarch64-linux-gnu || ! command -v aarch64-linux-gnu-g++ >/dev/null 2>&1; then
    echo "SKIP cross_aarch64: apt-get could not install g++-aarch64-linux-gnu (no apt, root or network)"
    exit 0
  fi
fi
if ! find_qemu >/dev/null; then
  echo "=== installing qemu-user"
  apt_install qemu-user || apt_install qemu-user-static || true
fi
QEMU="$(find_qemu)" || { echo "cross_aarch64: FAILED: no qemu-aarch64 (apt-get install qemu-user)"; exit 1; }
echo "=== $(aarch64-linux-gnu-g++ --version | head -n 1); $("$QEMU" --version | head -n 1)"

GEN=()
command -v ninja >/dev/null 2>&1 && GEN=(-G Ninja)
mkdir -p "$BUILD"
echo "=== configure + build qrt_tests for aarch64 in $BUILD"
cmake -S "$ROOT" -B "$BUILD" "${GEN[@]}" -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchain-aarch64.cmake" \
  -DQRT_BUILD_PYTHON=OFF -DQRT_BUILD_TOOLS=OFF -DQRT_BUILD_TESTS=ON -DQRT_WERROR="$WERROR" \
  >"$BUILD/configure.log" 2>&1 || { cat "$BUILD/configure.log"; echo "cross_aarch64: configure FAILED"; exit 1; }
grep -F 'SIMD kernel libraries' "$BUILD/configure.log"
if ! cmake --build "$BUILD" --target qrt_tests -j "$JOBS"; then
  echo "cross_aarch64: build FAILED"
  exit 1
fi
if command -v file >/dev/null 2>&1 && ! file -L "$BUILD/qrt_tests" | grep -q 'aarch64'; then
  echo "cross_aarch64: FAILED: $BUILD/qrt_tests is not an aarch64 binary"
  exit 1
fi
echo "build took $((SECONDS - START)) s"

run() { "$QEMU" -L "$SYSROOT" "$BUILD/qrt_tests" "$@"; }
LEVELS=""
for isa in ref neon neondot; do
  # Captured first: under pipefail, `run | grep -q` takes the binary's exit 2 as the status.
  probe="$(QRT_ISA=$isa run __no_such_test__ 2>&1)"
  if ! grep -q '^error:' <<<"$probe"; then LEVELS="$LEVELS $isa"; fi
done
echo "aarch64 ISA levels under qemu:$LEVELS"

# The levels run two at a time (qemu-user emulates one guest thread per host thread; 2 cores),
# each into its own log, read in level order afterwards.
# shellcheck source=levels.sh
source "$ROOT/.ci/levels.sh"
level_cmd() { QRT_ISA=$1 run $FILTER; }
run_levels 2 "$BUILD/qemu" $LEVELS

FAILED=""
for isa in $LEVELS; do
  LOG="$BUILD/qemu-$isa.log"
  rc="$(cat "$BUILD/qemu-$isa.rc" 2>/dev/null || echo 99)"
  closing="$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$LOG" | tail -n 1)"
  echo "--- aarch64 QRT_ISA=$isa: ${closing:-no closing line (crashed?)} | exit $rc | $(cat "$BUILD/qemu-$isa.secs" 2>/dev/null) s"
  if [[ $rc -ne 0 || -z "$closing" ]]; then
    FAILED="$FAILED $isa"
    grep -E '^FAIL |^    [^ ]+:[0-9]+: ' "$LOG" | head -n 30
    tail -n 5 "$LOG"
    echo "    (full log: $LOG)"
  fi
done
# The SIMD variants the kernel tests compared with their references (the lists do not depend on
# the cap: every variant the emulated CPU supports is tested at every level).
for isa in $LEVELS; do
  V="$(grep -ohE 'covers: .*' "$BUILD/qemu-$isa.log" | sed 's/^covers: //; s/, /\n/g' | grep -v '^(' | sort -u | tr '\n' ' ')"
  echo "SIMD variants compared with their references (log of QRT_ISA=$isa): ${V:-none}"
  break  # the same at every level
done
echo "=== cross_aarch64: done in $((SECONDS - START)) s"
if [[ -n "$FAILED" || -z "$LEVELS" ]]; then
  echo "cross_aarch64: FAILED under QRT_ISA:${FAILED:- (no level ran)}"
  exit 1
fi
echo "cross_aarch64: passed under QRT_ISA:$LEVELS"
