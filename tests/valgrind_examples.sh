#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs every example under valgrind's memcheck (every process of it: the examples that
# fork run with --trace-children) and fails on any error or definite leak. Run from a
# built tree; the examples run side by side, one per processor (VALGRIND_JOBS). Usage:
# tests/valgrind_examples.sh (or make check-valgrind).
set -u
srcdir=${srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
command -v valgrind >/dev/null || { echo "valgrind not found (Debian: apt-get install valgrind)" >&2; exit 1; }
vg="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
--trace-children=yes --child-silent-after-fork=no"
# The heap of dicts, lists and channels made by _create is address space (16 GiB by
# default); memcheck's leak scan reads all of it, page by page. A small heap keeps the scan
# to what the examples use.
TUBO_PROCESS_HEAP_BYTES=${TUBO_PROCESS_HEAP_BYTES:-64m}
export TUBO_PROCESS_HEAP_BYTES
failures=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tubo-vg.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
# The list of examples and how they run is run_examples.sh's.
list=$(sed -n '/^EXAMPLES="/,/"$/p' "$srcdir/tests/run_examples.sh" | tr -d '"' | sed 's/^EXAMPLES=//')
# VALGRIND_JOBS examples at once (default: one per processor), each its own files in $tmp.
jobs=${VALGRIND_JOBS:-$(nproc 2>/dev/null || echo 1)}
seen=" " todo=
for entry in $list; do
  name=${entry%%:*}
  rest=${entry#*:}
  ranks=${rest%%:*}
  # An example listed on several rank counts runs once here, on the first.
  case "$seen" in *" $name "*) continue ;; esac
  seen="$seen$name "
  todo="$todo $name $ranks"
done
export vg tmp
# shellcheck disable=SC2016,SC2086 # expanded by the shell xargs starts; NAME RANKS pairs
printf '%s\n' $todo | xargs -P "$jobs" -n 2 sh -c '
  if [ "$2" -eq 0 ]; then
    timeout 300 $vg "examples/$1" >"$tmp/$1.out" 2>"$tmp/$1.err"
  else
    timeout 300 tools/tuborun -n "$2" $vg "examples/$1" >"$tmp/$1.out" 2>"$tmp/$1.err"
  fi
  echo $? >"$tmp/$1.rc"' sh
for name in $seen; do
  rc=$(cat "$tmp/$name.rc" 2>/dev/null || echo "none: it did not run")
  if [ "$rc" != 0 ] || grep -q "==[0-9]*== [A-Z]" "$tmp/$name.err"; then
    echo "FAIL: $name under valgrind (status $rc):"
    grep -v "oversubscribed" "$tmp/$name.err" | head -n 40
    failures=$((failures + 1))
  else
    echo "ok: $name is clean under valgrind"
  fi
done
[ $failures -eq 0 ]
