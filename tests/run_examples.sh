#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs every example and compares its output with examples/NAME.expected (the seed's own
# output; for heat2d and pi, which must print the same on any number of ranks, their
# output on one rank); then the checks that only one example has. Run by `make check` from the build
# directory ($srcdir names the source tree).
#
# Each entry of EXAMPLES is NAME:RANKS:MODE.
#   RANKS  0: the program is started directly (it makes its own processes, as Python's
#          multiprocessing programs do); N: under tuborun on N ranks, over each transport.
#   MODE   exact: byte for byte; sorted: the same lines in any order, for the seeds whose
#          own output order is up to the scheduler.
# Before comparing, what differs on every run is masked in both: the figure after
# "Tiempo de ejecución:" and process ids after "PID:".
# With TRANSPORTS=mpi and TH_MPIRUN naming mpirun (tests/run_mpi.sh), every example runs
# under mpirun instead: on N ranks split into pretend nodes (TUBO_NODE_SIZE), or on 1 rank
# for those that make their own processes.
# EXAMPLES_DIR and EXAMPLES_TUBORUN name other builds of the examples and another tuborun
# (make installcheck: the examples built against the installed tubo, the installed tuborun).
EXAMPLES="pipeline:3:exact
enumerate:0:exact
pool_squares:0:exact
process_object:0:exact
process_private_memory:0:exact
csp_parallel:0:sorted
csp_network:0:exact
commstime:0:exact
array_squares:0:exact
array_value:0:exact
value_array_negate:0:exact
manager_records:0:exact
manager_namespace:0:exact
queue_three_workers:0:sorted
queue_record:0:exact
queue_squares:0:exact
queue_ping_pong:0:exact
pipe_hello:0:exact
pipe_record:0:exact
pipe_duplex:0:exact
pipe_until_end:0:exact
pipe_ping_pong:0:exact
exercise_two_children:0:exact
pipeline_pipes:0:exact
heat2d:1:exact
heat2d:2:exact
heat2d:4:exact
heat2d:6:exact
pi:1:exact
pi:3:exact
pool_ranks:1:exact
pool_ranks:3:exact"
TRANSPORTS=${TRANSPORTS:-shm pipe}

srcdir=${srcdir:-.}
tuborun=${EXAMPLES_TUBORUN:-tools/tuborun}
exdir=${EXAMPLES_DIR:-examples}
timeout=120
failures=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tubo-examples.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# run NAME RANKS TRANSPORT ARGS...: runs an example; its output lands in $tmp/out and
# $tmp/err, its exit status in $rc.
run() {
  run_name=$1 run_ranks=$2 run_transport=$3
  shift 3
  if [ "$run_transport" = mpi ]; then
    "$TH_MPIRUN" -n "$run_ranks" --oversubscribe --timeout "$timeout" -x TUBO_NODE_SIZE \
      "$exdir/$run_name" "$@" >"$tmp/out" 2>"$tmp/err"
  else
    "$tuborun" -n "$run_ranks" --transport "$run_transport" --timeout "$timeout" \
      "$exdir/$run_name" "$@" >"$tmp/out" 2>"$tmp/err"
  fi
  rc=$?
}

# normalize MODE FILE: what is compared.
normalize() {
  sed -E 's/(Tiempo de ejecución: +)[0-9.eE+-]+/\1<time>/; s/(PID: )[0-9]+/\1<pid>/' "$2" |
    if [ "$1" = sorted ]; then LC_ALL=C sort; else cat; fi
}

# compare NAME MODE WHAT [EXPECTED]: checks $tmp/out against the expected output
# (default: examples/NAME.expected).
compare() {
  want=${4:-$srcdir/examples/$1.expected}
  if [ "$rc" -ne 0 ]; then
    fail "$3: expected exit status 0, got $rc; stderr:"
    cat "$tmp/err"
  elif normalize "$2" "$want" >"$tmp/want" &&
    normalize "$2" "$tmp/out" >"$tmp/got" && cmp -s "$tmp/want" "$tmp/got"; then
    echo "ok: $3 matches ${4:-examples/$1.expected} ($2)"
  else
    fail "$3: output differs from ${4:-examples/$1.expected} ($2; expected, then got):"
    diff "$tmp/want" "$tmp/got"
  fi
}

# EXAMPLES_RANKS="128 256" (tests/run_examples_scale.sh): only the examples that take any number of
# ranks, on each of these counts over shared memory, and none of the other checks. heat2d
# runs on a plate of 48 points, which grids of 128 (16 x 8) and 256 (16 x 16) ranks
# divide (its default 24 do not), to a tolerance of 0.5 (49 iterations, not 2151): its
# output must be what it prints on one rank.
if [ -n "${EXAMPLES_RANKS:-}" ]; then
  run heat2d 1 shm -n 48 -t 0.5
  cp "$tmp/out" "$tmp/heat2d_one"
  if [ "$rc" -ne 0 ] || ! grep -q "^heat2d: converged after 49 iterations" "$tmp/out"; then
    fail "heat2d -n 48 -t 0.5 on 1 rank: expected exit status 0 and 49 iterations, got $rc and:"
    cat "$tmp/out" "$tmp/err"
  fi
  for n in $EXAMPLES_RANKS; do
    run pi "$n" shm
    compare pi exact "pi on $n ranks over shm"
    run pool_ranks "$n" shm
    compare pool_ranks exact "pool_ranks on $n ranks over shm"
    run heat2d "$n" shm -n 48 -t 0.5
    compare heat2d exact "heat2d -n 48 -t 0.5 on $n ranks over shm" "$tmp/heat2d_one"
  done
  [ "$failures" -eq 0 ] || echo "$failures example check(s) failed"
  exit $((failures != 0))
fi

for entry in $EXAMPLES; do
  name=${entry%%:*}
  rest=${entry#*:}
  ranks=${rest%%:*}
  mode=${rest#*:}
  if [ ! -f "$srcdir/examples/$name.expected" ]; then
    fail "$name: no expected output $srcdir/examples/$name.expected"
    continue
  fi
  if [ "$ranks" -eq 0 ] && [ "$TRANSPORTS" = mpi ]; then
    run "$name" 1 mpi
    compare "$name" "$mode" "$name under mpirun"
    continue
  elif [ "$ranks" -eq 0 ]; then
    timeout "$timeout" "$exdir/$name" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    compare "$name" "$mode" "$name"
    continue
  fi
  for transport in $TRANSPORTS; do
    run "$name" "$ranks" "$transport"
    compare "$name" "$mode" "$name on $ranks rank(s) over $transport"
  done
done

# The pipeline's quiet mode: one key=value line whose checksum the consumer verified; the
# closed form is computed here again, independently of the example.
n=100000
want_sum=$(((n - 1) * n * (2 * n - 1) / 6))
for transport in $TRANSPORTS; do
  run pipeline 3 "$transport" -n "$n" -q
  line=$(cat "$tmp/out")
  case "$line" in
  "pipeline items=$n seconds="*" items_per_s="*" checksum=$want_sum expected=$want_sum check=ok")
    if [ "$rc" -eq 0 ] && [ "$(wc -l <"$tmp/out")" -eq 1 ]; then
      echo "ok: pipeline -n $n -q over $transport: $line"
    else
      fail "pipeline -n $n -q over $transport: expected one line and exit status 0, got" \
        "$(wc -l <"$tmp/out") lines and $rc"
    fi
    ;;
  *)
    fail "pipeline -n $n -q over $transport: expected 'pipeline items=$n ... checksum=$want_sum" \
      "expected=$want_sum check=ok' and exit status 0, got '$line' and $rc"
    cat "$tmp/err"
    ;;
  esac
done

# Usage errors exit 2 with a message; a wrong number of ranks is refused with a clear one.
[ "$TRANSPORTS" = mpi ] || for args in "-x" "-n" "-n 12abc" "-n -5"; do
  # shellcheck disable=SC2086 # the arguments are meant to split
  run pipeline 3 shm $args
  if [ "$rc" -eq 2 ] && grep -q "^pipeline: " "$tmp/err"; then
    echo "ok: pipeline $args: exit status 2 and a message"
  else
    fail "pipeline $args: expected exit status 2 and a 'pipeline: ' message, got $rc and:"
    cat "$tmp/err"
  fi
done
[ "$TRANSPORTS" = mpi ] || for ranks in 1 2 4; do
  run pipeline "$ranks" shm
  if [ "$rc" -ne 0 ] && grep -q "needs exactly 3 ranks" "$tmp/err" && [ ! -s "$tmp/out" ]; then
    echo "ok: pipeline on $ranks ranks: refused with exit status $rc"
  else
    fail "pipeline on $ranks ranks: expected a non-zero exit, 'needs exactly 3 ranks' and no" \
      "output, got $rc and:"
    cat "$tmp/out" "$tmp/err"
  fi
done

[ "$failures" -eq 0 ] || {
  echo "$failures example check(s) failed"
  exit 1
}
exit 0
