#!/bin/sh
# SPDX-License-Identifier: MIT
# A Value is not an Array to the compiler: tests/types_distinct.c passes handles of one
# kind where another is expected, and each such case must fail to compile with an
# incompatible pointer type, while the control case (each handle in its place) compiles.
# Passing incompatible pointers is an error in C (a constraint violation); compilers only
# warn by default, so the check asks for that warning as an error. Run by `make check`
# with TD_CC and TD_CPPFLAGS from the Makefile.
set -u
cc=${TD_CC:-cc}
src="${srcdir:-.}/tests/types_distinct.c"
err=$(mktemp)
trap 'rm -f "$err"' EXIT
compile() {
  # shellcheck disable=SC2086 # TD_CPPFLAGS holds several flags.
  $cc ${TD_CPPFLAGS:-} -std=c11 -Werror=incompatible-pointer-types -fsyntax-only \
    -DTD_CASE="$1" "$src" >"$err" 2>&1
}
fail=0
if ! compile 0; then
  echo "FAIL: the control case (each handle where its own kind goes) does not compile:"
  cat "$err"
  exit 1
fi
echo "ok: the control case compiles"
for c in 1 2 3 4 5; do
  what=$(sed -n "s/^#elif TD_CASE == $c \/\* \(.*\) \*\/\$/\1/p" "$src")
  if compile "$c"; then
    echo "FAIL: case $c ($what): expected a compile error, it compiled"
    fail=1
  elif ! grep -q 'incompatible pointer type' "$err"; then
    echo "FAIL: case $c ($what): expected an incompatible pointer type error, got:"
    cat "$err"
    fail=1
  else
    echo "ok: case $c ($what) is refused"
  fi
done
exit $fail
