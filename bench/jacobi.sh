#!/bin/sh
# SPDX-License-Identifier: MIT
# Halo exchange plus a small reduction against Open MPI: bench/jacobi_tubo (under
# tuborun) and bench/jacobi_mpi (under mpirun) take turns, R times on each rank count, the
# one that goes first alternating; with -B LIB, the same tubo program also runs on another
# build's libtubo.so (the "before" of a change) in each turn. Each repetition takes its
# ratios from its own figures; the table gives the median times and the median (min-max)
# of the ratios tubo / Open MPI (below 1: tubo is faster), and with -B, before / Open MPI
# and tubo / before.
#
# Usage: bench/jacobi.sh [-n "2 4 8 16"] [-r R] [-i ITERS] [-p POINTS] [-B LIB] [BUILD_DIR]
# Environment: MPIRUN (default mpirun).
set -u
ranks="2 4 8 16" reps=5 iters=2000 points=1001 before=
while getopts n:r:i:p:B: opt; do
  case $opt in
  n) ranks=$OPTARG ;;
  r) reps=$OPTARG ;;
  i) iters=$OPTARG ;;
  p) points=$OPTARG ;;
  B) before=$OPTARG ;;
  *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"
bench_count jacobi.sh -r repetitions "$reps"
bench_count jacobi.sh -i iterations "$iters"
build=${1:-.}
mpirun=${MPIRUN:-mpirun}
prog=$build/bench/jacobi_tubo
[ -x "$build/bench/.libs/jacobi_tubo" ] && prog=$build/bench/.libs/jacobi_tubo
for p in "$prog" "$build/bench/jacobi_mpi" "$build/tools/tuborun" "$build/lib/.libs/libtubo.so"; do
  [ -e "$p" ] || {
    echo "jacobi.sh: $p is not built (configure found no Open MPI?)" >&2
    exit 2
  }
done
[ -z "$before" ] || [ -f "$before" ] || {
  echo "jacobi.sh: -B $before: no such library" >&2
  exit 2
}
bench_mpi_env jacobi
# Each library as libtubo.so.0 in a folder of its own: the program loads one or the other.
mkdir "$tmp/after" "$tmp/before"
cp "$build/lib/.libs/libtubo.so" "$tmp/after/libtubo.so.0"
[ -z "$before" ] || cp "$before" "$tmp/before/libtubo.so.0"

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# bench/jacobi.sh -n \"$ranks\" -r $reps -i $iters -p $points${before:+ -B $before}"

# run IMPL N: one run; prints "IMPL N time_s" (n/a where it failed or its check did).
run() {
  case $1 in
  mpi) "$mpirun" -n "$2" --timeout 600 "$build/bench/jacobi_mpi" -i "$iters" -p "$points" ;;
  *) LD_LIBRARY_PATH="$tmp/$1" "$build/tools/tuborun" -n "$2" --timeout 600 "$prog" \
    -i "$iters" -p "$points" ;;
  esac >"$tmp/out" 2>"$tmp/err"
  t=$(sed -n 's/.*time_s=\([0-9.]*\) .*check=ok.*/\1/p' "$tmp/out")
  [ -n "$t" ] || cat "$tmp/err" >&2
  echo "$1 $2 ${t:-n/a}"
}

impls="after mpi"
[ -z "$before" ] || impls="after before mpi"
for n in $ranks; do
  for rep in $(seq 1 "$reps"); do
    # The one that goes first alternates: a load that rises or falls during a turn
    # favours neither.
    order=$impls
    [ $((rep % 2)) = 0 ] && order=$(echo "$impls" | awk '{for (i = NF; i > 0; i--) printf "%s ", $i}')
    for impl in $order; do
      echo "$rep $(run "$impl" "$n")"
    done
  done
done >"$tmp/raw"
echo "# load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v before="$before" '
{ v[$3, $2, $1] = $4; if (!($3 in seen)) { seen[$3] = 1; order[++nn] = $3 } if ($1 > reps) reps = $1 }
function med(a, n,   i, j, t) {
  for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
# times(N, IMPL): median time over the repetitions where it ran.
function times(n, impl,   r, k, a) {
  k = 0
  for (r = 1; r <= reps; r++) if (v[n, impl, r] != "n/a" && v[n, impl, r] != "") a[++k] = v[n, impl, r]
  return k ? sprintf("%.3f", med(a, k)) : "n/a"
}
# ratio(N, A, B): median (min-max) of A / B, each repetition against itself.
function ratio(n, x, y,   r, k, a, lo, hi) {
  k = 0
  for (r = 1; r <= reps; r++)
    if (v[n, x, r] != "n/a" && v[n, y, r] != "n/a" && v[n, x, r] != "" && v[n, y, r] > 0)
      a[++k] = v[n, x, r] / v[n, y, r]
  if (!k) return "n/a"
  lo = hi = a[1]
  for (r = 2; r <= k; r++) { if (a[r] < lo) lo = a[r]; if (a[r] > hi) hi = a[r] }
  return sprintf("%.2f (%.2f-%.2f)", med(a, k), lo, hi)
}
END {
  if (before != "") {
    printf "| ranks | tubo s | before s | Open MPI s | tubo / Open MPI | before / Open MPI | tubo / before |\n"
    printf "|---|---|---|---|---|---|---|\n"
  } else {
    printf "| ranks | tubo s | Open MPI s | tubo / Open MPI |\n|---|---|---|---|\n"
  }
  for (i = 1; i <= nn; i++) {
    n = order[i]
    if (before != "")
      printf "| %s | %s | %s | %s | %s | %s | %s |\n", n, times(n, "after"), times(n, "before"),
        times(n, "mpi"), ratio(n, "after", "mpi"), ratio(n, "before", "mpi"), ratio(n, "after", "before")
    else
      printf "| %s | %s | %s | %s |\n", n, times(n, "after"), times(n, "mpi"), ratio(n, "after", "mpi")
  }
}' "$tmp/raw"
