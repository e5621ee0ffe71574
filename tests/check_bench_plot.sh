#!/bin/sh
# SPDX-License-Identifier: MIT
# make bench-plot's drawing, on benchmark output kept in tests/bench/: bench/run.sh's sweep
# table and the key=value lines of bench/osu and bench/osu_coll, mixed. The tables it draws
# from must hold exactly the figures of those files; where gnuplot is installed, the three
# images must be PNG files. Run by `make check` from the build directory.
srcdir=${srcdir:-.}
failures=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tubo-plotcheck.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
plot="$srcdir/bench/plot.sh"
logs="$srcdir/tests/bench/run_sh.out $srcdir/tests/bench/osu_coll.out"

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

cat >"$tmp/want" <<'EOF'
latency (size, tubo us, Open MPI us):
1 0.1505 0.31
8 0.152 0.3125
64 0.2 ?
1024 0.4 0.65
1048576 120 190
bandwidth (size, tubo GB/s, Open MPI GB/s):
8 0.051 0.024
64 ? 0.300
1024 2.500 1.900
1048576 11.200 8.100
collectives (test, ranks, size, tubo us, Open MPI us):
barrier 2 0 0.800 1.600
allreduce 2 8 0.500 1.000
allreduce 2 1024 1.250 2.500
allreduce 4 8 0.900 3.000
EOF
# shellcheck disable=SC2086 # the two logs are meant to split
sh "$plot" -d $logs >"$tmp/got" 2>"$tmp/err"
if cmp -s "$tmp/want" "$tmp/got"; then
  echo "ok: the tables hold the figures of run.sh's sweep and of the osu and osu_coll lines"
else
  fail "the tables differ from the figures of tests/bench/ (expected, then got):"
  diff "$tmp/want" "$tmp/got"
  cat "$tmp/err"
fi

sh "$plot" >/dev/null 2>"$tmp/err"
rc=$?
[ "$rc" -eq 2 ] && grep -q "Usage: bench/plot.sh" "$tmp/err" ||
  fail "plot.sh without a log: expected exit status 2 and its usage, got $rc"
printf 'nothing to see\n' >"$tmp/empty.log"
sh "$plot" -o "$tmp/none" "$tmp/empty.log" >/dev/null 2>"$tmp/err"
rc=$?
if command -v "${GNUPLOT:-gnuplot}" >/dev/null 2>&1; then
  [ "$rc" -eq 1 ] && grep -q "no benchmark figures" "$tmp/err" ||
    fail "plot.sh on a log without figures: expected exit status 1 and 'no benchmark figures', got $rc"

  # shellcheck disable=SC2086
  sh "$plot" -o "$tmp/img" $logs >"$tmp/out" 2>"$tmp/err" || {
    fail "plot.sh -o DIR failed:"
    cat "$tmp/out" "$tmp/err"
  }
  for png in bench-latency bench-bandwidth bench-collectives; do
    sig=$(od -A n -t x1 -N 8 "$tmp/img/$png.png" 2>/dev/null | tr -d ' \n')
    size=$(wc -c <"$tmp/img/$png.png" 2>/dev/null || echo 0)
    if [ "$sig" = 89504e470d0a1a0a ] && [ "$size" -gt 2000 ]; then
      echo "ok: $png.png is a PNG image of $size bytes"
    else
      fail "$png.png: expected a PNG image, got signature '$sig' and $size bytes"
    fi
  done
else
  echo "SKIP: no gnuplot (Debian: apt-get install gnuplot-nox): the images are not drawn"
fi

[ "$failures" -eq 0 ] || {
  echo "$failures bench-plot check(s) failed"
  exit 1
}
exit 0
