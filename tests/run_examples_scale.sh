#!/bin/sh
# SPDX-License-Identifier: MIT
# make check's examples at scale: the examples that take any number of ranks (pi,
# pool_ranks, heat2d) on jobs of 128 and 256 ranks over shared memory, checked as
# tests/run_examples.sh says (EXAMPLES_RANKS). TUBO_SCALE_RANKS=N runs them on N ranks
# instead, as it does tests/check_scale (the sanitized pass: 32). The programs themselves
# run, not libtool's wrapper scripts, which would start a shell per rank.
set -u
dir=examples
[ -x examples/.libs/pi ] && dir=examples/.libs
LD_LIBRARY_PATH="$PWD/lib/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
EXAMPLES_DIR=$dir EXAMPLES_RANKS="${TUBO_SCALE_RANKS:-128 256}"
export LD_LIBRARY_PATH EXAMPLES_DIR EXAMPLES_RANKS
exec /bin/sh "${srcdir:-.}/tests/run_examples.sh"
