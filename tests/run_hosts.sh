#!/bin/sh
# SPDX-License-Identifier: MIT
# A real run across hosts: two test hosts made of network namespaces, each with its own
# host name, joined by a veth pair; mpirun starts Open MPI's daemon on the second through
# a launch agent that enters it, and Open MPI's TCP transport joins them. Ranks are placed
# round-robin over the two hosts (--map-by node), so rank r runs on host r % 2 and tubo
# finds its nodes by itself (no TUBO_NODE_SIZE). Then the pipeline, the point-to-point,
# pipe, spawn, process, queue and shared-array suites and every example run across the
# hosts (as tests/run_mpi.sh runs them across
# pretend nodes).
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
[ "$(id -u)" = 0 ] || skip "making network namespaces needs root"
for tool in ip unshare "$MPIRUN"; do
  command -v "$tool" >/dev/null 2>&1 || skip "$tool is not installed"
done
srcdir=${srcdir:-.}
build=$(pwd)
id=$$
ns_a=tubo-a-$id ns_b=tubo-b-$id
net_id=$((id % 200 + 20))
net=10.231.$net_id.0/24 ip_a=10.231.$net_id.1 ip_b=10.231.$net_id.2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tubo-hosts.XXXXXX") || exit 99
cleanup() {
  ip netns del "$ns_a" 2>/dev/null
  ip netns del "$ns_b" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ip netns add "$ns_a" && ip netns add "$ns_b" &&
  ip link add "tva$id" type veth peer name "tvb$id" &&
  ip link set "tva$id" netns "$ns_a" && ip link set "tvb$id" netns "$ns_b" &&
  ip -n "$ns_a" addr add "$ip_a/24" dev "tva$id" && ip -n "$ns_b" addr add "$ip_b/24" dev "tvb$id" &&
  ip -n "$ns_a" link set "tva$id" up && ip -n "$ns_b" link set "tvb$id" up &&
  ip -n "$ns_a" link set lo up && ip -n "$ns_b" link set lo up ||
  skip "cannot make two network namespaces joined by a veth pair here"

# The launch agent: "AGENT HOST COMMAND..." runs COMMAND (a line for a shell, as ssh
# takes it) on that host: in its namespace, under its own host name (Open MPI tells hosts
# apart by name).
cat >"$tmp/agent" <<EOF
#!/bin/sh
host=\$1
shift
case \$host in
$ip_a) ns=$ns_a name=tubo-host-a ;;
$ip_b) ns=$ns_b name=tubo-host-b ;;
*) echo "agent: unknown host \$host" >&2; exit 1 ;;
esac
exec ip netns exec "\$ns" unshare --uts sh -c "hostname \$name; \$*"
EOF
# mpirun as the tests call it, run from the first host.
cat >"$tmp/mpirun" <<EOF
#!/bin/sh
exec ip netns exec $ns_a unshare --uts sh -c 'hostname tubo-host-a; exec "\$0" "\$@"' \\
  "$MPIRUN" --host $ip_a:64,$ip_b:64 --map-by node --mca plm_rsh_agent "$tmp/agent" \\
  --mca btl tcp,self,vader --mca btl_tcp_if_include $net --mca oob_tcp_if_include $net "\$@"
EOF
chmod +x "$tmp/agent" "$tmp/mpirun"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Open MPI's own files stay in this run's directory (tests/run_mpi.sh says why).
export OMPI_MCA_orte_tmpdir_base="$tmp" OMPI_MCA_btl_vader_backing_directory="$tmp"
export TH_MPIRUN="$tmp/mpirun" TH_NODE_MAP=cyclic:2 TUBO_NODE_SIZE=0
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

for suite in check_p2p check_probe check_barrier check_stress check_init check_pipe check_spawn \
  check_process check_queue check_shared; do
  if "tests/$suite"; then
    echo "ok: $suite across two hosts"
  else
    echo "FAIL: $suite across two hosts"
    failed=1
  fi
done
TRANSPORTS=mpi srcdir=$srcdir "$srcdir/tests/run_examples.sh" || failed=1
exit $failed
