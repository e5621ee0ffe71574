#!/bin/sh
# SPDX-License-Identifier: MIT
# The mpirun pass of make check, its core group (tests/run_mpi.sh says what each group runs).
exec "$(dirname "$0")/run_mpi.sh" core
