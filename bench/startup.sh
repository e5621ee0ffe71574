#!/bin/sh
# SPDX-License-Identifier: MIT
# Start-up against Open MPI: whole jobs of bench/startup_tubo (init, one barrier,
# finalize) under tuborun and of bench/startup_mpi under mpirun take turns, R times on
# each rank count, the one that goes first alternating. Each turn gives its ratio
# Open MPI / tubo of wall times (above 1: tubo starts faster); the table gives the median
# wall times and the median (min-max) of the ratios. Times are the launcher's, from its
# start to its end, as a user waits for them.
#
# Usage: bench/startup.sh [-n "64 128"] [-r R] [BUILD_DIR]
# Environment: MPIRUN (default mpirun).
#
# The default stops at 128 ranks: on the 2-core machine of doc/scale.md, Open MPI 4.1's
# `mpirun --oversubscribe -n 256` of startup_mpi failed in 7 of 8 tries ("process rank N
# ... exiting improperly" after up to 190 s, none of its ranks' messages saying why),
# while `-n 128` ran (39 s) and `mpirun -n 256 /bin/true` ran (9 s). Give -n 256 to try.
set -u
ranks="64 128" reps=3
while getopts n:r: opt; do
  case $opt in
  n) ranks=$OPTARG ;;
  r) reps=$OPTARG ;;
  *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"
bench_count startup.sh -r repetitions "$reps"
build=${1:-.}
mpirun=${MPIRUN:-mpirun}
# The program itself, not libtool's wrapper script, which would run a shell per rank.
prog=$build/bench/startup_tubo
[ -x "$build/bench/.libs/startup_tubo" ] && prog=$build/bench/.libs/startup_tubo
export LD_LIBRARY_PATH="$build/lib/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
for p in "$prog" "$build/bench/startup_mpi" "$build/tools/tuborun"; do
  [ -e "$p" ] || {
    echo "startup.sh: $p is not built (configure found no Open MPI?)" >&2
    exit 2
  }
done
bench_mpi_env startup

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# bench/startup.sh -n \"$ranks\" -r $reps"

# run IMPL N: one job; prints "IMPL N wall_s" (n/a where it failed).
run() {
  start=$(date +%s.%N)
  case $1 in
  mpi) "$mpirun" -n "$2" --timeout 600 "$build/bench/startup_mpi" ;;
  *) "$build/tools/tuborun" -n "$2" --timeout 600 "$prog" ;;
  esac >"$tmp/out" 2>"$tmp/err"
  rc=$?
  end=$(date +%s.%N)
  if [ "$rc" = 0 ]; then
    echo "$1 $2 $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')"
  else
    tail -5 "$tmp/err" >&2
    echo "$1 $2 n/a (exit $rc)"
  fi
}

for n in $ranks; do
  for rep in $(seq 1 "$reps"); do
    # The one that goes first alternates: a load that rises or falls during a turn
    # favours neither.
    order="tubo mpi"
    [ $((rep % 2)) = 0 ] && order="mpi tubo"
    for impl in $order; do
      echo "$rep $(run "$impl" "$n")"
    done
  done
done >"$tmp/runs"
cat "$tmp/runs"
echo "# load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
echo "ranks | tubo wall s (median) | Open MPI wall s (median) | Open MPI / tubo, median (min-max)"
for n in $ranks; do
  awk -v n="$n" '
    $3 == n && $4 != "n/a" { t[$1 "," $2] = $4 }
    END {
      k = 0
      for (rep = 1; rep < 1000; rep++) {
        a = t[rep ",tubo"]; b = t[rep ",mpi"]
        if (a == "" || b == "") continue
        k++; ta[k] = a; tb[k] = b; r[k] = b / a
      }
      if (k == 0) { printf "%s | n/a | n/a | n/a\n", n; exit }
      printf "%s | %.2f | %.2f | %.1f (%.1f-%.1f)\n", n, med(ta, k), med(tb, k), med(r, k), lo(r, k), hi(r, k)
    }
    function sort(a, k,   i, j, x) { for (i = 2; i <= k; i++) { x = a[i]; for (j = i - 1; j > 0 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x } }
    function med(a, k) { sort(a, k); return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
    function lo(a, k) { sort(a, k); return a[1] }
    function hi(a, k) { sort(a, k); return a[k] }
  ' "$tmp/runs"
done
