#!/bin/sh
# SPDX-License-Identifier: MIT
# tuboinfo: its report on each machine of tests/topologies/ against the golden outputs in
# tests/tuboinfo/ (what depends on the build, not the machine, is left out of them); the
# sources of settings; its placement against tuborun's own; the settings the library reads
# against those it and doc/settings.md list; its options. Run by `make check` from the
# build directory ($srcdir names the source tree).
#
# After a change that moves the figures on purpose (a new default, a new key), rewrite the
# golden files and review the difference: make regen-golden && git diff tests/tuboinfo
srcdir=${srcdir:-.}
tuboinfo=$PWD/tools/tuboinfo
tuborun=$PWD/tools/tuborun
topodir=$srcdir/tests/topologies
golden=$srcdir/tests/tuboinfo
failures=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tubo-info.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# info ARGS...: tuboinfo in an environment of no TUBO_* or HWLOC_* variable, from the
# topologies' directory (so that reports name the file alone); output in $tmp/out, $tmp/err.
info() {
  (cd "$topodir" && env -i PATH="$PATH" LC_ALL=C "$tuboinfo" "$@") >"$tmp/out" 2>"$tmp/err"
  rc=$?
}

# Build lines (version, configure, compiler, hwloc, Open MPI) describe this build, not the
# machine: the golden files leave them out.
machine_only() {
  grep -v -E '^(package|version|build|transport|protocol:mpi):' "$1"
}

# compare NAME WHAT: $tmp/got against tests/tuboinfo/NAME (or rewrites it).
compare() {
  if [ -n "$TUBOINFO_REGENERATE" ]; then
    cp "$tmp/got" "$golden/$1" && echo "rewrote tests/tuboinfo/$1"
  elif cmp -s "$golden/$1" "$tmp/got"; then
    echo "ok: $2 matches tests/tuboinfo/$1"
  else
    fail "$2 differs from tests/tuboinfo/$1 (expected, then got):"
    diff "$golden/$1" "$tmp/got"
  fi
}

# Every machine, the job tuborun starts by default (one rank per core), everything.
for xml in "$topodir"/*.xml; do
  name=$(basename "$xml" .xml)
  info --parsable --all --topology "$name.xml"
  if [ "$rc" -ne 0 ]; then
    fail "tuboinfo --parsable --all --topology $name.xml: expected exit status 0, got $rc:"
    cat "$tmp/err"
    continue
  fi
  machine_only "$tmp/out" >"$tmp/got"
  compare "$name.parsable" "tuboinfo --parsable --all --topology $name.xml"
done

# The same report for people, without its first section (the build): a job of 6 ranks
# bound to cores on 4 packages, and the default job of a large machine, whose ranks are
# listed up to the eighth.
info -n 6 --bind-to core --topology 16em64t-4s2c2t.xml
sed '1,/^$/d' "$tmp/out" | grep -v '^  mpi (other nodes)' >"$tmp/got"
compare 16em64t-4s2c2t-n6.human "tuboinfo -n 6 --bind-to core (for people)"
info --topology 192em64t-24n8c2t.xml
sed '1,/^$/d' "$tmp/out" | grep -v '^  mpi (other nodes)' >"$tmp/got"
compare 192em64t-24n8c2t.human "tuboinfo on 192 hardware threads (for people)"

# Where each setting comes from: the environment, ignored when not a number, clamped to its
# bounds; and what they change in the protocol.
(cd "$topodir" && env -i PATH="$PATH" TUBO_SPIN_NS=1234 TUBO_SLEEP_MS=5000 TUBO_SHM_SLOTS=junk \
  TUBO_SHM_DATA_BYTES=64k TUBO_TRANSPORT=pipe "$tuboinfo" --parsable -n 4 \
  --topology 16em64t-4s2c2t.xml) >"$tmp/out" 2>"$tmp/err"
for want in "setting:TUBO_SPIN_NS:value:1234" "setting:TUBO_SPIN_NS:source:environment" \
  "setting:TUBO_SLEEP_MS:value:1000" "setting:TUBO_SLEEP_MS:source:environment, clamped to its bounds" \
  "setting:TUBO_SHM_SLOTS:value:unset" "setting:TUBO_SHM_SLOTS:environment:junk" \
  "setting:TUBO_SHM_SLOTS:source:environment, ignored: not a number" \
  "setting:TUBO_TRANSPORT:value:pipe" "setting:TUBO_TRANSPORT:source:environment" \
  "setting:TUBO_SHM_DATA_BYTES:value:65536" \
  "protocol:transport:pipe" "protocol:wait:spin_ns:1234" "protocol:wait:sleep_ms:1000" \
  "protocol:pipe:frame_max:4080"; do
  if grep -q -x -F -- "$want" "$tmp/out"; then
    echo "ok: with settings in the environment: $want"
  else
    fail "with settings in the environment: expected the line '$want', got:"
    cat "$tmp/out" "$tmp/err"
  fi
done
if grep -q '^protocol:shm:' "$tmp/out"; then
  fail "over the pipe transport: expected no shm thresholds without --all, got:"
  grep '^protocol:shm:' "$tmp/out"
fi

# The shared-memory collectives' tree groups ranks by L3 first: on the machines whose L3
# is per package (16em64t-4s2c2t: 4 and 4; 192em64t-24n8c2t: 24 and 24), two ranks must
# be in one group exactly when tuborun puts them on one package.
for job in "16em64t-4s2c2t.xml -n 8 --bind-to core" "16em64t-4s2c2t.xml -n 6 --bind-to core" \
  "192em64t-24n8c2t.xml -n 48"; do
  # shellcheck disable=SC2086 # the arguments are meant to split
  info --parsable --all --topology $job
  got=$(awk -F: '$1 == "place" && $2 == "rank" && $4 == "where" {
      split($5, w, "["); sub(/\].*/, "", w[2]); pkg[$3] = w[2]; n = $3 + 1 }
    $0 ~ /^protocol:coll:tree_by:/ { by = $4 }
    $0 ~ /^protocol:coll:tree:/ { ng = split($4, gs, "|")
      for (g = 1; g <= ng; g++) { k = split(gs[g], rs, ","); for (i = 1; i <= k; i++) grp[rs[i]] = g } }
    END { bad = (by != "l3")
      for (x = 0; x < n; x++) for (y = 0; y < n; y++)
        if ((grp[x] == grp[y]) != (pkg[x] == pkg[y])) bad = 1
      print (n > 1 && !bad) ? "ok" : "bad" }' "$tmp/out")
  if [ "$got" = ok ]; then
    echo "ok: tuboinfo --topology $job: the collectives' tree groups the ranks by L3 (package)"
  else
    fail "tuboinfo --topology $job: expected tree groups by l3, one per package, got:"
    grep -E '^(place:rank:[0-9]+:where|protocol:coll)' "$tmp/out"
  fi
done

# What tuboinfo says tuborun -n N would do is what tuborun --dry-run does.
for args in "-n 6" "-n 3 --map-by numa" "-n 40 --bind-to hwthread" "-n 4 --map-by hwthread"; do
  for xml in 16em64t-4s2c2t-cpuset.xml 64intel64-fakeKNL-SNC4-hybrid.xml; do
    # shellcheck disable=SC2086 # the arguments are meant to split
    info --parsable $args --topology "$xml"
    awk -F: '$1 == "place" && $2 == "rank" && $4 == "where" { w = substr($0, length($1 $2 $3 $4) + 5) }
      $1 == "place" && $2 == "rank" && $4 == "cpus" {
        print $3, (w == "unbound" ? "not bound" : w " " substr($0, length($1 $2 $3 $4) + 5)) }' \
      "$tmp/out" >"$tmp/info"
    # shellcheck disable=SC2086
    (cd "$topodir" && env -i PATH="$PATH" "$tuborun" --dry-run $args --topology "$xml") \
      >/dev/null 2>"$tmp/run"
    sed -n -e 's/.* Rank \([0-9]*\) bound to \(.*\) (cpus \([^;]*\);.*/\1 \2 \3/p' \
      -e 's/.* Rank \([0-9]*\) is not bound/\1 not bound/p' "$tmp/run" >"$tmp/tuborun"
    if [ "$rc" -eq 0 ] && [ -s "$tmp/info" ] && cmp -s "$tmp/info" "$tmp/tuborun"; then
      echo "ok: tuboinfo $args --topology $xml places the ranks as tuborun --dry-run does"
    else
      fail "tuboinfo $args --topology $xml: expected tuborun's placement (tuborun, then tuboinfo):"
      diff "$tmp/tuborun" "$tmp/info"
      cat "$tmp/err"
    fi
  done
done

# Every setting the library reads is in tuboinfo's report, doc/settings.md and tubo(7), and
# tuboinfo lists no setting the library does not read.
sed -n -e 's/.*tubo__setting_u64("\(TUBO_[A-Z0-9_]*\)".*/\1/p' \
  -e 's/.*getenv("\(TUBO_[A-Z0-9_]*\)").*/\1/p' $(find "$srcdir/lib" -name '*.c') |
  sort -u >"$tmp/read"
echo TUBO_TRANSPORT >>"$tmp/read"
sort -u -o "$tmp/read" "$tmp/read"
info --parsable --topology 16em64t-4s2c2t.xml
sed -n 's/^setting:\([A-Z0-9_]*\):value:.*/\1/p' "$tmp/out" | sort -u >"$tmp/listed"
if [ "$(wc -l <"$tmp/read")" -gt 5 ] && cmp -s "$tmp/read" "$tmp/listed"; then
  echo "ok: tuboinfo lists the $(wc -l <"$tmp/read") settings the library reads"
else
  fail "tuboinfo's settings differ from those lib/ reads (read, then listed):"
  diff "$tmp/read" "$tmp/listed"
fi
while read -r name; do
  grep -q "^| \`$name\` |" "$srcdir/doc/settings.md" || fail "doc/settings.md has no row for $name"
  grep -q "$name" "$srcdir/doc/tubo.7.in" || fail "tubo(7) (doc/tubo.7.in) does not name $name"
done <"$tmp/read"

# The options.
info --help
if [ "$rc" -eq 0 ] && grep -q -- '--parsable' "$tmp/out" && grep -q -- '--all' "$tmp/out"; then
  echo "ok: tuboinfo --help"
else
  fail "tuboinfo --help: expected exit status 0 and --parsable, --all in the text, got $rc"
fi
info --version
version=$(sed -n 's/^tuboinfo (tubo) //p' "$tmp/out")
info --parsable --topology 16em64t-4s2c2t.xml
if [ -n "$version" ] && grep -q -x "version:full:$version" "$tmp/out" &&
  grep -q -x "package:tubo $version" "$tmp/out"; then
  echo "ok: tuboinfo --version and --parsable agree on $version"
else
  fail "tuboinfo --version said '$version'; --parsable said:"
  grep -E '^(package|version)' "$tmp/out"
fi
for bad in "--bogus" "-n 0" "-n" "--map-by nowhere" "--bind-to slot" "extra"; do
  # shellcheck disable=SC2086
  info $bad
  if [ "$rc" -eq 2 ] && grep -q "^tuboinfo: " "$tmp/err" && [ ! -s "$tmp/out" ]; then
    echo "ok: tuboinfo $bad: exit status 2 and a message"
  else
    fail "tuboinfo $bad: expected exit status 2, a 'tuboinfo: ' message and no report, got $rc"
    cat "$tmp/err"
  fi
done
info --topology /nonexistent.xml
[ "$rc" -eq 2 ] && grep -q "cannot load the topology" "$tmp/err" ||
  fail "tuboinfo --topology /nonexistent.xml: expected exit status 2 and 'cannot load', got $rc"
info --map-by l3cache --topology 16amd64-4distances.xml
[ "$rc" -eq 2 ] && grep -q "has no L3 cache" "$tmp/err" ||
  fail "tuboinfo --map-by l3cache on a machine without L3: expected exit status 2, got $rc"

# This machine, as it is: a report that has every section.
"$tuboinfo" >"$tmp/out" 2>"$tmp/err"
rc=$?
for section in "^tubo " "^Machine (hwloc): this machine" "^tuborun -n " "^Settings" "^Protocol"; do
  grep -q "$section" "$tmp/out" || fail "tuboinfo on this machine: no section '$section' (status $rc)"
done

[ "$failures" -eq 0 ] || {
  echo "$failures tuboinfo check(s) failed"
  exit 1
}
exit 0
