#!/bin/sh
# SPDX-License-Identifier: MIT
# The 8 B hop across pretend nodes (TUBO_NODE_SIZE=1: every message through tubo's MPI
# transport, Open MPI moving it through its shared memory) against plain Open MPI
# between the same two ranks, run back to back in PAIRS pairs: a figure that
# bench/run_mpi.sh's repetitions are too few for. Each tubo run starts from fresh copies
# of osu_tubo and libtubo, each Open MPI run from a fresh copy of osu_mpi (where code
# lies in physical memory moves the hop by a few percent, and a program file kept for
# every run would bias the batch). With -B, a second build runs in each pair too, the
# order of the two builds alternated, and the table adds their paired ratio (an A/B).
# The host of this VM switches between a fast state (Open MPI's hop about 100 ns) and a
# slow one (about 340 ns): medians are given over all pairs, over those whose figures
# all lie within 1.5x of the batch's fastest Open MPI hop (fast), and over those whose
# figures all lie beyond it (slow).
#
# Usage: bench/experiments/lat_pairs.sh [-n PAIRS] [-B OTHER_BUILDDIR] [BUILDDIR]
#   PAIRS: default 30. Environment: MPIRUN (default mpirun).
pairs=30
other=
while getopts n:B:h opt; do
  case $opt in
  n) pairs=$OPTARG ;;
  B) other=$OPTARG ;;
  h)
    sed -n '3,17s/^# \{0,1\}//p' "$0"
    exit 0
    ;;
  *)
    echo "usage: bench/experiments/lat_pairs.sh [-n PAIRS] [-B OTHER_BUILDDIR] [BUILDDIR]" >&2
    exit 2
    ;;
  esac
done
shift $((OPTIND - 1))
# shellcheck source=bench/common.sh
. "$(dirname "$0")/../common.sh"
bench_count lat_pairs.sh -n pairs "$pairs"
build=${1:-.}
MPIRUN=${MPIRUN:-mpirun}
for b in "$build" $other; do
  for f in "$b/bench/.libs/osu_tubo" "$b/lib/.libs/libtubo.so.0"; do
    [ -e "$f" ] || {
      echo "lat_pairs.sh: $f is not built (a shared build with Open MPI is needed)" >&2
      exit 2
    }
  done
done
[ -x "$build/bench/osu_mpi" ] || {
  echo "lat_pairs.sh: $build/bench/osu_mpi is not built" >&2
  exit 2
}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tubo-lat-pairs.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# hop COMMAND...: the 8 B half round trip, in ns, of an osu program (n/a if it failed).
hop() {
  "$@" -b -t latency -s 8 2>"$tmp/err" | awk '
    /test=latency size=8 / { for (i = 1; i <= NF; i++) if ($i ~ /^half_rtt_ns=/) { sub(/.*=/, "", $i); v = $i } }
    END { print (v == "" ? "n/a" : v) }'
}

# tubo BUILDDIR: the hop of that build's osu_tubo across pretend nodes, run from fresh
# copies of the program and of its libtubo.
tubo() {
  bench_fresh "$tmp/lib" "$1/lib/.libs/libtubo.so.0" "$1/bench/.libs/osu_tubo"
  TUBO_NODE_SIZE=1 LD_LIBRARY_PATH="$tmp/lib" hop "$MPIRUN" -n 2 -x TUBO_NODE_SIZE \
    -x LD_LIBRARY_PATH "$tmp/lib/osu_tubo"
}

# mpi: the hop of plain Open MPI, run from a fresh copy of osu_mpi: a program file kept
# for the whole batch would give the anchor one draw of code placement for every pair.
mpi() {
  bench_fresh "$tmp/mpi" "" "$build/bench/osu_mpi" && hop "$MPIRUN" -n 2 "$tmp/mpi/osu_mpi"
}

i=1
while [ "$i" -le "$pairs" ]; do
  if [ -n "$other" ] && [ $((i % 2)) = 0 ]; then
    b=$(tubo "$other")
    a=$(tubo "$build")
  else
    a=$(tubo "$build")
    b=n/a
    [ -n "$other" ] && b=$(tubo "$other")
  fi
  o=$(mpi)
  echo "$a $o $b" >>"$tmp/pairs"
  i=$((i + 1))
done

awk -v ab="${other:+1}" '
  function sort(a, m,   i, j, t) { for (i = 2; i <= m; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t } }
  function med(a, m) { if (m == 0) return "n/a"; sort(a, m); return sprintf("%.3f", m % 2 ? a[(m+1)/2] : (a[m/2] + a[m/2+1]) / 2) }
  function near(x) { return x / lo < 1.5 }
  { a[NR] = $1; o[NR] = $2; b[NR] = $3; if ($2 != "n/a" && (lo == "" || $2 + 0 < lo)) lo = $2 + 0 }
  END {
    printf "%-6s %5s %14s %14s", "pairs", "n", "tubo/Open MPI", "Open MPI ns"
    if (ab) printf " %14s %14s", "other/Open MPI", "tubo/other"
    printf "\n"
    split("all fast slow", st, " ")
    for (s = 1; s <= 3; s++) {
      n = 0
      for (r = 1; r <= NR; r++) {
        if (a[r] == "n/a" || o[r] == "n/a" || (ab && b[r] == "n/a")) continue
        f = near(a[r]) + near(o[r]) + (ab ? near(b[r]) : 0); k = ab ? 3 : 2
        if (st[s] == "fast" && f != k) continue
        if (st[s] == "slow" && f != 0) continue
        n++; ra[n] = a[r] / o[r]; on[n] = o[r]
        if (ab) { rb[n] = b[r] / o[r]; rab[n] = a[r] / b[r] }
      }
      printf "%-6s %5d %14s %14s", st[s], n, med(ra, n), med(on, n)
      if (ab) printf " %14s %14s", med(rb, n), med(rab, n)
      printf "\n"
    }
  }' "$tmp/pairs"
