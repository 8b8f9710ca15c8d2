#!/usr/bin/env bash
# Builds the libFuzzer target for the .qmodel loader with clang (ASan + UBSan), writes the seed
# corpus, and fuzzes for N seconds. Exits non-zero if the fuzzer finds a crash, leak, timeout,
# out-of-memory or sanitizer report (the reproducer is left in $WORK/artifacts).
#   fuzz/run_fuzz.sh [seconds=60] [jobs=1]
# Environment: CC/CXX (default clang/clang++), QRT_FUZZ_BUILD (default build-fuzz),
# QRT_FUZZ_FORMAT_ONLY=1 to skip the runtime part (load + plan + run of models that parse).
set -euo pipefail
SECONDS_TO_RUN=${1:-60}
JOBS=${2:-1}
PARALLEL=()
if [ "$JOBS" -gt 1 ]; then PARALLEL=(-jobs="$JOBS" -workers="$JOBS"); fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${QRT_FUZZ_BUILD:-$ROOT/build-fuzz}
WORK=${QRT_FUZZ_WORK:-$BUILD/fuzz-work}
export CC=${CC:-clang} CXX=${CXX:-clang++}
if ! command -v "$CXX" >/dev/null; then
  echo "run_fuzz.sh: $CXX not found (apt-get install clang libclang-rt-dev)" >&2
  exit 2
fi
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQRT_FUZZ=ON \
  -DQRT_BUILD_PYTHON=OFF -DQRT_BUILD_TOOLS=OFF -DQRT_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" --target qrt_fuzz_load qrt_fuzz_make_corpus
mkdir -p "$WORK/corpus" "$WORK/seeds" "$WORK/artifacts"
"$BUILD/qrt_fuzz_make_corpus" "$WORK/seeds" >/dev/null
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
# fuzz/regressions: inputs that once crashed (kept so every run replays them first).
"$BUILD/qrt_fuzz_load" "$WORK/corpus" "$WORK/seeds" "$ROOT/fuzz/regressions" \
  -max_total_time="$SECONDS_TO_RUN" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=5 \
  -max_len=65536 -artifact_prefix="$WORK/artifacts/" -print_final_stats=1 \
  "${PARALLEL[@]}" >"$WORK/last_run.log" 2>&1 || status=$?
grep -E "ERROR|SUMMARY|stat::|Done" "$WORK/last_run.log" || true
tail -n 3 "$WORK/last_run.log"
if ls "$WORK"/artifacts/* >/dev/null 2>&1 || [ "$status" -ne 0 ]; then
  echo "run_fuzz.sh: the fuzzer found a problem (exit $status); see $WORK/artifacts and $WORK/last_run.log" >&2
  exit 1
fi
echo "run_fuzz.sh: no crash in ${SECONDS_TO_RUN}s"
