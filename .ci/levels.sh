# Sourced by .ci/sanitize.sh and .ci/cross_aarch64.sh.
# run_levels JOBS PREFIX LEVEL... runs `level_cmd LEVEL` (defined by the caller) for each level,
# JOBS at a time, output into PREFIX-LEVEL.log, exit status into PREFIX-LEVEL.rc and seconds into
# PREFIX-LEVEL.secs; returns when all are done. The caller reads the results in level order
# (a missing .rc means the run never finished: treat it as a failure).
run_levels() {
  local jobs=$1 prefix=$2 running=0 isa
  shift 2
  for isa in "$@"; do
    rm -f "$prefix-$isa.rc"
    (
      t0=$SECONDS
      level_cmd "$isa" >"$prefix-$isa.log" 2>&1
      echo $? >"$prefix-$isa.rc"
      echo $((SECONDS - t0)) >"$prefix-$isa.secs"
    ) &
    running=$((running + 1))
    if [[ $running -ge $jobs ]]; then
      wait -n
      running=$((running - 1))
    fi
  done
  wait
}
