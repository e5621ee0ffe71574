#!/bin/sh
# SPDX-License-Identifier: MIT
# The benchmark: tubo against the cache-line floor, Open MPI and Python, with ratios taken
# side by side. This machine is noisy (the floor itself moves by 4x between runs as the
# host moves vCPUs), so each repetition runs the floor, tubo, Open MPI, Python and the floor
# again back to back and computes its ratios from its own figures; a repetition whose two
# floors differ by more than 25% (the host changed under it) is left out. The tables give
# the median, min and max of each figure and ratio over the stable repetitions. Targets print PASS/FAIL, but these are figures, not tests: the
# script exits 0 whatever they say. It builds nothing: it runs the programs of a built tree.
#
# Usage: bench/run.sh [-r REPS] [-n ITEMS] [-p PY_ITEMS] [-S] [-Q] [-P] [BUILDDIR]   (or: make bench)
#   -r REPS      repetitions (default 7)
#   -n ITEMS     items streamed by the C pipelines (default 5000000)
#   -p PY_ITEMS  items streamed by the Python pipeline and Python's Queue (default 100000)
#   -S           skip the closing sweep of every message size
#   -Q           skip the Queue figures (tubo's Queue and Python's, 1, 2 and 4 pairs)
#   -P           skip the pipe figures (tubo_pipe_create against multiprocessing.Pipe)
#   BUILDDIR     the build tree (default: the current directory)
# Environment: MPIRUN (default mpirun), PYTHON3 (default python3).
usage() {
  sed -n 's/^# \{0,1\}//; 10,17p' "$0"
}

reps=7
items=5000000
py_items=100000
sweep=1
queue=1
pipes=1
while getopts r:n:p:SQPh opt; do
  case $opt in
  r) reps=$OPTARG ;;
  n) items=$OPTARG ;;
  p) py_items=$OPTARG ;;
  S) sweep=0 ;;
  Q) queue=0 ;;
  P) pipes=0 ;;
  h)
    usage
    exit 0
    ;;
  *)
    usage >&2
    exit 2
    ;;
  esac
done
shift $((OPTIND - 1))
for v in "$reps" "$items" "$py_items"; do
  case $v in
  '' | *[!0-9]*)
    echo "run.sh: -r, -n and -p need whole numbers, not '$v'" >&2
    exit 2
    ;;
  esac
done
[ "$reps" -ge 1 ] || {
  echo "run.sh: -r needs at least 1 repetition" >&2
  exit 2
}
[ $# -le 1 ] || {
  usage >&2
  exit 2
}

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-.}" && pwd) || exit 2
tuborun=$build/tools/tuborun
for prog in "$tuborun" "$build/examples/pipeline" "$build/bench/osu_tubo" "$build/bench/floor" \
  "$build/bench/queue_bench"; do
  [ -x "$prog" ] || {
    echo "run.sh: $prog is missing: build the tree first (make), or name it: run.sh BUILDDIR" >&2
    exit 1
  }
done

# Open MPI, where it was built against and mpirun is found.
MPIRUN=${MPIRUN:-mpirun}
have_mpi=0
if [ -x "$build/bench/osu_mpi" ] && [ -x "$build/bench/mpi_pipeline" ] &&
  command -v "$MPIRUN" >/dev/null 2>&1; then
  have_mpi=1
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
PYTHON3=${PYTHON3:-python3}
have_py=0
command -v "$PYTHON3" >/dev/null 2>&1 && have_py=1

# Open MPI binds two ranks to two cores by default; tubo must run under the same placement.
# tuborun binds where it has --bind-to; before that, osu_tubo -b binds each rank itself.
if "$tuborun" --help 2>&1 | grep -q -- '--bind-to'; then
  tubo_bind="--bind-to core"
  osu_bind=""
  bind_note="tuborun --bind-to core"
else
  tubo_bind=""
  osu_bind="-b"
  bind_note="osu_tubo -b (this tuborun has no --bind-to: each rank binds itself)"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tubo-bench.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
figs=$tmp/figures

# run NAME COMMAND...: runs one measurement with a time limit; its output lands in
# $tmp/NAME.out. Returns the command's status; a failure is reported, never fatal.
run() {
  name=$1
  shift
  timeout --foreground 300 "$@" >"$tmp/$name.out" 2>&1
  rc=$?
  if [ $rc -ne 0 ]; then
    echo "  ($name failed with status $rc: $*)" >&2
    tail -n 5 "$tmp/$name.out" | sed 's/^/  | /' >&2
  fi
  return $rc
}

# pick NAME PATTERN KEY: the value of KEY= on the line of $tmp/NAME.out that matches PATTERN.
pick() {
  sed -n "/$2/s/.* $3=\\([^ ]*\\).*/\\1/p" "$tmp/$1.out" | head -n 1
}

# record REP KEY VALUE: one figure of one repetition (nothing when the value is missing).
record() {
  [ -n "$3" ] && echo "$1 $2 $3" >>"$figs"
}

date_now=$(date -u '+%Y-%m-%d %H:%M UTC')
echo "tubo benchmark, $date_now, $(uname -n), $(getconf _NPROCESSORS_ONLN) CPUs, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "build: $build; repetitions: $reps; pipeline items: C $items, Python $py_items"
echo "placement: 2-rank runs: Open MPI's default binding (cores), tubo: $bind_note;"
echo "           3-rank pipelines: no binding for either (Open MPI does not bind when oversubscribed)"
[ $have_mpi = 1 ] || echo "Open MPI: not built or no $MPIRUN: its figures are n/a"
[ $have_py = 1 ] || echo "python3: not found: its figures are n/a"
echo

for rep in $(seq 1 "$reps"); do
  # The floor, then tubo, then Open MPI, back to back.
  if run floor "$build/bench/floor" 1000000; then
    record "$rep" floor "$(pick floor '^floor spin=plain' half_rtt_ns)"
    record "$rep" floor_pause "$(pick floor '^floor spin=pause' half_rtt_ns)"
    record "$rep" floor_chan "$(pick floor '^floor-channel spin=plain' half_rtt_ns)"
  fi
  # shellcheck disable=SC2086 # the binding options are meant to split
  run tlat "$tuborun" -n 2 $tubo_bind "$build/bench/osu_tubo" $osu_bind -t latency -s 8 &&
    record "$rep" tubo_lat8 "$(pick tlat 'size=8 ' half_rtt_ns)"
  if [ $have_mpi = 1 ]; then
    run mlat "$MPIRUN" -n 2 "$build/bench/osu_mpi" -t latency -s 8 &&
      record "$rep" mpi_lat8 "$(pick mlat 'size=8 ' half_rtt_ns)"
  fi
  # shellcheck disable=SC2086
  if run tbw "$tuborun" -n 2 $tubo_bind "$build/bench/osu_tubo" $osu_bind -t bw \
    -s 1048576,4194304; then
    record "$rep" tubo_bw1m "$(pick tbw 'size=1048576 ' GBps)"
    record "$rep" tubo_bw4m "$(pick tbw 'size=4194304 ' GBps)"
  fi
  if [ $have_mpi = 1 ] && run mbw "$MPIRUN" -n 2 "$build/bench/osu_mpi" -t bw \
    -s 1048576,4194304; then
    record "$rep" mpi_bw1m "$(pick mbw 'size=1048576 ' GBps)"
    record "$rep" mpi_bw4m "$(pick mbw 'size=4194304 ' GBps)"
  fi
  # The pipeline: 3 ranks on the machine's cores.
  run tpipe "$tuborun" -n 3 "$build/examples/pipeline" -n "$items" -q &&
    record "$rep" tubo_pipe "$(pick tpipe 'check=ok' items_per_s)"
  if [ $have_mpi = 1 ]; then
    run mpipe "$MPIRUN" -n 3 --oversubscribe "$build/bench/mpi_pipeline" -n "$items" &&
      record "$rep" mpi_pipe_default "$(pick mpipe 'check=ok' items_per_s)"
    run mpipey "$MPIRUN" -n 3 --oversubscribe --mca mpi_yield_when_idle 1 \
      "$build/bench/mpi_pipeline" -n "$items" &&
      record "$rep" mpi_pipe_yield "$(pick mpipey 'check=ok' items_per_s)"
  fi
  if [ $have_py = 1 ]; then
    run py "$PYTHON3" "$here/py_pipeline.py" -n "$py_items" &&
      record "$rep" py_pipe "$(pick py 'check=ok' items_per_s)"
  fi
  # The Queue: P producer and P consumer processes, 8-byte items (C) or ints (Python),
  # tubo's and Python's back to back for each P.
  if [ $queue = 1 ]; then
    for qp in 1 2 4; do
      run tq$qp "$build/bench/queue_bench" -p $qp -n $((items / 2)) &&
        record "$rep" tubo_queue$qp "$(pick tq$qp 'check=ok' items_per_s)"
      if [ $have_py = 1 ]; then
        run pq$qp "$PYTHON3" "$here/py_queue.py" -p $qp -n "$py_items" &&
          record "$rep" py_queue$qp "$(pick pq$qp 'check=ok' items_per_s)"
      fi
    done
  fi
  # The pipes: a tubo pipe (tubo_pipe_create) and multiprocessing.Pipe between two
  # processes, each bound to its own core.
  if [ $pipes = 1 ] && [ -x "$build/bench/pipe_bench" ]; then
    if run ppipe "$build/bench/pipe_bench" -b; then
      record "$rep" pipe_tubo_lat8 "$(pick ppipe 'test=latency size=8 ' half_rtt_ns)"
      record "$rep" pipe_tubo_rate8 "$(pick ppipe 'test=throughput size=8 ' msgs_per_s)"
      record "$rep" pipe_tubo_bw1m "$(pick ppipe 'test=throughput size=1048576 ' GBps)"
    fi
    if [ $have_py = 1 ] && run pypipe "$PYTHON3" "$here/py_pipe.py" -b; then
      record "$rep" pipe_py_lat8 "$(pick pypipe 'style=object' half_rtt_ns)"
      record "$rep" pipe_py_lat8b "$(pick pypipe 'style=bytes' half_rtt_ns)"
      record "$rep" pipe_py_rate8 "$(pick pypipe 'test=throughput size=8 ' msgs_per_s)"
      record "$rep" pipe_py_bw1m "$(pick pypipe 'test=throughput size=1048576 ' GBps)"
    fi
  fi
  # The floor again: a repetition during which the host moved the vCPUs (the floor
  # changed by more than 25%) compares figures taken on different machines; the ratios
  # leave it out.
  if run floor2 "$build/bench/floor" 1000000; then
    record "$rep" floor_end "$(pick floor2 '^floor spin=plain' half_rtt_ns)"
    record "$rep" floor_pause_end "$(pick floor2 '^floor spin=pause' half_rtt_ns)"
    record "$rep" floor_chan_end "$(pick floor2 '^floor-channel spin=plain' half_rtt_ns)"
  fi
  echo "repetition $rep of $reps: $(awk -v r="$rep" '$1 == r { printf "%s=%s ", $2, $3 }' "$figs" 2>/dev/null)"
done
echo

# The summary: medians of the figures and of the ratios taken within each repetition.
touch "$figs"
awk -v reps="$reps" -v pipes="$pipes" '
function sort(a, n,    i, j, t) {
  for (i = 2; i <= n; i++)
    for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
}
# Sets MED, MIN, MAX and N from the values of key k over the repetitions.
function stats(k,    r, a, n) {
  n = 0
  for (r = 1; r <= reps; r++)
    if ((r, k) in v) a[++n] = v[r, k]
  N = n
  if (n == 0) return
  sort(a, n)
  MIN = a[1]; MAX = a[n]
  MED = n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function fig(k, label, scale, unit) {
  stats(k)
  if (N == 0) { printf "%-46s %10s %10s %10s  %s\n", label, "n/a", "", "", unit; return }
  printf "%-46s %10.4g %10.4g %10.4g  %s\n", label, MED * scale, MIN * scale, MAX * scale, unit
}
# A ratio of two figures, per repetition, then its statistics and verdict.
function ratio(num, den, label, op, target,    r, k, ok) {
  k = num "/" den
  for (r = 1; r <= reps; r++)
    if ((r, num) in v && (r, den) in v && v[r, den] > 0) v[r, k] = v[r, num] / v[r, den]
  stats(k)
  if (N == 0) { printf "%-46s %10s %10s %10s  %-6s %s\n", label, "n/a", "", "", op " " target, "SKIP"; return }
  ok = (op == "<=" && MED <= target) || (op == "<" && MED < target) || (op == ">=" && MED >= target)
  printf "%-46s %10.3f %10.3f %10.3f  %-6s %s\n", label, MED, MIN, MAX, op " " target, ok ? "PASS" : "FAIL"
}
# A ratio without a target (pipes): its statistics only.
function info(num, den, label,    r, k) {
  k = num "/" den
  for (r = 1; r <= reps; r++)
    if ((r, num) in v && (r, den) in v && v[r, den] > 0) v[r, k] = v[r, num] / v[r, den]
  stats(k)
  if (N == 0) { printf "%-46s %10s\n", label, "n/a"; return }
  printf "%-46s %10.3f %10.3f %10.3f  %-6s %s\n", label, MED, MIN, MAX, "-", "-"
}
{ v[$1, $2] = $3 }
END {
  # Stable repetitions: the floor measured before and after agrees within 25%. The
  # floors used in ratios are the mean of the two.
  nstable = 0
  for (r = 1; r <= reps; r++) {
    if (!((r, "floor") in v) || !((r, "floor_end") in v)) continue
    a = v[r, "floor"]; b = v[r, "floor_end"]
    if (a <= 0 || b <= 0 || (a > b ? a / b : b / a) > 1.25) { unstable[r] = 1; continue }
    nstable++
    v[r, "floor"] = (a + b) / 2
    if ((r, "floor_pause") in v && (r, "floor_pause_end") in v)
      v[r, "floor_pause"] = (v[r, "floor_pause"] + v[r, "floor_pause_end"]) / 2
    if ((r, "floor_chan") in v && (r, "floor_chan_end") in v)
      v[r, "floor_chan"] = (v[r, "floor_chan"] + v[r, "floor_chan_end"]) / 2
  }
  for (r in unstable) for (k in v) { split(k, kk, SUBSEP); if (kk[1] == r) delete v[k] }
  # The Open MPI pipeline anchor: the better of its default and mpi_yield_when_idle.
  for (r = 1; r <= reps; r++) {
    if ((r, "mpi_pipe_default") in v) v[r, "mpi_pipe"] = v[r, "mpi_pipe_default"]
    if ((r, "mpi_pipe_yield") in v && (!((r, "mpi_pipe") in v) || v[r, "mpi_pipe_yield"] > v[r, "mpi_pipe"]))
      v[r, "mpi_pipe"] = v[r, "mpi_pipe_yield"]
  }
  printf "%-46s %10s %10s %10s\n", "figure", "median", "min", "max"
  fig("floor", "cache-line floor, plain spin (as the anchor)", 1, "ns")
  fig("floor_pause", "cache-line floor, spin with PAUSE", 1, "ns")
  fig("floor_chan", "channel floor: a line each way, plain spin", 1, "ns")
  fig("tubo_lat8", "tubo 8 B half round trip", 1, "ns")
  fig("mpi_lat8", "Open MPI 8 B half round trip", 1, "ns")
  fig("tubo_bw1m", "tubo streaming bandwidth, 1 MiB", 1, "GB/s")
  fig("mpi_bw1m", "Open MPI streaming bandwidth, 1 MiB", 1, "GB/s")
  fig("tubo_bw4m", "tubo streaming bandwidth, 4 MiB", 1, "GB/s")
  fig("mpi_bw4m", "Open MPI streaming bandwidth, 4 MiB", 1, "GB/s")
  fig("tubo_pipe", "tubo pipeline, 3 ranks", 1e-6, "M items/s")
  fig("mpi_pipe_default", "Open MPI pipeline, default", 1e-6, "M items/s")
  fig("mpi_pipe_yield", "Open MPI pipeline, mpi_yield_when_idle 1", 1e-6, "M items/s")
  fig("py_pipe", "Python multiprocessing pipeline (the seed)", 1e-6, "M items/s")
  for (p = 1; p <= 4; p *= 2) {
    fig("tubo_queue" p, "tubo Queue, " p " producer(s) -> " p " consumer(s)", 1e-6, "M items/s")
    fig("py_queue" p, "Python multiprocessing.Queue, " p " -> " p, 1e-6, "M items/s")
  }
  print ""
  printf "stable repetitions (floor before and after within 25%%): %d of %d; only they count\n\n", nstable, reps
  printf "%-46s %10s %10s %10s  %-6s %s\n", "ratio (within each repetition)", "median", "min", "max", "target", "verdict"
  ratio("tubo_lat8", "floor", "tubo 8 B latency / floor (plain spin)", "<=", 1.5)
  ratio("tubo_lat8", "floor_pause", "tubo 8 B latency / floor (PAUSE spin)", "<=", 1.5)
  info("tubo_lat8", "floor_chan", "tubo 8 B latency / channel floor")
  ratio("tubo_lat8", "mpi_lat8", "tubo 8 B latency / Open MPI", "<", 1)
  ratio("tubo_bw1m", "mpi_bw1m", "tubo bandwidth 1 MiB / Open MPI", ">=", 1)
  ratio("tubo_bw4m", "mpi_bw4m", "tubo bandwidth 4 MiB / Open MPI", ">=", 1)
  ratio("tubo_pipe", "mpi_pipe", "tubo pipeline / Open MPI (better of the two)", ">=", 5)
  ratio("tubo_pipe", "py_pipe", "tubo pipeline / Python", ">=", 300)
  for (p = 1; p <= 4; p *= 2)
    ratio("tubo_queue" p, "py_queue" p, "tubo Queue / Python Queue, " p " -> " p, ">=", 100)
  # The tables of the pipes.
  if (pipes) {
    print ""
    print "pipes: tubo_pipe_create (bench/pipe_bench) against multiprocessing.Pipe (bench/py_pipe.py),"
    print "2 processes bound to 2 cores; Python sends ints (pickled, as the seeds) or 8 raw bytes"
    printf "%-46s %10s %10s %10s\n", "figure", "median", "min", "max"
    fig("pipe_tubo_lat8", "tubo pipe 8 B half round trip", 1, "ns")
    fig("pipe_py_lat8", "Python Pipe half round trip, send(int)", 1, "ns")
    fig("pipe_py_lat8b", "Python Pipe half round trip, send_bytes(8 B)", 1, "ns")
    fig("pipe_tubo_rate8", "tubo pipe 8 B messages, one way", 1e-6, "M msgs/s")
    fig("pipe_py_rate8", "Python Pipe 8 B messages (send_bytes)", 1e-6, "M msgs/s")
    fig("pipe_tubo_bw1m", "tubo pipe 1 MiB messages, one way", 1, "GB/s")
    fig("pipe_py_bw1m", "Python Pipe 1 MiB messages (send_bytes)", 1, "GB/s")
    print ""
    printf "%-46s %10s %10s %10s  %-6s %s\n", "ratio (within each repetition)", "median", "min", "max", "target", "verdict"
    ratio("pipe_py_lat8", "pipe_tubo_lat8", "Python Pipe half-rtt (int) / tubo pipe", ">=", 100)
    ratio("pipe_py_lat8b", "pipe_tubo_lat8", "Python Pipe half-rtt (bytes) / tubo pipe", ">=", 100)
    info("pipe_tubo_lat8", "floor", "tubo pipe 8 B latency / floor (plain spin)")
    info("pipe_tubo_rate8", "pipe_py_rate8", "tubo pipe / Python Pipe, 8 B messages/s")
    info("pipe_tubo_bw1m", "pipe_py_bw1m", "tubo pipe / Python Pipe, 1 MiB GB/s")
  }
}' "$figs"

if [ $sweep = 1 ]; then
  echo
  echo "Sweep of every size, one run each (osu_latency / osu_bw style):"
  # shellcheck disable=SC2086
  run stubo "$tuborun" -n 2 $tubo_bind "$build/bench/osu_tubo" $osu_bind
  [ $have_mpi = 1 ] && run smpi "$MPIRUN" -n 2 "$build/bench/osu_mpi"
  touch "$tmp/stubo.out" "$tmp/smpi.out"
  cat "$tmp/stubo.out" "$tmp/smpi.out" | awk '
    /^osu / {
      for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
      key = f["impl"] "," f["test"]
      val[f["size"], key] = f["test"] == "latency" ? f["half_rtt_ns"] : f["GBps"]
      if (!(f["size"] in seen)) { seen[f["size"]] = 1; sizes[++n] = f["size"] + 0 }
    }
    function show(s, k) { return ((s, k) in val) ? val[s, k] : "n/a" }
    END {
      for (i = 2; i <= n; i++) for (j = i; j > 1 && sizes[j - 1] > sizes[j]; j--) { t = sizes[j]; sizes[j] = sizes[j - 1]; sizes[j - 1] = t }
      printf "%10s %16s %16s %14s %14s\n", "size (B)", "tubo half-rtt ns", "MPI half-rtt ns", "tubo GB/s", "MPI GB/s"
      for (i = 1; i <= n; i++) {
        s = sizes[i]
        printf "%10d %16s %16s %14s %14s\n", s, show(s, "tubo,latency"), show(s, "mpi,latency"), show(s, "tubo,bw"), show(s, "mpi,bw")
      }
    }'
fi
exit 0
