#!/bin/sh
# SPDX-License-Identifier: MIT
# The mpirun pass of make check, its patterns group (tests/run_mpi.sh says what each group runs).
exec "$(dirname "$0")/run_mpi.sh" patterns
