#!/bin/sh
# SPDX-License-Identifier: MIT
# A program links against the static libtubo.a with nothing but what tubo.pc's
# Libs.private names (hwloc; what the C library needs apart: dlopen for the MPI module),
# and runs, as `pkg-config --static --libs tubo` would link it. Under mpirun such a program
# loads the MPI module like any other (doc/mpi.md).
set -u
lib=lib/.libs/libtubo.a
if [ ! -f "$lib" ] || [ ! -f tubo.pc ]; then
  echo "SKIP: no static libtubo.a (configured with --disable-static)"
  exit 77
fi
private=$(sed -n 's/^Libs\.private: *//p' tubo.pc)
# MPI lives in the MPI module (tubo_mpi.so), which libtubo loads only in a process that
# joins an MPI job: neither libtubo nor a program linked with it links MPI's libraries.
case " $private " in *" -lmpi "*)
  echo "FAIL: tubo.pc's Libs.private ($private) names -lmpi: libtubo links no MPI (its module does)"
  exit 1 ;;
esac
dir=$(mktemp -d "${TMPDIR:-/tmp}/tubo-pc.XXXXXX") || exit 99
trap 'rm -rf "$dir"' EXIT
# shellcheck disable=SC2086 # the flags are meant to split
if ! $TD_CC $TD_CPPFLAGS ${TD_CFLAGS:-} ${TD_LDFLAGS:-} -o "$dir/pi" "${srcdir:-.}/examples/pi.c" \
  "$lib" $private \
  >"$dir/log" 2>&1; then
  echo "FAIL: linking examples/pi.c with $lib and Libs.private ($private):"
  cat "$dir/log"
  exit 1
fi
if ! out=$("$dir/pi" -n 1000 2>&1); then
  echo "FAIL: the statically linked examples/pi did not run: $out"
  exit 1
fi
echo "ok: examples/pi linked with libtubo.a and Libs.private ($private): $out"
