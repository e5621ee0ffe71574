#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs every example under tuborun, over each transport, and compares its output byte for
# byte with examples/NAME.expected; then the checks that only one example has.
# Run by `make check` from the build directory ($srcdir names the source tree).
#
# To add an example: list it in EXAMPLES as NAME:RANKS and commit examples/NAME.expected.
EXAMPLES="pipeline:3"
TRANSPORTS="shm pipe"

srcdir=${srcdir:-.}
tuborun=tools/tuborun
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
  "$tuborun" -n "$run_ranks" --transport "$run_transport" --timeout "$timeout" \
    "examples/$run_name" "$@" \
    >"$tmp/out" 2>"$tmp/err"
  rc=$?
}

for entry in $EXAMPLES; do
  name=${entry%%:*}
  ranks=${entry#*:}
  expected="$srcdir/examples/$name.expected"
  if [ ! -f "$expected" ]; then
    fail "$name: no expected output $expected"
    continue
  fi
  for transport in $TRANSPORTS; do
    run "$name" "$ranks" "$transport"
    if [ "$rc" -ne 0 ]; then
      fail "$name over $transport: expected exit status 0, got $rc; stderr:"
      cat "$tmp/err"
    elif ! cmp -s "$expected" "$tmp/out"; then
      fail "$name over $transport: output differs from $expected (expected, then got):"
      diff "$expected" "$tmp/out"
    else
      echo "ok: $name over $transport matches $expected"
    fi
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
for args in "-x" "-n" "-n 12abc" "-n -5"; do
  # shellcheck disable=SC2086 # the arguments are meant to split
  run pipeline 3 shm $args
  if [ "$rc" -eq 2 ] && grep -q "^pipeline: " "$tmp/err"; then
    echo "ok: pipeline $args: exit status 2 and a message"
  else
    fail "pipeline $args: expected exit status 2 and a 'pipeline: ' message, got $rc and:"
    cat "$tmp/err"
  fi
done
for ranks in 1 2 4; do
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
