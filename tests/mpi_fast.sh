# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# Open MPI's settings that shorten every job's start-up without changing what the job
# runs, for the mpirun passes of the tests (sourced by tests/run_mpi.sh and
# tests/run_hosts.sh); each keeps a value the caller set. Measured with Open MPI 4.1.4 on
# a 2-vCPU VM at load 6, alternated, 14 pairs of `mpirun -n 3` running a program that
# only calls MPI_Init, MPI_Barrier and MPI_Finalize: processor time per job (median)
# 0.570 s with pml ^cm, 0.515 s with pml ob1, 0.539 s with gds hash, 0.505 s with both;
# across the namespace hosts of tests/hosts.sh, 2 ranks, 1.0-1.4 s of wall time with the
# PML left to choose (as before there), 0.8-1.0 s with pml ob1 (5 jobs each).
#
# pml=ob1: Open MPI selects ob1 here anyway, on one node and across the namespace hosts
# (pml_base_verbose=10 says "selected ob1" in both); left to choose, it first tries cm,
# whose MTLs spend 0.2 to 0.3 s looking for a network, and UCX, which finds no device.
# The passes that name pml=cm still run it; tubo reads "ob1", as an unset pml, as
# messages between ranks of a host going through Open MPI's shared memory
# (lib/mpi/mpi_locality.c).
export OMPI_MCA_pml="${OMPI_MCA_pml-ob1}"
# gds=hash: PMIx keeps the job's data (the ranks' addresses) in a table of each process's
# own, not in a store in shared memory made for jobs of thousands of ranks; what the ranks
# read from it is the same.
export PMIX_MCA_gds="${PMIX_MCA_gds-hash}"
