#!/bin/sh
# SPDX-License-Identifier: MIT
# The mpirun pass of `make check` (builds with Open MPI only): the point-to-point,
# process, spawn, pipe, communicator and collective suites and every example run under
# mpirun, with the ranks split into pretend nodes of TUBO_NODE_SIZE ranks (2 unless a suite
# says 1), so that messages between nodes go through Open MPI while those inside a node
# keep shared memory (0: the real node, all ranks together). Queues, Arrays, Values, dicts, lists, Namespaces and
# channels across nodes are served by rank 0 (doc/mpi.md). MPIRUN names mpirun.
# Usage: tests/run_mpi.sh [core|patterns|coll|mca|examples|all]
set -u
if [ -z "${MPIRUN:-}" ] || ! command -v "$MPIRUN" >/dev/null 2>&1; then
  echo "SKIP: no mpirun found (Debian: apt-get install openmpi-bin)"
  exit 77
fi
export TH_MPIRUN="$MPIRUN"
export TUBO_NODE_SIZE="${TUBO_NODE_SIZE:-2}"
# Open MPI refuses root and more ranks than cores unless told.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
# Open MPI's start-up, in each of the hundreds of jobs, made shorter without changing what
# runs (tests/mpi_fast.sh says why each is safe); a setting made by the caller is kept.
# shellcheck source=tests/mpi_fast.sh
. "$(dirname "$0")/mpi_fast.sh"
# Open MPI's own files (its session directory, its shared-memory segments, which it leaves
# behind when a job fails) go to a directory of this run, not to /tmp and /dev/shm where
# other suites look for what tubo leaves.
ompi_tmp=$(mktemp -d "${TMPDIR:-/tmp}/tubo-mpi.XXXXXX") || exit 99
trap 'rm -rf "$ompi_tmp"' EXIT
export OMPI_MCA_orte_tmpdir_base="$ompi_tmp" OMPI_MCA_btl_vader_backing_directory="$ompi_tmp"
failed=0
# SUITE:K runs SUITE with pretend nodes of K ranks (K=1: every pair crosses nodes);
# SUITE:K:MCA with Open MPI's parameters set as MCA says (name=value, joined by +):
# btl=tcp,self limits its BTLs to TCP, as between real nodes (the MPI transport then
# sends messages up to 64 KiB as frames, not by RTS; doc/mpi.md); pml=cm+mtl=ofi moves
# every message through libfabric instead of Open MPI's BTLs (its other way of moving
# messages, as on clusters whose network has an MTL), where this machine's Open MPI can.
# A plain MPI program tells whether it can, once for each setting: if not, the passes
# with that setting are skipped, saying so.
mca_env() {
  echo "$1" | tr '+' '\n' | sed 's/^/OMPI_MCA_/'
}
mca_ok=" " mca_no=" "
mca_works() {
  case "$mca_ok" in *" $1 "*) return 0 ;; esac
  case "$mca_no" in *" $1 "*) return 1 ;; esac
  # shellcheck disable=SC2046 # one word per setting
  if env $(mca_env "$1") "$MPIRUN" -n 2 --timeout 60 bench/osu_mpi -t latency -s 8 \
    >/dev/null 2>&1; then
    mca_ok="$mca_ok$1 "
    return 0
  fi
  mca_no="$mca_no$1 "
  return 1
}
# The suites in four groups and the examples, which make check runs side by side
# (tests/run_mpi_GROUP.sh);
# with no argument, this script runs them all.
core="check_p2p:2 check_probe:2 check_loan:1 check_barrier:2 check_stress:2 check_init:2 check_spawn:2
  check_process:2 check_pipe:1 check_p2p:1"
patterns="check_queue:2 check_queue:1 check_shared:2 check_shared:1 check_shared:0 check_dict:1
  check_manager_list:1 check_channel:1 check_channel:2 check_queue_unbounded:1 check_pool:1"
coll="check_comm:2 check_coll:2 check_coll_nb:2 check_coll_nb:1"
# Across pretend nodes of one rank with Open MPI's other ways of moving messages.
ompi_ways="check_p2p:1:btl=tcp,self check_p2p:1:pml=cm+mtl=ofi check_pipe:1:pml=cm+mtl=ofi
  check_queue:1:pml=cm+mtl=ofi check_shared:1:pml=cm+mtl=ofi"
group=${1:-all}
case "$group" in
  core) entries="$core" ;;
  patterns) entries="$patterns" ;;
  coll) entries="$coll" ;;
  mca) entries="$ompi_ways" ;;
  examples) entries= ;;
  all) entries="$core $patterns $coll $ompi_ways" ;;
  *) echo "usage: $0 [core|patterns|coll|mca|examples|all]" >&2; exit 99 ;;
esac
for entry in $entries; do
  suite=${entry%%:*} rest=${entry#*:}
  k=${rest%%:*} mca=
  [ "$rest" != "$k" ] && mca=${rest#*:}
  where="pretend nodes of $k rank(s)"
  [ "$k" = 0 ] && where="the node's ranks together"
  set --
  if [ -n "$mca" ]; then
    where="$where, Open MPI's $(echo "$mca" | tr '+' ' ')"
    if ! mca_works "$mca"; then
      echo "skip: $suite under mpirun, $where: plain MPI does not run so here"
      continue
    fi
    # shellcheck disable=SC2046 # one word per setting
    set -- env $(mca_env "$mca")
  fi
  if TUBO_NODE_SIZE=$k "$@" "tests/$suite"; then
    echo "ok: $suite under mpirun, $where"
  else
    echo "FAIL: $suite under mpirun, $where"
    failed=1
  fi
done
# run_expect HOW STATUS PATTERN...: runs the command line HOW (split on spaces) and prints
# ok, or FAIL with its output, as its status is STATUS (0, or fail: neither 0 nor mpirun's
# timeout, 110) and its output matches every glob PATTERN.
run_expect() {
  how=$1 want=$2 good=1
  shift 2
  # shellcheck disable=SC2086 # the command is meant to split
  out=$($how 2>&1)
  status=$?
  case "$want:$status" in 0:0 | fail:[!0]*) ;; *) good=0 ;; esac
  [ "$want:$status" = fail:110 ] && good=0
  for pattern in "$@"; do
    # shellcheck disable=SC2254 # the pattern is meant to match as a glob
    case "$out" in $pattern) ;; *) good=0 ;; esac
  done
  if [ $good = 1 ]; then
    echo "ok: $how"
  else
    echo "FAIL: $how: expected status $want and output matching:"
    printf '  %s\n' "$@"
    echo "got status $status and:"
    echo "$out"
    failed=1
  fi
}
case "$group" in core | all)
# An application that initializes MPI itself and finalizes it after tubo_finalize (also
# with every rank a node of its own: its queue and value, served by rank 0, are used while
# rank 0 sits in MPI_Barrier); the same program under tuborun, where tubo must leave MPI
# alone.
for how in "$MPIRUN -n 3 --timeout 120 -x TUBO_NODE_SIZE tests/mpi_app app" \
  "env TUBO_NODE_SIZE=1 $MPIRUN -n 3 --timeout 120 -x TUBO_NODE_SIZE tests/mpi_app app" \
  "tools/tuborun -n 2 --timeout 120 tests/mpi_app tuborun"; do
  run_expect "$how" 0 "mpi_app: ok"
done
# With TUBO_MPI_SERVE=0 nothing serves them while rank 0 is in MPI: opening them fails at
# once on every rank (the program checks TUBO_ENOTSUP), and rank 0 says why.
run_expect "env TUBO_NODE_SIZE=1 TUBO_MPI_SERVE=0 $MPIRUN -n 2 --timeout 120 -x TUBO_NODE_SIZE -x TUBO_MPI_SERVE tests/mpi_app refused" 0 \
  "*tubo: an object served across nodes cannot be opened in a program that initialized MPI itself: TUBO_MPI_SERVE=0*" \
  "*mpi_app: ok*"
# A rank that never calls tubo_init holds the others inside MPI_Init: after
# TUBO_INIT_TIMEOUT seconds they say so and exit 1, and mpirun ends the job (before its own
# --timeout, which would exit 110). (A rank that exits instead is caught by whichever sees
# it first: Open MPI, once the others have called MPI_Init, or this watch.)
run_expect "env TUBO_INIT_TIMEOUT=3 $MPIRUN -n 3 --timeout 120 -x TUBO_INIT_TIMEOUT tests/rank_helper init-never 1" fail \
  "*MPI_Init has waited 3 s for ranks that never started it*"
# The same program under tuborun after its own MPI_Init: MPI gives it a world of one beside
# tubo's of two, and rank 0 says so at tubo_init.
run_expect "tools/tuborun -n 2 --timeout 120 tests/mpi_app tuborun_mpi" 0 "*mpi_app: ok*" \
  "*tubo: this program initialized MPI under tuborun: MPI's world has 1 rank(s), tubo's has 2.*"
;; esac
case "$group" in examples | all)
  TRANSPORTS=mpi "${srcdir:-.}/tests/run_examples.sh" || failed=1 ;;
esac
exit $failed
