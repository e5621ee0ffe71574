#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs one test of make check and writes, last in its log, how long it took
# ("timed: N.NN s"), so that CI can list the slowest tests. Exits with the test's status.
start=$(date +%s.%N)
"$@"
rc=$?
awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "timed: %.2f s\n", b - a }'
exit $rc
