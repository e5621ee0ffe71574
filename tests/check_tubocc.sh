#!/bin/sh
# SPDX-License-Identifier: MIT
# The compiler wrappers before installation: what --showme and its variants print for the
# installed paths tuboinfo reports, that -c drops the link flags, that the MPI flags are
# there when tubo was built with Open MPI; then an example, a program that calls MPI too
# and a C++ program compiled and linked through the wrappers against this build tree
# (TUBO_CC adds the tree's paths), and run under tuborun.
# `make installcheck` builds every example with the installed wrappers. Run by `make check`
# from the build directory ($srcdir names the source tree).
srcdir=${srcdir:-.}
failures=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tubo-cc.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# expect WHAT GOT PATTERN: GOT matches the shell pattern.
expect() {
  # shellcheck disable=SC2254 # the pattern is meant to match
  case $2 in
  $3) echo "ok: $1: '$2'" ;;
  *) fail "$1: expected '$3', got '$2'" ;;
  esac
}

info=$(tools/tuboinfo --parsable) || fail "tuboinfo --parsable failed"
key() { echo "$info" | sed -n "s/^$1://p"; }
incdir=$(key build:includedir)
libdir=$(key build:libdir)
mpi=$(key build:mpi:found)
version=$(key version:full)

wrappers=tools/tubocc
[ -x tools/tubocxx ] && wrappers="$wrappers tools/tubocxx"
for w in $wrappers; do
  name=${w#tools/}
  expect "$name --showme:version" "$("$w" --showme:version)" "$name (tubo) $version"
  compile=$("$w" --showme:compile)
  link=$("$w" --showme:link)
  case $incdir in
  /usr/include) expect "$name --showme:compile" "$compile" "*" ;;
  *) expect "$name --showme:compile" "$compile" "-I$incdir*" ;;
  esac
  expect "$name --showme:link" "$link" "*-ltubo*"
  case $libdir in
  /usr/lib | /usr/lib/*-linux-gnu*) ;;
  *) expect "$name --showme:link" "$link" "-L$libdir -Wl,-rpath,$libdir -ltubo*" ;;
  esac
  expect "$name --showme:libs" "$("$w" --showme:libs)" "tubo*"
  if [ "$mpi" = yes ]; then
    expect "$name --showme:link (built with Open MPI)" "$link" "*-lmpi*"
    expect "$name --showme:compile (built with Open MPI)" "$compile" "*-I*openmpi*"
  else
    expect "$name --showme:link (built without Open MPI)" "$link" "*-ltubo"
  fi
  cmd=$("$w" --showme:command)
  all=$("$w" --showme prog.c -o prog)
  expect "$name --showme prog.c -o prog" "$all" "$cmd $compile prog.c -o prog $link"
  expect "$name --showme -c prog.c" "$("$w" --showme -c prog.c)" "$cmd $compile -c prog.c"
  expect "$name: TUBO_CC/TUBO_CXX names the compiler" \
    "$(TUBO_CC=mycc TUBO_CXX=mycc "$w" --showme:command)" "mycc"
  "$w" --showme:bogus >/dev/null 2>"$tmp/err"
  rc=$?
  [ "$rc" -eq 2 ] && grep -q "unknown option" "$tmp/err" ||
    fail "$name --showme:bogus: expected exit status 2 and 'unknown option', got $rc"
  "$w" --showme:help | grep -q -- "--showme:link" || fail "$name --showme:help lists no --showme:link"
done

# A real build through tubocc, against this tree: the compiler it runs gets the tree's
# headers and shared library first, so that -ltubo finds this build's, not an installed one,
# and this build's compiler and linker flags (a sanitizer's among them). A build without
# the shared library (--disable-shared) leaves this to make installcheck.
libs=$PWD/lib/.libs
cc="${CC:-cc} ${TUBO_TEST_CFLAGS:-} -I$srcdir/lib -I$PWD/lib -L$libs -Wl,-rpath,$libs ${TUBO_TEST_LDFLAGS:-}"
cxx="${CXX:-c++} -I$srcdir/lib -I$PWD/lib -L$libs -Wl,-rpath,$libs ${TUBO_TEST_LDFLAGS:-}"
shared=0
ls "$libs"/libtubo.so* >/dev/null 2>&1 && shared=1
if [ "$shared" -eq 0 ]; then
  echo "(no shared libtubo in this build: make installcheck builds programs through the wrappers)"
else
  TUBO_CC=$cc tools/tubocc "$srcdir/examples/pipe_hello.c" -o "$tmp/pipe_hello" 2>"$tmp/err"
  rc=$?
  if [ "$rc" -ne 0 ]; then
    fail "tubocc examples/pipe_hello.c: expected exit status 0, got $rc:"
    cat "$tmp/err"
  elif tools/tuborun -n 1 "$tmp/pipe_hello" >"$tmp/out" 2>&1 &&
    cmp -s "$tmp/out" "$srcdir/examples/pipe_hello.expected"; then
    echo "ok: tubocc built examples/pipe_hello, and it runs under tuborun as expected"
  else
    fail "pipe_hello built by tubocc: its output differs from examples/pipe_hello.expected:"
    diff "$srcdir/examples/pipe_hello.expected" "$tmp/out"
  fi
fi
# A program that calls MPI itself (MPI_Init, then tubo_init) builds with tubocc alone where
# tubo was built with Open MPI, and runs (under tuborun, MPI as a singleton in each rank).
if [ "$mpi" = yes ] && [ "$shared" -eq 1 ]; then
  TUBO_CC=$cc tools/tubocc "$srcdir/tests/mpi_app.c" -o "$tmp/mpi_app" 2>"$tmp/err"
  rc=$?
  if [ "$rc" -ne 0 ]; then
    fail "tubocc tests/mpi_app.c (calls MPI): expected exit status 0, got $rc:"
    cat "$tmp/err"
  elif out=$(OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
    tools/tuborun -n 2 --timeout 120 "$tmp/mpi_app" tuborun 2>&1) && [ "$out" = "mpi_app: ok" ]; then
    echo "ok: tubocc built a program that calls MPI too, and it runs: $out"
  else
    fail "the MPI program built by tubocc: expected 'mpi_app: ok', got:"
    echo "$out"
  fi
fi
if [ -x tools/tubocxx ] && [ "$shared" -eq 1 ]; then
  cat >"$tmp/hello.cc" <<'EOF'
#include <cstdio>
#include <tubo.h>
int main(int argc, char **argv)
{
  int rank = -1, size = 0;
  if (tubo_init(&argc, &argv) != 0 || tubo_comm_rank(TUBO_COMM_WORLD, &rank) != 0 ||
      tubo_comm_size(TUBO_COMM_WORLD, &size) != 0)
    return 1;
  std::printf("C++ rank %d of %d\n", rank, size);
  return tubo_finalize() == 0 ? 0 : 1;
}
EOF
  TUBO_CXX=$cxx tools/tubocxx "$tmp/hello.cc" -o "$tmp/hello_cxx" 2>"$tmp/err"
  rc=$?
  if [ "$rc" -ne 0 ]; then
    fail "tubocxx hello.cc: expected exit status 0, got $rc:"
    cat "$tmp/err"
  elif tools/tuborun -n 2 "$tmp/hello_cxx" | LC_ALL=C sort >"$tmp/out" &&
    printf 'C++ rank 0 of 2\nC++ rank 1 of 2\n' | cmp -s - "$tmp/out"; then
    echo "ok: tubocxx built a C++ program, and 2 ranks of it run under tuborun"
  else
    fail "the C++ program built by tubocxx: expected 'C++ rank R of 2' from both ranks, got:"
    cat "$tmp/out"
  fi
fi

[ "$failures" -eq 0 ] || {
  echo "$failures wrapper check(s) failed"
  exit 1
}
exit 0
