#!/bin/sh
# SPDX-License-Identifier: MIT
# Large messages (doc/benchmarks.md, "Large messages"): streaming bandwidth of ordinary
# buffers from 64 KiB to 64 MiB (tubo as it chooses, Open MPI, tubo forced to single copy
# and to the channel), of tubo_alloc_mem / MPI_Alloc_mem buffers from 1 to 4 MiB, and the
# loan ping-pong against the 8-byte one and both against their cache-line floors
# (bench/floor); three rounds, the programs alternated in each.
# Run from the build directory after make.
set -e
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
S=65536,262144,1048576,4194304,16777216,67108864
M=1048576,2097152,4194304
for round in 1 2 3; do
  echo "## round $round"
  ./tools/tuborun -n 2 bench/osu_tubo -t bw -s $S | sed 's/^/default /'
  mpirun -n 2 --bind-to core bench/osu_mpi -t bw -s $S | sed 's/^/default /'
  TUBO_SHM_RNDV_BYTES=64k ./tools/tuborun -n 2 bench/osu_tubo -t bw -s $S | sed 's/^/rndv64k /'
  TUBO_SHM_CMA=0 ./tools/tuborun -n 2 bench/osu_tubo -t bw -s $S | sed 's/^/ring /'
  ./tools/tuborun -n 2 bench/osu_tubo -m -t bw -s $M | sed 's/^/allocmem /'
  mpirun -n 2 --bind-to core bench/osu_mpi -m -t bw -s $M | sed 's/^/allocmem /'
  ./tools/tuborun -n 2 bench/osu_tubo -t loan -s 8,4194304 | sed 's/^/loan /'
  ./tools/tuborun -n 2 bench/osu_tubo -t latency -s 8 | sed 's/^/lat /'
  ./bench/floor 1000000 | sed 's/^/floor /'
  ./bench/floor 1000000 loan | sed 's/^/floor /'
  uptime
done
