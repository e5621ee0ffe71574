#!/bin/sh
# SPDX-License-Identifier: MIT
# make installcheck: tubo as a user finds it after `make install`. Every example is built
# twice against the installed tubo, once with pkg-config (found through the installed
# tubo.pc; run with LD_LIBRARY_PATH, as an environment module sets it) and once with the
# installed tubocc (run without it: tubocc's run path finds the library), and each build
# runs under the installed tuborun and must print what the example's seed printed
# (tests/run_examples.sh compares). A C++ program builds with tubocxx where it is
# installed; tuboinfo reports the prefix it was installed in; man finds the pages.
# An environment module loads it. Environment: srcdir, prefix, bindir, libdir, includedir,
# mandir, pkgdatadir (make passes them), CC.
set -u
srcdir=${srcdir:-.}
failures=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tubo-installcheck.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

for f in "$bindir/tuborun" "$bindir/tuboinfo" "$bindir/tubocc" "$includedir/tubo.h" \
  "$includedir/tubo_version.h" "$libdir/pkgconfig/tubo.pc"; do
  [ -e "$f" ] || fail "$f is not installed"
done
[ "$failures" -eq 0 ] || exit 1
version=$("$bindir/tuboinfo" --version | sed 's/.* //')

# The examples, built both ways.
mkdir "$tmp/pkgconfig" "$tmp/tubocc"
PKG_CONFIG_PATH=$libdir/pkgconfig
export PKG_CONFIG_PATH
cflags=$(pkg-config --cflags tubo) && libs=$(pkg-config --libs tubo) ||
  fail "pkg-config finds no tubo in $libdir/pkgconfig"
nbuilt=0
for c in "$srcdir"/examples/*.c; do
  name=$(basename "$c" .c)
  # shellcheck disable=SC2086 # the flags are meant to split
  ${CC:-cc} -I"$srcdir/examples" $cflags "$c" $libs -o "$tmp/pkgconfig/$name" 2>"$tmp/err" ||
    { fail "cc \$(pkg-config --cflags --libs tubo) $name.c failed:"; cat "$tmp/err"; }
  "$bindir/tubocc" -I"$srcdir/examples" "$c" -o "$tmp/tubocc/$name" 2>"$tmp/err" ||
    { fail "tubocc $name.c failed:"; cat "$tmp/err"; }
  nbuilt=$((nbuilt + 1))
done
[ "$nbuilt" -gt 0 ] && echo "ok: $nbuilt examples built with pkg-config and with tubocc"

# Each build links the installed library, not another one.
for build in pkgconfig tubocc; do
  if [ "$build" = pkgconfig ]; then
    lib=$(LD_LIBRARY_PATH=$libdir ldd "$tmp/$build/pipeline" | awk '/libtubo\.so/ { print $3 }')
  else
    lib=$(env -u LD_LIBRARY_PATH ldd "$tmp/$build/pipeline" | awk '/libtubo\.so/ { print $3 }')
  fi
  case $lib in
  "$libdir"/libtubo.so*) echo "ok: the $build build links $lib" ;;
  *) fail "the $build build links '$lib', not the library installed in $libdir" ;;
  esac
done

# Each build runs under the installed tuborun, and prints what the seeds print.
echo "--- the examples built with pkg-config, LD_LIBRARY_PATH=$libdir"
LD_LIBRARY_PATH=$libdir EXAMPLES_DIR=$tmp/pkgconfig EXAMPLES_TUBORUN=$bindir/tuborun \
  srcdir=$srcdir sh "$srcdir/tests/run_examples.sh" || fail "the examples built with pkg-config"
echo "--- the examples built with tubocc"
env -u LD_LIBRARY_PATH EXAMPLES_DIR="$tmp/tubocc" EXAMPLES_TUBORUN="$bindir/tuborun" \
  srcdir="$srcdir" sh "$srcdir/tests/run_examples.sh" || fail "the examples built with tubocc"

# C++, where tubocxx is installed.
if [ -x "$bindir/tubocxx" ]; then
  printf '#include <tubo.h>\n#include <cstdio>\nint main() { std::printf("%%s\\n", tubo_version_string()); }\n' >"$tmp/v.cc"
  if "$bindir/tubocxx" "$tmp/v.cc" -o "$tmp/v" 2>"$tmp/err" && [ "$("$tmp/v")" = "$("$bindir/tubocc" --showme:version | sed 's/.* //')" ]; then
    echo "ok: tubocxx builds a C++ program that prints the installed version"
  else
    fail "tubocxx: a C++ program did not build or print the version:"
    cat "$tmp/err"
  fi
fi

# tuboinfo knows where it was installed.
got=$("$bindir/tuboinfo" --parsable | sed -n 's/^build:prefix://p')
[ "$got" = "$prefix" ] && echo "ok: tuboinfo reports the prefix $prefix" ||
  fail "tuboinfo reports the prefix '$got', not $prefix"

# The environment module: loaded, it puts the installed tubo first on every path a user
# needs (where environment-modules is installed).
module=$pkgdatadir/modulefiles/tubo
if [ ! -f "$module/$version" ]; then
  fail "no environment module at $module/$version"
elif command -v modulecmd >/dev/null 2>&1; then
  (
    code=$(env -i PATH=/usr/bin:/bin HOME="${HOME:-/}" MODULEPATH="$pkgdatadir/modulefiles" \
      modulecmd sh load tubo 2>"$tmp/moderr") || exit 1
    PATH=/usr/bin:/bin
    unset LD_LIBRARY_PATH PKG_CONFIG_PATH MANPATH CPATH LIBRARY_PATH
    eval "$code"
    [ "$(command -v tuboinfo)" = "$bindir/tuboinfo" ] || exit 2
    [ "$(pkg-config --modversion tubo)" = "$version" ] || exit 3
    ${CC:-cc} "$srcdir/examples/pipe_hello.c" -o "$tmp/mod_hello" $(pkg-config --cflags --libs tubo) || exit 4
    tuborun -n 1 "$tmp/mod_hello" >"$tmp/mod_out" && cmp -s "$tmp/mod_out" "$srcdir/examples/pipe_hello.expected" || exit 5
    man -w tubo_send | grep -q "^$mandir/" || exit 6
  )
  rc=$?
  if [ "$rc" -eq 0 ]; then
    echo "ok: module load tubo: tuboinfo, pkg-config, cc and man find the installed tubo"
  else
    fail "module load tubo: step $rc failed (1 load, 2 PATH, 3 pkg-config, 4 cc, 5 run, 6 man):"
    cat "$tmp/moderr"
  fi
else
  echo "(no modulecmd: the environment module is installed but not loaded; Debian: environment-modules)"
fi

# man finds every kind of page in the installed tree.
if command -v man >/dev/null 2>&1; then
  for page in "1 tuborun" "1 tuboinfo" "1 tubocc" "7 tubo" "3 tubo_send" "3 tubo_queue_open"; do
    # shellcheck disable=SC2086
    path=$(man -M "$mandir" -w $page 2>/dev/null)
    case $path in
    "$mandir"/*) echo "ok: man $page finds $path" ;;
    *) fail "man -M $mandir $page: expected a page under $mandir, got '$path'" ;;
    esac
  done
fi

[ "$failures" -eq 0 ] || {
  echo "$failures installcheck(s) failed"
  exit 1
}
echo "installcheck: all passed"
exit 0
