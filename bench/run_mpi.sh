#!/bin/sh
# SPDX-License-Identifier: MIT
# The benchmark of tubo under mpirun: 8 B half round trip, 64 KiB and 1 MiB streaming
# bandwidth (bench/osu.c) for
#   same node      tubo under mpirun, both ranks on one node, against tubo under tuborun;
#   both waiting   ranks 0 and 1 on one node while rank 2, on another pretend node, idles:
#                  0 and 1 poll MPI too; against the same three ranks on one node (rank 2
#                  idle there too, so both jobs are equally oversubscribed);
#   cross node     ranks on two pretend nodes (TUBO_NODE_SIZE=1), so tubo's messages go
#                  through Open MPI, against plain Open MPI between the same two ranks,
#                  once over Open MPI's shared memory (vader) and once over TCP (what a
#                  network between real nodes looks like to Open MPI), and where this
#                  Open MPI can, once through its other PML (--mca pml cm --mca mtl ofi:
#                  libfabric, no BTL), as on clusters whose network has an MTL;
#   pipelines      the producer -> squarer -> consumer pipeline (examples/pipeline -q, 3
#                  ranks) under mpirun on one node against tuborun, and across pretend
#                  nodes of 1 rank (both hops through Open MPI) against its Open MPI twin
#                  (bench/mpi_pipeline), over vader and over TCP; and the same over
#                  vader with ranks 0 and 2 bound to core 0 and rank 1 to core 1
#                  ("bound": far steadier than 3 unbound ranks on 2 cores);
#   cross hosts    (-H, as root) rank 0 and rank 1 on two hosts made of network
#                  namespaces (tests/hosts.sh), tubo against plain Open MPI.
# Each repetition runs every case back to back, with copies of its own of libtubo and the
# tubo programs (where code lies in physical memory moves the hop by a few percent), and
# takes its ratios from its own figures; the table gives median, min and max over the
# repetitions, and for the latency of both waiting, the cross-node latency and the bound
# pipeline over vader also over the repetitions whose two figures both caught the host in
# its fast state, or both in its slow one (see below). These are figures, not tests: the
# script exits 0 whatever they say. It runs the programs of a built tree.
#
# Usage: bench/run_mpi.sh [-r REPS] [-n ITEMS] [-H] [BUILDDIR]   (or: make bench-mpi)
#   ITEMS: items each pipeline streams (default 1000000)
# Environment: MPIRUN (default mpirun).
reps=5
items=1000000
hosts=0
while getopts r:n:Hh opt; do
  case $opt in
  r) reps=$OPTARG ;;
  n) items=$OPTARG ;;
  H) hosts=1 ;;
  h)
    sed -n 's/^# \{0,1\}//; 3,33p' "$0"
    exit 0
    ;;
  *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"
bench_count run_mpi.sh -r repetitions "$reps"
bench_count run_mpi.sh -n items "$items"
build=${1:-.}
MPIRUN=${MPIRUN:-mpirun}
# real PROGRAM: the program itself where libtool built a wrapper for it, which would put
# the build's library first in the search path (fresh_copies below).
real() {
  if [ -x "$(dirname "$1")/.libs/$(basename "$1")" ]; then
    echo "$(dirname "$1")/.libs/$(basename "$1")"
  else
    echo "$1"
  fi
}
osu_tubo=$(real "$build/bench/osu_tubo")
osu_mpi=$build/bench/osu_mpi
pipeline=$(real "$build/examples/pipeline")
mpi_pipeline=$build/bench/mpi_pipeline
tuborun=$build/tools/tuborun
for p in "$osu_tubo" "$osu_mpi" "$pipeline" "$mpi_pipeline" "$tuborun"; do
  [ -x "$p" ] || {
    echo "run_mpi.sh: $p is not built (configure found no Open MPI?)" >&2
    exit 2
  }
done
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tubo-bench-mpi.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
if [ $hosts = 1 ]; then
  # shellcheck source=tests/hosts.sh
  . "$(dirname "$0")/../tests/hosts.sh"
  if ! hosts_up; then
    echo "run_mpi.sh: -H: $hosts_why" >&2
    exit 2
  fi
  trap 'hosts_down; rm -rf "$tmp"' EXIT INT TERM
fi

# fig NAME COMMAND...: runs an osu program for latency and bandwidth; appends
# "NAME lat_ns bw_1MiB_GBps bw_64KiB_GBps" to $tmp/figs (n/a where it failed).
fig() {
  name=$1
  shift
  if "$@" -b -t both -s 8,65536,1048576 >"$tmp/out" 2>"$tmp/err"; then
    lat=$(awk '/test=latency size=8 /{for(i=1;i<=NF;i++) if($i ~ /^half_rtt_ns=/){sub(/.*=/,"",$i); print $i}}' "$tmp/out")
    bw=$(awk '/test=bw size=1048576 /{for(i=1;i<=NF;i++) if($i ~ /^GBps=/){sub(/.*=/,"",$i); print $i}}' "$tmp/out")
    bw64=$(awk '/test=bw size=65536 /{for(i=1;i<=NF;i++) if($i ~ /^GBps=/){sub(/.*=/,"",$i); print $i}}' "$tmp/out")
  else
    echo "run_mpi.sh: $name failed:" >&2
    cat "$tmp/err" >&2
    lat=n/a bw=n/a bw64=n/a
  fi
  echo "$rep $name ${lat:-n/a} ${bw:-n/a} ${bw64:-n/a}" >>"$tmp/figs"
}

# figpipe NAME COMMAND...: runs a pipeline program; appends "NAME items_per_s" to
# $tmp/pipes (n/a where it failed or its checksum was wrong).
figpipe() {
  name=$1
  shift
  ips=
  if "$@" >"$tmp/out" 2>"$tmp/err"; then
    ips=$(awk '/check=ok/{for(i=1;i<=NF;i++) if($i ~ /^items_per_s=/){sub(/.*=/,"",$i); print $i}}' "$tmp/out")
  else
    echo "run_mpi.sh: $name failed:" >&2
    cat "$tmp/err" >&2
  fi
  echo "$rep $name ${ips:-n/a}" >>"$tmp/pipes"
}

: >"$tmp/figs"
: >"$tmp/pipes"
# Whether a plain MPI program runs through Open MPI's cm PML here.
cm=0
if env OMPI_MCA_pml=cm OMPI_MCA_mtl=ofi "$MPIRUN" -n 2 --timeout 60 "$osu_mpi" -t latency -s 8 \
  >/dev/null 2>&1; then
  cm=1
fi
# fresh_copies: copies of its own of the tubo programs and of the shared libtubo for the
# next repetition to run. Where code lies in physical memory moves the hop: two copies
# of one library, each loaded by 30 runs, differed by 4% in the 8 B hop, and one file
# would bias every figure of a run the same way.
osu_tubo_built=$osu_tubo pipeline_built=$pipeline
osu_tubo=$tmp/lib/osu_tubo pipeline=$tmp/lib/pipeline
fresh_copies() {
  bench_fresh "$tmp/lib" "$build/lib/.libs/libtubo.so.0" "$osu_tubo_built" "$pipeline_built"
}
xlib=
if [ -f "$build/lib/.libs/libtubo.so.0" ]; then
  LD_LIBRARY_PATH=$tmp/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export LD_LIBRARY_PATH
  xlib="-x LD_LIBRARY_PATH" # for mpirun's launch agent on other hosts
fi
rep=1
while [ "$rep" -le "$reps" ]; do
  fresh_copies || exit 1
  fig tuborun "$tuborun" -n 2 "$osu_tubo"
  fig same_node env TUBO_NODE_SIZE=0 "$MPIRUN" -n 2 -x TUBO_NODE_SIZE "$osu_tubo"
  fig one_node_idle env TUBO_NODE_SIZE=0 "$MPIRUN" -n 3 --bind-to none -x TUBO_NODE_SIZE \
    "$osu_tubo" -i
  fig both_waiting env TUBO_NODE_SIZE=2 "$MPIRUN" -n 3 --bind-to none -x TUBO_NODE_SIZE \
    "$osu_tubo" -i
  fig cross_vader env TUBO_NODE_SIZE=1 "$MPIRUN" -n 2 -x TUBO_NODE_SIZE "$osu_tubo"
  fig ompi_vader "$MPIRUN" -n 2 "$osu_mpi"
  fig cross_tcp env TUBO_NODE_SIZE=1 "$MPIRUN" -n 2 --mca btl tcp,self -x TUBO_NODE_SIZE \
    "$osu_tubo"
  fig ompi_tcp "$MPIRUN" -n 2 --mca btl tcp,self "$osu_mpi"
  if [ $cm = 1 ]; then
    fig cross_cm env TUBO_NODE_SIZE=1 OMPI_MCA_pml=cm OMPI_MCA_mtl=ofi "$MPIRUN" -n 2 \
      -x TUBO_NODE_SIZE "$osu_tubo"
    fig ompi_cm env OMPI_MCA_pml=cm OMPI_MCA_mtl=ofi "$MPIRUN" -n 2 "$osu_mpi"
  fi
  figpipe pipe_tuborun "$tuborun" -n 3 "$pipeline" -n "$items" -q
  figpipe pipe_same_node env TUBO_NODE_SIZE=0 "$MPIRUN" -n 3 --bind-to none \
    -x TUBO_NODE_SIZE "$pipeline" -n "$items" -q
  figpipe pipe_cross_vader env TUBO_NODE_SIZE=1 "$MPIRUN" -n 3 --bind-to none \
    -x TUBO_NODE_SIZE "$pipeline" -n "$items" -q
  figpipe pipe_ompi_vader "$MPIRUN" -n 3 --bind-to none "$mpi_pipeline" -n "$items"
  bind="--bind-to core:overload-allowed"
  figpipe pipe_bound_vader env TUBO_NODE_SIZE=1 "$MPIRUN" -n 3 $bind -x TUBO_NODE_SIZE \
    "$pipeline" -n "$items" -q
  figpipe pipe_bound_ompi "$MPIRUN" -n 3 $bind "$mpi_pipeline" -n "$items"
  figpipe pipe_cross_tcp env TUBO_NODE_SIZE=1 "$MPIRUN" -n 3 --bind-to none \
    --mca btl tcp,self -x TUBO_NODE_SIZE "$pipeline" -n "$items" -q
  figpipe pipe_ompi_tcp "$MPIRUN" -n 3 --bind-to none --mca btl tcp,self "$mpi_pipeline" \
    -n "$items"
  if [ $hosts = 1 ]; then
    # shellcheck disable=SC2086 # $xlib is two words or none
    fig cross_hosts "$hosts_dir/mpirun" -n 2 $xlib "$osu_tubo"
    fig ompi_hosts "$hosts_dir/mpirun" -n 2 "$osu_mpi"
  fi
  rep=$((rep + 1))
done

# The awk functions both tables use: ratios of figures that may be n/a, each ratio key
# kept in the order of its first add; the ratio of a to b where both are near the run's
# best figure of their kind (within 1.5x of it: the host's fast state) or both are not;
# median, min and max of the m values in a[1..m]; the table of every key's median, min,
# max and number of repetitions (those of cross hosts only with -H).
stats='
  function ratio(a, b) { return (a == "n/a" || b == "n/a" || b == 0) ? "n/a" : a / b }
  function near_best(x, best) { x += 0; return x > 0 && (x < best ? best / x : x / best) < 1.5 }
  function state_ratio(a, b, best, fast) {
    if (a == "n/a" || b == "n/a" || best == "") return "n/a"
    if (fast ? near_best(a, best) && near_best(b, best) : !near_best(a, best) && !near_best(b, best)) return a / b
    return "n/a"
  }
  function add(key, v) {
    if (!(key in known)) { known[key] = 1; keys[++nkeys] = key }
    if (v != "n/a") { n[key]++; val[key, n[key]] = v }
  }
  function sort(a, m,   i, j, t) { for (i = 2; i <= m; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t } }
  function med(a, m) { if (m == 0) return "n/a"; sort(a, m); return sprintf("%.3g", m % 2 ? a[(m+1)/2] : (a[m/2] + a[m/2+1]) / 2) }
  function mn(a, m) { if (m == 0) return "n/a"; sort(a, m); return sprintf("%.3g", a[1]) }
  function mx(a, m) { if (m == 0) return "n/a"; sort(a, m); return sprintf("%.3g", a[m]) }
  function ratios(   i, j, key, m) {
    printf "\n%-36s %8s %8s %8s %4s\n", "ratio", "median", "min", "max", "n"
    for (i = 1; i <= nkeys; i++) {
      key = keys[i]
      m = n[key]
      if (m == 0 && key ~ /hosts|pml cm/) continue
      for (j = 1; j <= m; j++) rv[j] = val[key, j]
      printf "%-36s %8s %8s %8s %4d\n", key, med(rv, m), mn(rv, m), mx(rv, m), m
    }
  }
'

# The ratios of each repetition, then median, min and max of each. A host whose cores
# change speed (this VM: Open MPI'"'"'s 8 B hop takes about 100 ns or about 340 ns, one run
# at a time) mixes states into a ratio; the cross-node latency is also given over the
# repetitions whose two figures both are within 1.5x of the run'"'"'s fastest Open MPI hop
# (fast), or both are not (slow), and the latency of both waiting likewise against the
# run'"'"'s fastest hop of one node with an idle rank. (Those keys end in a space, so that
# they differ from the cross-node ones.)
awk -v reps="$reps" "$stats"'
  { lat[$1, $2] = $3; bw[$1, $2] = $4; bk[$1, $2] = $5; seen[$2] = 1 }
  END {
    lo = ""; lo1 = ""
    for (r = 1; r <= reps; r++) {
      if (lat[r, "ompi_vader"] != "n/a" && (lo == "" || lat[r, "ompi_vader"] + 0 < lo)) lo = lat[r, "ompi_vader"] + 0
      if (lat[r, "one_node_idle"] != "n/a" && (lo1 == "" || lat[r, "one_node_idle"] + 0 < lo1)) lo1 = lat[r, "one_node_idle"] + 0
    }
    for (r = 1; r <= reps; r++) {
      add("lat same node / tuborun", ratio(lat[r, "same_node"], lat[r, "tuborun"]))
      add("lat both waiting / one node", ratio(lat[r, "both_waiting"], lat[r, "one_node_idle"]))
      add("  both in the host'"'"'s fast state ", state_ratio(lat[r, "both_waiting"], lat[r, "one_node_idle"], lo1, 1))
      add("  both in its slow state ", state_ratio(lat[r, "both_waiting"], lat[r, "one_node_idle"], lo1, 0))
      add("lat cross node / Open MPI (vader)", ratio(lat[r, "cross_vader"], lat[r, "ompi_vader"]))
      add("  both in the host'"'"'s fast state", state_ratio(lat[r, "cross_vader"], lat[r, "ompi_vader"], lo, 1))
      add("  both in its slow state", state_ratio(lat[r, "cross_vader"], lat[r, "ompi_vader"], lo, 0))
      add("lat cross node / Open MPI (tcp)", ratio(lat[r, "cross_tcp"], lat[r, "ompi_tcp"]))
      add("lat cross node / Open MPI (pml cm)", ratio(lat[r, "cross_cm"], lat[r, "ompi_cm"]))
      add("lat cross hosts / Open MPI", ratio(lat[r, "cross_hosts"], lat[r, "ompi_hosts"]))
      add("bw same node / tuborun", ratio(bw[r, "same_node"], bw[r, "tuborun"]))
      add("bw both waiting / one node", ratio(bw[r, "both_waiting"], bw[r, "one_node_idle"]))
      add("bw cross node / Open MPI (vader)", ratio(bw[r, "cross_vader"], bw[r, "ompi_vader"]))
      add("bw cross node / Open MPI (tcp)", ratio(bw[r, "cross_tcp"], bw[r, "ompi_tcp"]))
      add("bw cross node / Open MPI (pml cm)", ratio(bw[r, "cross_cm"], bw[r, "ompi_cm"]))
      add("bw 64K same node / tuborun", ratio(bk[r, "same_node"], bk[r, "tuborun"]))
      add("bw 64K cross node / Open MPI (vader)", ratio(bk[r, "cross_vader"], bk[r, "ompi_vader"]))
      add("bw 64K cross node / Open MPI (tcp)", ratio(bk[r, "cross_tcp"], bk[r, "ompi_tcp"]))
      add("bw 64K cross node / Open MPI (pml cm)", ratio(bk[r, "cross_cm"], bk[r, "ompi_cm"]))
      add("bw cross hosts / Open MPI", ratio(bw[r, "cross_hosts"], bw[r, "ompi_hosts"]))
    }
    split("tuborun same_node one_node_idle both_waiting cross_vader ompi_vader cross_tcp ompi_tcp cross_cm ompi_cm cross_hosts ompi_hosts", names, " ")
    printf "%-16s %14s %14s %14s   (medians over %d repetitions)\n", "case", "8 B lat ns", "1 MiB GB/s", "64 KiB GB/s", reps
    for (i = 1; i <= 12; i++) {
      if (!(names[i] in seen)) continue
      nl = 0; nb = 0; nk = 0
      for (r = 1; r <= reps; r++) {
        if (lat[r, names[i]] != "n/a") l[++nl] = lat[r, names[i]]
        if (bw[r, names[i]] != "n/a") b[++nb] = bw[r, names[i]]
        if (bk[r, names[i]] != "n/a") kk[++nk] = bk[r, names[i]]
      }
      printf "%-16s %14s %14s %14s\n", names[i], med(l, nl), med(b, nb), med(kk, nk)
    }
    ratios()
  }
' "$tmp/figs"

# The pipelines: items per second, then the ratios of each repetition. The bound
# pipeline over vader is also given over the repetitions whose two figures (tubo, Open
# MPI) are both within 1.5x of the run's fastest bound Open MPI pipeline (the host's fast
# state), or both are not (its slow state), as the cross-node latency is above.
awk -v reps="$reps" "$stats"'
  { ips[$1, $2] = $3; seen[$2] = 1 }
  END {
    hi = ""
    for (r = 1; r <= reps; r++)
      if (ips[r, "pipe_bound_ompi"] != "n/a" && (hi == "" || ips[r, "pipe_bound_ompi"] + 0 > hi)) hi = ips[r, "pipe_bound_ompi"] + 0
    for (r = 1; r <= reps; r++) {
      add("pipe same node / tuborun", ratio(ips[r, "pipe_same_node"], ips[r, "pipe_tuborun"]))
      add("pipe cross node / Open MPI (vader)", ratio(ips[r, "pipe_cross_vader"], ips[r, "pipe_ompi_vader"]))
      add("pipe cross node / Open MPI (tcp)", ratio(ips[r, "pipe_cross_tcp"], ips[r, "pipe_ompi_tcp"]))
      add("pipe bound cross / Open MPI (vader)", ratio(ips[r, "pipe_bound_vader"], ips[r, "pipe_bound_ompi"]))
      add("  both in the host'"'"'s fast state", state_ratio(ips[r, "pipe_bound_vader"], ips[r, "pipe_bound_ompi"], hi, 1))
      add("  both in its slow state", state_ratio(ips[r, "pipe_bound_vader"], ips[r, "pipe_bound_ompi"], hi, 0))
    }
    split("pipe_tuborun pipe_same_node pipe_cross_vader pipe_ompi_vader pipe_cross_tcp pipe_ompi_tcp pipe_bound_vader pipe_bound_ompi", names, " ")
    printf "\n%-16s %14s   (medians over %d repetitions)\n", "pipeline", "M items/s", reps
    for (i = 1; i <= 8; i++) {
      if (!(names[i] in seen)) continue
      m = 0
      for (r = 1; r <= reps; r++)
        if (ips[r, names[i]] != "n/a") v[++m] = ips[r, names[i]] / 1e6
      printf "%-16s %14s\n", names[i], med(v, m)
    }
    ratios()
  }
' "$tmp/pipes"

exit 0
