#!/bin/sh
# SPDX-License-Identifier: MIT
# Every TUBO_* environment variable the library or tuborun reads is listed in
# doc/settings.md. The names are the string literals "TUBO_..." of lib/ and tools/, less
# the error codes' names (tubo.h's error list and TUBO_OK); each must appear in the page
# as `NAME`.
set -eu
top=${srcdir:-.}
codes=" TUBO_OK $(sed -n 's/^ *X(\([A-Z0-9_]*\),.*/TUBO_\1/p' "$top/lib/tubo.h" | tr '\n' ' ')"
names=$(grep -rhoE '"TUBO_[A-Z0-9_]+"' "$top/lib" "$top/tools" --include='*.c' --include='*.h' |
  tr -d '"' | sort -u)
checked=0
missing=""
for n in $names; do
  case "$codes" in *" $n "*) continue ;; esac
  checked=$((checked + 1))
  grep -q "\`$n\`" "$top/doc/settings.md" || missing="$missing $n"
done
# The list cannot be empty: a search that finds nothing proves nothing.
if [ "$checked" -lt 10 ]; then
  echo "settings_doc: found only $checked TUBO_* names in lib/ and tools/: the search is broken" >&2
  exit 1
fi
if [ -n "$missing" ]; then
  echo "settings_doc: read in lib/ or tools/ but not listed in doc/settings.md:$missing" >&2
  exit 1
fi
echo "settings_doc: all $checked TUBO_* variables read in lib/ and tools/ are in doc/settings.md"
