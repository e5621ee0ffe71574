#!/bin/sh
# SPDX-License-Identifier: MIT
# The mpirun pass of make check, its mca group (tests/run_mpi.sh says what each group runs).
exec "$(dirname "$0")/run_mpi.sh" mca
