#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the source tree again, in a scratch copy, with AddressSanitizer (leaks included)
# and UndefinedBehaviorSanitizer, and runs the test suite there (all but the tests that
# only read files: SANITIZE_SKIP in tests/Makefile.inc): any report fails the run. This
# build is also the one without MPI (--without-mpi), so that CI builds and tests both: the
# plain build has Open MPI and runs the mpirun pass. tubo uses no threads (its processes
# share memory, which ThreadSanitizer cannot follow), so there is no ThreadSanitizer run.
# Usage: tests/sanitize.sh (or make check-asan).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${SANITIZE_BUILD:-$top/tests/sanitize-build}
rm -rf "$out"
mkdir -p "$out"
if [ -d "$top/.git" ] || [ -f "$top/.git" ]; then
  (cd "$top" && git ls-files -z | tar --null -T - -cf -) | (cd "$out" && tar -xf -)
else
  (cd "$top" && tar --exclude=./tests/sanitize-build -cf - .) | (cd "$out" && tar -xf -)
  (cd "$out" && { make distclean >/dev/null 2>&1 || true; })
fi
cd "$out"
autoreconf -fi >/dev/null 2>&1
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
./configure -q --disable-shared --without-mpi CFLAGS="-g -O1 $san" LDFLAGS="$san" >/dev/null
make -s -j2
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
# Hundreds of sanitized ranks would take gigabytes of shadow memory: the scale suite runs one
# job of 32 ranks here (make check runs 128 and 256).
export TUBO_SCALE_RANKS="${TUBO_SCALE_RANKS:-32}"
# A million keys in one dict (tests/check_dict.c) made check_dict the slowest suite here
# (107 s): sanitized, its one-process tests took 60 s of processor time with a million,
# 12 s with 200000. Those still grow the table from 1024 slots past its sparse sizes (to
# 2^16) and through three of its dense resizes, to 2^19 slots (lib/patterns/dict_table.c);
# make check inserts the million.
export TUBO_DICT_KEYS="${TUBO_DICT_KEYS:-200000}"
# The variants that differ from a sanitized one only by the size of the rings (shm-copy,
# shm-rndv-1k) run the same code as their small-ring siblings, which wrap more often: only
# those run here (make check runs all).
export TH_SKIP_VARIANTS="${TH_SKIP_VARIANTS-shm-copy shm-rndv-1k}"
# Every test but those that only read files (SANITIZE_SKIP in tests/Makefile.inc).
tests=$(make -s --no-print-directory print-sanitize-tests | tr '\n' ' ')
if ! make -j2 check TESTS="$tests"; then
  for log in tests/*.log; do
    grep -l -E "ERROR: (Address|Leak)Sanitizer|runtime error|FAIL" "$log" 2>/dev/null
  done | head -n 5 | while read -r log; do
    echo "== $log"
    tail -n 60 "$log"
  done
  exit 1
fi
echo "sanitize: the test suite is clean under AddressSanitizer and UndefinedBehaviorSanitizer"
