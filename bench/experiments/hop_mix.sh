#!/bin/sh
# SPDX-License-Identifier: MIT
# The hops under mpirun that separate runs measure too coarsely, by hop_mix: tubo against
# plain Open MPI in alternating blocks of one job, so that each ratio compares two moments
# a few milliseconds apart. RUNS jobs of each kind, each from fresh copies of
# hop_mix and libtubo (where code lies in physical memory moves a hop by a few percent):
#   cross node     2 ranks, nodes of 1 (TUBO_NODE_SIZE=1): tubo's hop through its MPI
#                  transport, over Open MPI's shared memory, against Open MPI's own hop;
#   same node      2 ranks on one node: tubo's shared memory against Open MPI's;
#   both waiting   3 ranks, rank 2 idle: ranks 0 and 1 on one node with rank 2 on
#                  another (TUBO_NODE_SIZE=2), so that they wait on both transports,
#                  against the same job on one node (TUBO_NODE_SIZE=0), run back to back;
#                  the figure is the ratio of the two jobs' ratios (each against its own
#                  Open MPI hop, which cancels the host's state, but only while both
#                  jobs ran in the same state: pairs whose Open MPI hops differ by more
#                  than 1.3x are left out, and counted). Ranks are bound to cores, rank
#                  2 beside rank 0 (it sleeps between its looks).
# Each job's ratio is the median of its rounds; the table gives the median, min and max
# of the jobs' ratios, and the median of their Open MPI hops.
#
# Usage: bench/experiments/hop_mix.sh [-n RUNS] [-r ROUNDS] [BUILDDIR]
#   RUNS: default 10; ROUNDS: hop_mix's, default 100. Environment: MPIRUN (default mpirun).
runs=10
rounds=100
while getopts n:r:h opt; do
  case $opt in
  n) runs=$OPTARG ;;
  r) rounds=$OPTARG ;;
  h)
    sed -n '3,22s/^# \{0,1\}//p' "$0"
    exit 0
    ;;
  *)
    echo "usage: bench/experiments/hop_mix.sh [-n RUNS] [-r ROUNDS] [BUILDDIR]" >&2
    exit 2
    ;;
  esac
done
shift $((OPTIND - 1))
# shellcheck source=bench/common.sh
. "$(dirname "$0")/../common.sh"
bench_count hop_mix.sh -n runs "$runs"
bench_count hop_mix.sh -r rounds "$rounds"
build=${1:-.}
MPIRUN=${MPIRUN:-mpirun}
for f in "$build/bench/experiments/.libs/hop_mix" "$build/lib/.libs/libtubo.so.0"; do
  [ -e "$f" ] || {
    echo "hop_mix.sh: $f is not built (a shared build with Open MPI is needed)" >&2
    exit 2
  }
done
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tubo-hop-mix.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# mix NODE_SIZE NPROCS [MPIRUN OPTIONS...]: one job of hop_mix from fresh copies; prints
# "ratio mpi_ns", or "n/a n/a" if it failed.
mix() {
  ns=$1 np=$2
  shift 2
  bench_fresh "$tmp/lib" "$build/lib/.libs/libtubo.so.0" \
    "$build/bench/experiments/.libs/hop_mix"
  TUBO_NODE_SIZE=$ns LD_LIBRARY_PATH="$tmp/lib" "$MPIRUN" -n "$np" "$@" -x TUBO_NODE_SIZE \
    -x LD_LIBRARY_PATH "$tmp/lib/hop_mix" -r "$rounds" 2>"$tmp/err" | awk '
    /^hop_mix / { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
    END { if (v["ratio"] == "") print "n/a n/a"; else print v["ratio"], v["mpi_ns"] }'
}

i=1
while [ "$i" -le "$runs" ]; do
  echo "cross $(mix 1 2)" >>"$tmp/runs"
  echo "same $(mix 0 2)" >>"$tmp/runs"
  # The two jobs of the figure in alternated order.
  if [ $((i % 2)) = 0 ]; then
    b=$(mix 2 3 --oversubscribe --bind-to core:overload-allowed)
    o=$(mix 0 3 --oversubscribe --bind-to core:overload-allowed)
  else
    o=$(mix 0 3 --oversubscribe --bind-to core:overload-allowed)
    b=$(mix 2 3 --oversubscribe --bind-to core:overload-allowed)
  fi
  echo "both $b $o" >>"$tmp/runs"
  i=$((i + 1))
done

awk '
  function sort(a, m,   i, j, t) { for (i = 2; i <= m; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t } }
  function med(a, m) { sort(a, m); return m % 2 ? a[(m+1)/2] : (a[m/2] + a[m/2+1]) / 2 }
  function row(name, r, m, o,   lo, hi, k) {
    if (m == 0) { printf "%-28s %4d %8s %8s %8s %10s\n", name, 0, "n/a", "n/a", "n/a", "n/a"; return }
    lo = r[1]; hi = r[1]; for (k = 2; k <= m; k++) { if (r[k] < lo) lo = r[k]; if (r[k] > hi) hi = r[k] }
    printf "%-28s %4d %8.3f %8.3f %8.3f %10.1f\n", name, m, med(r, m), lo, hi, med(o, m)
  }
  $1 == "cross" && $2 != "n/a" { nc++; rc[nc] = $2; oc[nc] = $3 }
  $1 == "same" && $2 != "n/a" { nsm++; rs[nsm] = $2; os[nsm] = $3 }
  $1 == "both" && $2 != "n/a" && $4 != "n/a" {
    if ($3 / $5 > 1.3 || $5 / $3 > 1.3) { mixed++; next }
    nb++; rb[nb] = $2 / $4; ob[nb] = $3
  }
  END {
    printf "%-28s %4s %8s %8s %8s %10s\n", "figure", "runs", "median", "min", "max", "MPI ns"
    row("cross node: tubo / Open MPI", rc, nc, oc)
    row("same node: tubo / Open MPI", rs, nsm, os)
    row("both waiting / one node", rb, nb, ob)
    if (mixed > 0) printf "(both waiting: %d pairs left out, their two jobs in different host states)\n", mixed
  }' "$tmp/runs"
