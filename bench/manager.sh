#!/bin/sh
# SPDX-License-Identifier: MIT
# The shared dict and Namespace against Python's Manager, and commstime. Each repetition
# runs, back to back: bench/py_manager.py and bench/manager_bench on 1 process, then both
# on P processes, then examples/commstime -t; it prints its figures and its own ratios
# (tubo's rate over Python's), and the summary gives the median, min and max of each ratio,
# and of tubo's own rates on one process (the targets there are absolute). commstime is
# followed by bench/csp_floor, the same network over bare channels that yield or sleep,
# and the time of one switch of process on one CPU (the anchors: what the machine's
# scheduler costs), and commstime's ratios to them.
# With -b BASEDIR, another build's manager_bench and commstime run too, after this
# build's in each repetition, and the summary gives this build's ratio to that one.
# Figures from different runs are not compared: the machine is shared and noisy.
#
# Usage: bench/manager.sh [-r REPS] [-n N] [-p PROCS] [-c ROUNDS] [-b BASEDIR] [BUILDDIR]
usage() {
  echo "usage: $0 [-r REPS] [-n N] [-p PROCS] [-c COMMSTIME_ROUNDS] [-b BASEDIR] [BUILDDIR]" >&2
  exit 2
}
reps=5 n=20000 procs=4 rounds=100000 base=
while getopts r:n:p:c:b:h opt; do
  case $opt in
  r) reps=$OPTARG ;;
  n) n=$OPTARG ;;
  p) procs=$OPTARG ;;
  c) rounds=$OPTARG ;;
  b) base=$OPTARG ;;
  *) usage ;;
  esac
done
shift $((OPTIND - 1))
builddir=${1:-.}
srcdir=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON3:-python3}
tmp=$(mktemp "${TMPDIR:-/tmp}/tubo-manager.XXXXXX") || exit 1
trap 'rm -f "$tmp"' EXIT INT TERM

echo "# $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs; N=$n P=$procs; load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$reps"); do
  for p in 1 "$procs"; do
    "$python" "$srcdir/bench/py_manager.py" -n "$n" -p "$p" | sed "s/^/rep=$r /" >>"$tmp"
    "$builddir/bench/manager_bench" -n "$n" -p "$p" | sed "s/^/rep=$r /" >>"$tmp"
    [ -z "$base" ] || "$base/bench/manager_bench" -n "$n" -p "$p" | sed "s/^manager impl=tubo/manager impl=base/; s/^/rep=$r /" >>"$tmp"
  done
  "$builddir/examples/commstime" -n "$rounds" -t | grep us_per_comm | sed "s/^/rep=$r /" >>"$tmp"
  [ -z "$base" ] || "$base/examples/commstime" -n "$rounds" -t | grep us_per_comm | sed "s/^commstime/commstime_base/; s/^/rep=$r /" >>"$tmp"
  "$builddir/bench/csp_floor" -n "$rounds" yield futex switch | sed "s/^/rep=$r /" >>"$tmp"
done
cat "$tmp"
echo "# load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "# ratio tubo/python per repetition; median (min..max) over $reps repetitions"
awk '
function val(k,   i, f) { for (i = 1; i <= NF; i++) { split($i, f, "="); if (f[1] == k) return f[2] } }
/^rep=.* manager / {
  r = val("rep"); p = val("procs"); impl = val("impl")
  w[r, p, impl] = val("dict_writes_per_s"); g[r, p, impl] = val("dict_reads_per_s")
  s[r, p, impl] = val("ns_sets_per_s"); ps[p] = 1; if (r > nr) nr = r
  if (impl == "tubo") { cw[r, p] = val("cpu_dict_writes_per_s"); cg[r, p] = val("cpu_dict_reads_per_s") }
}
/^rep=.* commstime / { c[++nc] = val("us_per_comm"); cr[val("rep")] = val("us_per_comm") }
/^rep=.* commstime_base / { cb[val("rep")] = val("us_per_comm") }
/^rep=.* csp_floor / { fl[val("rep"), val("wait")] = val("wait") == "switch" ? val("us_per_switch") : val("us_per_comm") }
function sort(a, n,   i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t } }
function summary(label, a, n) { sort(a, n); printf "%-34s %10.2f  (%.2f..%.2f)\n", label, a[int((n + 1) / 2)], a[1], a[n] }
END {
  for (p in ps) {
    for (r = 1; r <= nr; r++) { a[r] = w[r, p, "tubo"] / w[r, p, "python"] }
    summary("dict writes, " p " process(es)", a, nr)
    for (r = 1; r <= nr; r++) { a[r] = g[r, p, "tubo"] / g[r, p, "python"] }
    summary("dict reads, " p " process(es)", a, nr)
    for (r = 1; r <= nr; r++) { a[r] = s[r, p, "tubo"] / s[r, p, "python"] }
    summary("Namespace sets, " p " process(es)", a, nr)
  }
  # The targets for one process are absolute rates: tubo alone, per repetition.
  for (r = 1; r <= nr; r++) { a[r] = w[r, 1, "tubo"] / 1e6 }
  summary("tubo dict writes, 1 process, M/s", a, nr)
  for (r = 1; r <= nr; r++) { a[r] = g[r, 1, "tubo"] / 1e6 }
  summary("tubo dict reads, 1 process, M/s", a, nr)
  for (r = 1; r <= nr; r++) { a[r] = cw[r, 1] / 1e6 }
  summary("tubo dict writes, 1 process, M/CPU-s", a, nr)
  for (r = 1; r <= nr; r++) { a[r] = cg[r, 1] / 1e6 }
  summary("tubo dict reads, 1 process, M/CPU-s", a, nr)
  if (nc > 0) { sort(c, nc); printf "%-34s %10.3f  (%.3f..%.3f) us per communication\n", "commstime", c[int((nc + 1) / 2)], c[1], c[nc] }
  for (r = 1; r <= nr; r++) { a[r] = fl[r, "yield"] }
  summary("bare channels, yield, us", a, nr)
  for (r = 1; r <= nr; r++) { a[r] = fl[r, "futex"] }
  summary("bare channels, futex, us", a, nr)
  for (r = 1; r <= nr; r++) { a[r] = fl[r, "switch"] }
  summary("switch of process (1 CPU), us", a, nr)
  for (r = 1; r <= nr; r++) { a[r] = cr[r] / fl[r, "switch"] }
  summary("commstime / switch of process", a, nr)
  for (r = 1; r <= nr; r++) { a[r] = cr[r] / fl[r, "yield"] }
  summary("commstime / bare yield", a, nr)
  for (r = 1; r <= nr; r++) { a[r] = cr[r] / fl[r, "futex"] }
  summary("commstime / bare futex", a, nr)
  if (((1, 1, "base") in w)) {
    for (p in ps) {
      for (r = 1; r <= nr; r++) { a[r] = w[r, p, "tubo"] / w[r, p, "base"] }
      summary("dict writes, " p " proc(s), this/base", a, nr)
    }
    for (r = 1; r <= nr; r++) { a[r] = cr[r] / cb[r] }
    summary("commstime time, this/base", a, nr)
  }
}' "$tmp"
