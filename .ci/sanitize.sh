#!/usr/bin/env bash
# Builds the C++ core and its test binary with AddressSanitizer + UBSan (-DQRT_SANITIZE=ON) in its
# own build directory and runs qrt_tests once per ISA level this CPU (and build) runs
# (QRT_ISA=ref, avx2, avxvnni, avx512, avx512vnni, avx512bf16, amx on x86-64; ref, neon, neondot on
# aarch64), with leak detection on and the first UBSan report fatal.
#   .ci/sanitize.sh [test-filter]
# Environment: QRT_ASAN_BUILD (default build-asan), CXX (default: the system compiler; gcc and
# clang both work), QRT_ASAN_JOBS (default 2). Logs: $QRT_ASAN_BUILD/sanitize-<isa>.log.
# Exit status: 0 only if every level passes with no sanitizer report.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${QRT_ASAN_BUILD:-$ROOT/build-asan}"
JOBS="${QRT_ASAN_JOBS:-2}"
FILTER="${1:-}"
START=$SECONDS
GEN=()
command -v ninja >/dev/null 2>&1 && GEN=(-G Ninja)

echo "=== sanitize: configure + build qrt_tests (ASan+UBSan, RelWithDebInfo) in $BUILD"
# RelWithDebInfo: optimised like the shipped build (so vector code paths are the real ones) and
# with line numbers in the sanitizer stack traces.
# Only the kernel ISAs this CPU runs are compiled (QRT_ISAS): the others' tests would be skipped
# anyway, and their instrumented objects were a third of this build's time. QRT_ASAN_ALL_ISAS=1
# compiles them all. (The -Werror build of .ci/run compiles every ISA.)
ISAS=""
if [ -z "${QRT_ASAN_ALL_ISAS:-}" ] && [ -r /proc/cpuinfo ] && [ "$(uname -m)" = x86_64 ]; then
  FLAGS=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
  has() { for f in "$@"; do [[ "$FLAGS" == *" $f "* ]] || return 1; done; }
  has avx2 fma f16c && ISAS="avx2"
  has avx_vnni && ISAS="$ISAS;avxvnni"
  has avx512f avx512bw avx512dq avx512vl && ISAS="$ISAS;avx512"
  has avx512_vnni && ISAS="$ISAS;avx512vnni"
  has avx512_bf16 && ISAS="$ISAS;avx512bf16"
  has amx_tile amx_int8 amx_bf16 && ISAS="$ISAS;amx"
  ISAS="${ISAS#;}"
  [ -n "$ISAS" ] || ISAS="none"  # a baseline x86-64 CPU: the reference kernels only
  echo "sanitize: kernel ISAs compiled: $ISAS"
fi
mkdir -p "$BUILD"
cmake -S "$ROOT" -B "$BUILD" "${GEN[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQRT_SANITIZE=ON \
  -DQRT_BUILD_PYTHON=OFF -DQRT_BUILD_TOOLS=OFF -DQRT_BUILD_TESTS=ON "-DQRT_ISAS=$ISAS" >"$BUILD/configure.log" 2>&1 ||
  { cat "$BUILD/configure.log"; echo "sanitize: configure FAILED"; exit 1; }
if ! cmake --build "$BUILD" --target qrt_tests -j "$JOBS"; then
  echo "sanitize: build FAILED"
  exit 1
fi
echo "build took $((SECONDS - START)) s"

export ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

# Levels of this architecture the binary accepts: QRT_ISA=<unavailable> makes it print "error:"
# and exit 2 before running anything (a filter that matches no test keeps the probe instant).
case "$(uname -m)" in
  x86_64 | amd64) CANDIDATES="ref avx2 avxvnni avx512 avx512vnni avx512bf16 amx" ;;
  aarch64 | arm64) CANDIDATES="ref neon neondot" ;;
  *) CANDIDATES="ref" ;;
esac
# (The output is captured first: under pipefail, `qrt_tests | grep -q` took the binary's exit
# status 2 as the pipeline's, so every candidate passed the probe.)
LEVELS=""
for isa in $CANDIDATES; do
  probe="$(QRT_ISA=$isa "$BUILD/qrt_tests" __no_such_test__ 2>&1)"
  if ! grep -q '^error:' <<<"$probe"; then
    LEVELS="$LEVELS $isa"
  fi
done
echo "ISA levels to run:$LEVELS"

# The levels run $JOBS at a time (each run is mostly one thread; on 2 cores this halves the
# step), each into its own log; the results are then read in level order.
# shellcheck source=levels.sh
source "$ROOT/.ci/levels.sh"
level_cmd() { QRT_ISA=$1 "$BUILD/qrt_tests" $FILTER; }
run_levels "$JOBS" "$BUILD/sanitize" $LEVELS

FAILED=""
for isa in $LEVELS; do
  LOG="$BUILD/sanitize-$isa.log"
  rc="$(cat "$BUILD/sanitize-$isa.rc" 2>/dev/null || echo 99)"
  # The closing line of the harness; a sanitizer abort leaves none.
  closing="$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$LOG" | tail -n 1)"
  reports="$(grep -cE '^(==[0-9]+==ERROR|SUMMARY: (Address|Undefined|Leak)Sanitizer)|runtime error:' "$LOG")"
  echo "--- QRT_ISA=$isa: $(head -n 1 "$LOG" | sed 's/^cpu: .*; //') | ${closing:-no closing line} |" \
       "exit $rc | sanitizer reports: $reports | $(cat "$BUILD/sanitize-$isa.secs" 2>/dev/null) s"
  if [[ $rc -ne 0 || "$reports" -ne 0 || -z "$closing" ]]; then
    FAILED="$FAILED $isa"
    grep -E '^FAIL |runtime error:|==ERROR|SUMMARY:' "$LOG" | head -n 20
    grep -nE '^ +#[0-9]+ ' "$LOG" | head -n 12
    echo "    (full log: $LOG)"
  fi
done

echo "=== sanitize: done in $((SECONDS - START)) s"
if [[ -n "$FAILED" ]]; then
  echo "sanitize: FAILED under QRT_ISA:$FAILED"
  exit 1
fi
echo "sanitize: clean under QRT_ISA:$LEVELS"
