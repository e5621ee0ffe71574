# SPDX-License-Identifier: MIT
# Two test hosts made of network namespaces (sourced by tests/run_hosts.sh and
# bench/run_mpi.sh -H). hosts_up makes them: namespaces tubo-a-ID and tubo-b-ID, each with
# its own host name (tubo-host-a, tubo-host-b) when a command runs there, joined by a veth
# pair on 10.231.X.0/24; a launch agent that runs a command on a host (in its namespace,
# under its name, as ssh would); and "$hosts_dir/mpirun", mpirun run from the first host
# with both hosts, ranks placed round-robin (rank r on host r % 2), Open MPI's TCP
# transport between them and its files kept in $hosts_dir (or in HOSTS_OMPI_DIR, where set:
# two jobs started at once race to make the same session directory in one). hosts_down
# removes it all.
# Needs root, ip (iproute2), unshare (util-linux) and MPIRUN; hosts_up returns 1 with a
# reason in $hosts_why where it cannot.

hosts_up() {
  MPIRUN=${MPIRUN:-mpirun}
  hosts_why=
  if [ "$(id -u)" != 0 ]; then
    hosts_why="making network namespaces needs root"
    return 1
  fi
  for tool in ip unshare "$MPIRUN"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      hosts_why="$tool is not installed"
      return 1
    fi
  done
  hosts_id=$$
  ns_a=tubo-a-$hosts_id ns_b=tubo-b-$hosts_id
  net_id=$((hosts_id % 200 + 20))
  net=10.231.$net_id.0/24 ip_a=10.231.$net_id.1 ip_b=10.231.$net_id.2
  hosts_dir=$(mktemp -d "${TMPDIR:-/tmp}/tubo-hosts.XXXXXX") || {
    hosts_why="mktemp failed"
    return 1
  }
  if ! { ip netns add "$ns_a" && ip netns add "$ns_b" &&
    ip link add "tva$hosts_id" type veth peer name "tvb$hosts_id" &&
    ip link set "tva$hosts_id" netns "$ns_a" && ip link set "tvb$hosts_id" netns "$ns_b" &&
    ip -n "$ns_a" addr add "$ip_a/24" dev "tva$hosts_id" &&
    ip -n "$ns_b" addr add "$ip_b/24" dev "tvb$hosts_id" &&
    ip -n "$ns_a" link set "tva$hosts_id" up && ip -n "$ns_b" link set "tvb$hosts_id" up &&
    ip -n "$ns_a" link set lo up && ip -n "$ns_b" link set lo up; }; then
    hosts_why="cannot make two network namespaces joined by a veth pair here"
    hosts_down
    return 1
  fi
  # The launch agent: "AGENT HOST COMMAND..." runs COMMAND (a line for a shell, as ssh
  # takes it) on that host (Open MPI tells hosts apart by name).
  cat >"$hosts_dir/agent" <<AGENT
#!/bin/sh
host=\$1
shift
case \$host in
$ip_a) ns=$ns_a name=tubo-host-a ;;
$ip_b) ns=$ns_b name=tubo-host-b ;;
*) echo "agent: unknown host \$host" >&2; exit 1 ;;
esac
exec ip netns exec "\$ns" unshare --uts sh -c "hostname \$name; \$*"
AGENT
  cat >"$hosts_dir/mpirun" <<WRAPPER
#!/bin/sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ompi_dir=\${HOSTS_OMPI_DIR:-$hosts_dir}
export OMPI_MCA_orte_tmpdir_base="\$ompi_dir" OMPI_MCA_btl_vader_backing_directory="\$ompi_dir"
exec ip netns exec $ns_a unshare --uts sh -c 'hostname tubo-host-a; exec "\$0" "\$@"' \\
  "$MPIRUN" --host $ip_a:64,$ip_b:64 --map-by node --mca plm_rsh_agent "$hosts_dir/agent" \\
  --mca btl tcp,self,vader --mca btl_tcp_if_include $net --mca oob_tcp_if_include $net "\$@"
WRAPPER
  chmod +x "$hosts_dir/agent" "$hosts_dir/mpirun"
}

hosts_down() {
  ip netns del "$ns_a" 2>/dev/null
  ip netns del "$ns_b" 2>/dev/null
  rm -rf "$hosts_dir"
}
