#!/bin/sh
# SPDX-License-Identifier: MIT
# Golden-output tests of tuborun's placement: `tuborun --dry-run --topology T.xml OPTIONS`
# for each case of tests/topologies/dry-run.cases on the real machines' topologies of
# tests/topologies/, compared with tests/topologies/T.CASE.expected (as hwloc tests its
# tools against saved outputs). Each case runs twice, the second time restricted to one
# CPU of this machine where taskset is found: the two outputs must be the same (the
# placement is deterministic, and a topology file's placement does not depend on the
# machine it is computed on), and then the same as the expected file. An expected
# file that no case makes fails the test too, so none is left unchecked.
#
# Usage: tests/dry_run_golden.sh            (make check runs it from the build tree)
#        tests/dry_run_golden.sh --regen    (make regen-golden): rewrites the expected
#                                           files from this build's tuborun
# Environment: TUBORUN (default tools/tuborun), srcdir (default .).
#
# What differs from run to run is masked: the host name and process id that prefix each
# rank's line ("[host:pid] Rank 0 ..."). The expected files hold what tuborun prints
# (it prints the placement on stderr), then its exit status.
srcdir=${srcdir:-.}
TUBORUN=${TUBORUN:-tools/tuborun}
regen=0
case ${1-} in
'') ;;
--regen) regen=1 ;;
*)
  sed -n '12,14s/^# \{0,1\}//p' "$0" >&2
  exit 2
  ;;
esac
case $TUBORUN in /*) ;; *) TUBORUN=$(pwd)/$TUBORUN ;; esac
topo=$srcdir/tests/topologies
[ -x "$TUBORUN" ] || {
  echo "dry_run_golden.sh: $TUBORUN is not built" >&2
  exit 99
}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tubo-golden.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# The second run's CPU: the first this process may use.
one_cpu=
if command -v taskset >/dev/null 2>&1; then
  one_cpu=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*\([0-9]*\).*/\1/p' /proc/self/status)
fi

# dry NAME [taskset -c CPU] OPTIONS...: what one dry run on topology NAME prints (it prints
# on stderr), then its exit status.
dry() {
  name=$1
  shift
  pin=
  if [ "${1-}" = taskset ]; then
    pin="taskset -c $3"
    shift 3
  fi
  # shellcheck disable=SC2086 # $pin is a command of three words, or none
  (cd "$topo" && $pin "$TUBORUN" --dry-run --topology "$name.xml" "$@" 2>&1)
  echo "exit status $?"
}
mask() {
  sed 's/^\[[^]:]*:[0-9]*\] /[HOST:PID] /'
}

# matches NAME PATTERNS: whether NAME matches one of the comma-separated PATTERNS.
matches() {
  m_name=$1
  m_rest=$2,
  while [ -n "$m_rest" ]; do
    m_pat=${m_rest%%,*}
    m_rest=${m_rest#*,}
    # shellcheck disable=SC2254 # the pattern is meant to match
    case $m_name in $m_pat) return 0 ;; esac
  done
  return 1
}

failed=0 ran=0
: >"$tmp/made"
while read -r cname pats opts; do
  case $cname in '' | '#'*) continue ;; esac
  for xml in "$topo"/*.xml; do
    name=$(basename "$xml" .xml)
    matches "$name" "$pats" || continue
    want=$topo/$name.$cname.expected
    echo "$name.$cname.expected" >>"$tmp/made"
    # shellcheck disable=SC2086 # the options are meant to split
    dry "$name" $opts | mask >"$tmp/out1"
    # shellcheck disable=SC2086
    dry "$name" ${one_cpu:+taskset -c "$one_cpu"} $opts | mask >"$tmp/out2"
    ran=$((ran + 1))
    if ! cmp -s "$tmp/out1" "$tmp/out2"; then
      echo "FAIL: $name $cname (tuborun --dry-run $opts): two runs printed different placements:"
      diff "$tmp/out1" "$tmp/out2" | head -n 20
      failed=$((failed + 1))
      continue
    fi
    if [ $regen = 1 ]; then
      cp "$tmp/out1" "$want" || exit 99
    elif [ ! -f "$want" ]; then
      echo "FAIL: $name $cname: $want is missing (make regen-golden makes it)"
      failed=$((failed + 1))
    elif ! diff -u "$want" "$tmp/out1" >"$tmp/diff"; then
      echo "FAIL: $name $cname (tuborun --dry-run --topology $name.xml $opts) differs from $want:"
      head -n 40 "$tmp/diff"
      failed=$((failed + 1))
    fi
  done
done <"$topo/dry-run.cases"

# Expected files no case made: stale after a case was removed or renamed.
for f in "$topo"/*.expected; do
  [ -e "$f" ] || continue
  grep -qxF "$(basename "$f")" "$tmp/made" && continue
  if [ $regen = 1 ]; then
    rm -f "$f" && echo "removed $f (no case makes it)"
  else
    echo "FAIL: $f: no case of dry-run.cases makes it (make regen-golden removes it)"
    failed=$((failed + 1))
  fi
done

if [ $ran = 0 ]; then
  echo "FAIL: no case ran: is $topo/dry-run.cases there?"
  exit 1
fi
[ $regen = 1 ] && echo "regenerated $ran expected files in $topo; review them with git diff"
echo "dry_run_golden.sh: $ran cases, $failed failed"
[ $failed = 0 ]
