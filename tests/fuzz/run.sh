#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets with clang (AddressSanitizer and UndefinedBehaviorSanitizer
# on) from a configured source tree, and runs each for SECONDS (default 60), starting from
# the corpus in tests/fuzz/corpus/NAME when there is one. Exits non-zero if a target
# crashed or an input ran longer than FUZZ_INPUT_TIMEOUT seconds (default 10: a hang fails in
# seconds instead of libFuzzer's 20 minutes); the input is left in the build folder and printed.
# The targets run side by side, one per processor (FUZZ_JOBS), each for SECONDS.
# Usage: tests/fuzz/run.sh [SECONDS]   (or: make fuzz)
set -eu
seconds=${1:-60}
input_timeout=${FUZZ_INPUT_TIMEOUT:-10}
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${FUZZ_BUILD:-$top/tests/fuzz/build}
CC=${CLANG:-clang}
command -v "$CC" >/dev/null || { echo "fuzz: $CC not found (Debian: apt-get install clang)" >&2; exit 1; }
[ -f "$top/config.h" ] || { echo "fuzz: run ./configure first" >&2; exit 1; }
mkdir -p "$out"
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
incs="-I$top -I$top/lib -I$top/tools $(pkg-config --cflags hwloc)"
libs="$(pkg-config --libs hwloc)"
# The library (without MPI: the fuzzers feed the engine themselves) and the launcher's
# parser, with the fuzzers' instrumentation.
# Every folder under lib/ is taken, so that a new one needs no change here, as a build
# without MPI takes them: lib/mpi/ but mpi_none.c (which stands in for the MPI part), and
# no file that includes MPI's header, itself or through the MPI transport's.
lib_srcs=$(cd "$top" && grep -L -e '<mpi.h>' -e '"mpi/mpi_transport.h"' lib/*.c lib/*/*.c |
  grep -v '^lib/mpi/' ; echo lib/mpi/mpi_none.c)
# FUZZ_JOBS compilers, then fuzzers, at once (default: one per processor); each fuzzer runs
# its SECONDS on a processor of its own.
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
objs=""
for src in $lib_srcs tools/tuborun_args.c tools/placement.c; do
  objs="$objs $out/$(echo "$src" | tr / _).o"
done
export CC flags incs top out
# shellcheck disable=SC2016,SC2086 # expanded by the shell xargs starts; one word a file
printf '%s\n' $lib_srcs tools/tuborun_args.c tools/placement.c | xargs -P "$jobs" -n 1 sh -c \
  '$CC $flags -fsanitize=fuzzer-no-link -c $incs -DTUBO_BUILDING_LIBRARY "$top/$1" \
     -o "$out/$(echo "$1" | tr / _).o"' sh
names="frames args heap"
for name in $names; do
  # shellcheck disable=SC2086
  $CC $flags $incs "$top/tests/fuzz/fuzz_$name.c" $objs $libs -o "$out/fuzz_$name"
  corpus="$out/corpus_$name"
  mkdir -p "$corpus"
  [ -d "$top/tests/fuzz/corpus/$name" ] && cp "$top/tests/fuzz/corpus/$name"/* "$corpus"/ 2>/dev/null || true
done
# fuzz NAME: runs fuzz_NAME; its output (fuzz_args prints tuborun's usage for each bad
# command line) goes to fuzz_NAME.log, its status to fuzz_NAME.status.
fuzz() {
  rc=0
  (cd "$out" && ./fuzz_"$1" -max_total_time="$seconds" -max_len=4096 -timeout="$input_timeout" \
    -print_final_stats=1 "$out/corpus_$1" >"$out/fuzz_$1.log" 2>&1) || rc=$?
  echo $rc >"$out/fuzz_$1.status"
}
status=0
# shellcheck disable=SC2086 # one word a name
set -- $names
while [ $# -gt 0 ]; do
  batch='' n=0
  while [ $# -gt 0 ] && [ $n -lt "$jobs" ]; do
    batch="$batch $1" n=$((n + 1))
    rm -f "$out/fuzz_$1.status"
    shift
  done
  echo "fuzz:$batch for $seconds s"
  for name in $batch; do
    fuzz "$name" &
  done
  wait
  for name in $batch; do
    if [ "$(cat "$out/fuzz_$name.status")" != 0 ]; then
      echo "fuzz: fuzz_$name FAILED:" >&2
      tail -n 40 "$out/fuzz_$name.log" >&2
      status=1
    else
      echo "fuzz: fuzz_$name: $(grep -E "^Done" "$out/fuzz_$name.log" | tail -n 1)"
    fi
  done
done
exit $status
