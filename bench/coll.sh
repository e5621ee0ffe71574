#!/bin/sh
# SPDX-License-Identifier: MIT
# Collectives against Open MPI: bench/osu_coll_tubo (under tuborun) and bench/osu_coll_mpi
# (under mpirun) take turns, R times, on each rank count; the table gives each one's
# median time and the ratio tubo / Open MPI of the medians (below 1: tubo is faster).
# With -m K, tubo runs under mpirun too, its ranks split into pretend nodes of K ranks
# (its hierarchical collectives), against plain Open MPI on the same ranks.
#
# Usage: bench/coll.sh [-n "2 4 8 16 64"] [-r R] [-t tests] [-s sizes] [-i iters] [-m K]
#                      [BUILD_DIR]
# Tests and sizes as bench/osu_coll takes them (-t allreduce,bcast -s 8,1048576).
set -u
ranks="2 4 8 16 64" reps=5 tests="barrier,bcast,reduce,allreduce,gather,allgather,alltoall"
sizes="8,64,512,4096,32768,262144,1048576" iters=2000 nodes=
while getopts n:r:t:s:i:m: opt; do
  case $opt in
  n) ranks=$OPTARG ;;
  r) reps=$OPTARG ;;
  t) tests=$OPTARG ;;
  s) sizes=$OPTARG ;;
  i) iters=$OPTARG ;;
  m) nodes=$OPTARG ;;
  *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
build=${1:-.}
mpirun=${MPIRUN:-mpirun}
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"
bench_mpi_env coll

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# bench/coll.sh -n \"$ranks\" -r $reps -t $tests -s $sizes -i $iters${nodes:+ -m $nodes}"
for n in $ranks; do
  # Fewer calls with more ranks: each call waits for every rank to be scheduled.
  it=$((iters * 4 / n))
  [ "$it" -lt 50 ] && it=50
  for rep in $(seq 1 "$reps"); do
    if [ -n "$nodes" ]; then
      TUBO_NODE_SIZE=$nodes "$mpirun" -n "$n" -x TUBO_NODE_SIZE --timeout 600 \
        "$build/bench/osu_coll_tubo" -t "$tests" -s "$sizes" -n "$it" 2>/dev/null
    else
      "$build/tools/tuborun" -n "$n" --timeout 600 "$build/bench/osu_coll_tubo" -t "$tests" \
        -s "$sizes" -n "$it" 2>/dev/null
    fi
    "$mpirun" -n "$n" --timeout 600 "$build/bench/osu_coll_mpi" -t "$tests" -s "$sizes" \
      -n "$it" 2>/dev/null
  done
done >"$tmp/raw"
# One line per (test, ranks, size): the medians and their ratio.
awk '
/^osu_coll / {
  for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
  key = f["test"] " " f["ranks"] " " f["size"]
  if (!(key in seen)) { seen[key] = 1; order[++nk] = key }
  v[key, f["impl"], ++cnt[key, f["impl"]]] = f["avg_us"]
}
function median(key, impl,   n, i, j, t, a) {
  n = cnt[key, impl]
  for (i = 1; i <= n; i++) a[i] = v[key, impl, i]
  for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
END {
  printf "| test | ranks | bytes | tubo us | Open MPI us | ratio |\n|---|---|---|---|---|---|\n"
  for (k = 1; k <= nk; k++) {
    split(order[k], p, " ")
    if (!cnt[order[k], "tubo"] || !cnt[order[k], "mpi"]) continue
    t = median(order[k], "tubo"); m = median(order[k], "mpi")
    printf "| %s | %s | %s | %.3f | %.3f | %.2f |\n", p[1], p[2], p[3], t, m, (m > 0 ? t / m : 0)
  }
}' "$tmp/raw"
