#!/bin/sh
# SPDX-License-Identifier: MIT
# A real run across hosts: two test hosts made of network namespaces, each with its own
# host name, joined by a veth pair; mpirun starts Open MPI's daemon on the second through
# a launch agent that enters it, and Open MPI's TCP transport joins them. Ranks are placed
# round-robin over the two hosts (--map-by node), so rank r runs on host r % 2 and tubo
# finds its nodes by itself (no TUBO_NODE_SIZE). Then the pipeline, tests/mpi_app, the point-to-point,
# pipe, spawn, process, queue and shared-array suites and every example run across the
# hosts (as tests/run_mpi.sh runs them across
# pretend nodes). HOSTS_SUITES names fewer of them (the word `examples` stands for the
# examples): CI runs the ones whose behaviour depends on real host names (the transport
# between nodes, split by node, hierarchical collectives, objects served across nodes), as
# make check runs them all across pretend nodes already. The suites run two at a time
# (HOSTS_LANES).
# Needs root, iproute2 (ip) and util-linux (unshare): without them it says why and exits
# 77 (skipped). Everything it makes (namespaces, veth pair, addresses) lives inside the
# namespaces it creates, which it removes at the end. Usage: tests/run_hosts.sh from the
# build directory (make check-hosts), with MPIRUN naming mpirun.
set -u
MPIRUN=${MPIRUN:-mpirun}
skip() {
  echo "SKIP: $*"
  exit 77
}
srcdir=${srcdir:-.}
build=$(pwd)
# shellcheck source=tests/hosts.sh
. "$srcdir/tests/hosts.sh"
hosts_up || skip "$hosts_why"
trap hosts_down EXIT
trap 'exit 1' INT TERM
tmp=$hosts_dir
# "$tmp/mpirun" sets Open MPI's environment itself (tests/hosts.sh); tests/mpi_fast.sh
# shortens each job's start-up without changing what runs.
export TH_MPIRUN="$tmp/mpirun" TH_NODE_MAP=cyclic:2 TUBO_NODE_SIZE=0
# shellcheck source=tests/mpi_fast.sh
. "$srcdir/tests/mpi_fast.sh"
failed=0

# The hosts are real to Open MPI: each rank reports the host name it runs on.
"$tmp/mpirun" -n 2 sh -c 'echo "$OMPI_COMM_WORLD_RANK $(hostname)"' >"$tmp/out" 2>&1
if [ "$(sort "$tmp/out")" = "$(printf '0 tubo-host-a\n1 tubo-host-b')" ]; then
  echo "ok: two hosts, tubo-host-a ($ip_a) and tubo-host-b ($ip_b), rank r on host r % 2"
else
  echo "FAIL: expected rank 0 on tubo-host-a and rank 1 on tubo-host-b, got:"
  cat "$tmp/out"
  exit 1
fi

# The pipeline across the hosts: producer and consumer on one, squarer on the other.
n=20000
want_sum=$(((n - 1) * n * (2 * n - 1) / 6))
"$tmp/mpirun" -n 3 --timeout 120 "$build/examples/pipeline" -n $n -q >"$tmp/out" 2>"$tmp/err"
rc=$?
case "$(cat "$tmp/out")" in
"pipeline items=$n seconds="*" checksum=$want_sum expected=$want_sum check=ok")
  [ $rc -eq 0 ] && echo "ok: pipeline of $n items across two hosts: $(cat "$tmp/out")" ;;
*)
  echo "FAIL: pipeline across two hosts: expected checksum=$want_sum and status 0, got $rc:"
  cat "$tmp/out" "$tmp/err"
  failed=1
  ;;
esac

# A program that calls MPI_Init itself, with a queue and a value served by rank 0 across
# the hosts, also while rank 0 sits in MPI_Barrier (tests/mpi_app.c).
"$tmp/mpirun" -n 3 --timeout 120 "$build/tests/mpi_app" app >"$tmp/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && [ "$(cat "$tmp/out")" = "mpi_app: ok" ]; then
  echo "ok: mpi_app across two hosts"
else
  echo "FAIL: mpi_app across two hosts: expected 'mpi_app: ok' and status 0, got $rc:"
  cat "$tmp/out"
  failed=1
fi

all="check_p2p check_probe check_barrier check_stress check_init check_pipe check_spawn
  check_process check_queue check_shared check_comm check_coll check_coll_nb examples"
# run_suite SUITE: runs it across the hosts, Open MPI's files in LANE_DIR
# (tests/lanes.sh), and says ok or FAIL last.
run_suite() {
  HOSTS_OMPI_DIR=$LANE_DIR
  export HOSTS_OMPI_DIR
  if [ "$1" = examples ]; then
    TRANSPORTS=mpi srcdir=$srcdir "$srcdir/tests/run_examples.sh"
  elif "tests/$1"; then
    echo "ok: $1 across two hosts"
  else
    echo "FAIL: $1 across two hosts"
    return 1
  fi
}
# The suites run two at a time (HOSTS_LANES of them; 1: one after another): a job across
# the hosts spends much of its time waiting (for Open MPI's daemon on the second host, for
# its TCP connections), so that one at a time kept two processors not half busy (CI: 116 s
# of processor time in 171 s).
# shellcheck source=tests/lanes.sh
. "$srcdir/tests/lanes.sh"
# shellcheck disable=SC2086 # one word a suite
run_lanes "$tmp" "${HOSTS_LANES:-2}" run_suite ${HOSTS_SUITES:-$all} || failed=1
exit $failed
