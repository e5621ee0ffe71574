#!/bin/sh
# SPDX-License-Identifier: MIT
# The man pages: one section 3 page for every public function, found two ways that do not
# use the generator (the declarations in tubo.h, the symbols libtubo exports) and no page
# for anything else; tubo(7) lists them all; every page of every section renders with man
# (or groff) without a single warning at 80 columns, and its NAME line is one whatis can
# read; every option a tool's --help names is in its page. Run by `make check` from the
# build directory ($srcdir names the source tree).
srcdir=${srcdir:-.}
failures=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tubo-man.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# same WHAT A B: two lists (files of one name a line) hold the same names.
same() {
  if [ -s "$2" ] && cmp -s "$2" "$3"; then
    echo "ok: $1 ($(wc -l <"$2") names)"
  else
    fail "$1: the lists differ (< first, > second):"
    diff "$2" "$3"
  fi
}

# The functions tubo.h declares public, read from the declarations alone.
tr '\n' ' ' <"$srcdir/lib/tubo.h" | grep -o 'TUBO_EXPORT [^;#]*;' | grep -v 'TUBO_EXPORT extern' |
  sed 's/(.*//; s/.*[ *]//' | LC_ALL=C sort >"$tmp/header"
# The functions libtubo exports.
so=$(ls lib/.libs/libtubo.so.* 2>/dev/null | head -n 1)
if [ -n "$so" ] && command -v nm >/dev/null 2>&1; then
  nm -D --defined-only "$so" | awk '$2 == "T" && $3 ~ /^tubo_/ { print $3 }' |
    LC_ALL=C sort >"$tmp/exported"
  same "libtubo exports the functions tubo.h declares" "$tmp/header" "$tmp/exported"
else
  echo "(no shared libtubo or no nm: the exported symbols are not compared)"
fi
# The pages made.
ls doc/man3 2>/dev/null | sed -n 's/\.3$//p' | LC_ALL=C sort >"$tmp/pages"
same "a section 3 page for each function of tubo.h, and for nothing else" "$tmp/header" "$tmp/pages"
# tubo(7) lists every one.
sed -n 's/^\.BR \(tubo_[a-z_]*\) (3)$/\1/p' doc/tubo.7 | LC_ALL=C sort -u >"$tmp/overview"
same "tubo(7) lists every function" "$tmp/header" "$tmp/overview"

# Each page lists its errors with the texts tubo_strerror gives: spot-check one.
if grep -q '^\.B TUBO_ETRUNC$' doc/man3/tubo_recv.3 &&
  grep -A1 '^\.B TUBO_ETRUNC$' doc/man3/tubo_recv.3 | grep -q 'longer than the receive buffer'; then
  echo "ok: tubo_recv(3) lists TUBO_ETRUNC with its text"
else
  fail "tubo_recv(3): expected TUBO_ETRUNC in ERRORS with 'longer than the receive buffer'"
fi

# Every page, laid out as installed (so that .so links resolve), rendered at 80 columns.
mkdir -p "$tmp/man/man1" "$tmp/man/man3" "$tmp/man/man7"
cp doc/tuborun.1 doc/tuboinfo.1 doc/tubocc.1 "$tmp/man/man1/" || fail "a section 1 page is missing"
[ -f doc/tubocxx.1 ] && cp doc/tubocxx.1 "$tmp/man/man1/"
cp doc/man3/*.3 "$tmp/man/man3/"
cp doc/tubo.7 "$tmp/man/man7/"
if command -v man >/dev/null 2>&1; then
  render() { (cd "$tmp/man" && LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings=w -E UTF-8 -l "$1"); }
  renderer="man --warnings=w"
elif command -v groff >/dev/null 2>&1; then
  render() { (cd "$tmp/man" && groff -ww -man -Tutf8 -rLL=80n "$1"); }
  renderer="groff -ww"
else
  echo "SKIP: neither man nor groff is installed (Debian: apt-get install man-db)"
  exit 77
fi
# The build filled in every page's version.
if grep -l -e '%PACKAGE_VERSION%' -e '@PACKAGE_VERSION@' "$tmp"/man/man*/* >"$tmp/unfilled"; then
  fail "pages with their version left unfilled: $(sed 's|.*/man/||' "$tmp/unfilled" | tr '\n' ' ')"
fi
# The pages render two at a time, each lane taking every other page, so that the check
# uses both processors of a machine where little else runs (it finished last of the tests
# of CI's distcheck-quick); what fails is said in the pages' order.
check_pages() {
  n=0
  for page in "$tmp"/man/man*/*.[137]; do
    n=$((n + 1))
    [ $((n % 2)) = "$1" ] || continue
    rel=${page#"$tmp/man/"}
    render "$rel" >"$tmp/out.$n" 2>"$tmp/err.$n"
    rc=$?
    if [ "$rc" -ne 0 ] || [ -s "$tmp/err.$n" ] || [ ! -s "$tmp/out.$n" ]; then
      echo "$rel: $renderer exited with $rc, or warned, or printed nothing:" >"$tmp/render.$n"
      cat "$tmp/err.$n" >>"$tmp/render.$n"
    fi
    if command -v lexgrog >/dev/null 2>&1 && ! lexgrog "$page" >/dev/null 2>&1; then
      echo "$rel: whatis cannot read its NAME section (lexgrog)" >"$tmp/lexgrog.$n"
    fi
    rm -f "$tmp/out.$n" "$tmp/err.$n"
  done
}
check_pages 0 &
check_pages 1
wait
npages=0
for page in "$tmp"/man/man*/*.[137]; do
  npages=$((npages + 1))
  for what in render lexgrog; do
    [ -f "$tmp/$what.$npages" ] && fail "$(cat "$tmp/$what.$npages")"
  done
done
[ "$npages" -gt 0 ] && echo "ok: $npages pages render with $renderer at 80 columns, without a warning"

# Every option a tool's --help lists is in its page.
for tool in tuborun tuboinfo; do
  "tools/$tool" --help | sed -n 's/^  \(-[^ ]*\).*/\1/p; s/^  -., \(--[^ ]*\).*/\1/p' |
    tr ',' '\n' | sed -e 's/\[.*//' -e 's/=.*//' -e 's/^ *//' | grep -- '^-' | sort -u >"$tmp/options"
  [ -s "$tmp/options" ] || fail "tools/$tool --help lists no option"
  sed 's/\\-/-/g' "$tmp/man/man1/$tool.1" >"$tmp/page"
  while read -r opt; do
    grep -q -F -- "$opt" "$tmp/page" || fail "$tool --help lists $opt, which $tool(1) lacks"
  done <"$tmp/options"
  echo "ok: $tool(1) names the $(wc -l <"$tmp/options") options of $tool --help"
done

[ "$failures" -eq 0 ] || {
  echo "$failures man page check(s) failed"
  exit 1
}
exit 0
