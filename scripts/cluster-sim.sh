#!/usr/bin/env bash
# A cluster of N simulated hosts on one Linux machine, for mpirun across "hosts" over TCP.
#
#   scripts/cluster-sim.sh up N [--rate RATE] [--delay DELAY] [--loss PERCENT] [--slots K] [--private DIR]...
#   scripts/cluster-sim.sh down
#   scripts/cluster-sim.sh status          # the hosts, addresses and link shaping
#   scripts/cluster-sim.sh check           # exit 0 if this machine can build the rig (root, namespaces)
#   scripts/cluster-sim.sh mpirun ARGS...  # mpirun over the rig: hostfile, agent and TCP-only flags added
#   scripts/cluster-sim.sh env             # the same as OMPI_MCA_* exports, for any mpirun (launch/train.sh,
#                                          # launch/slurm.sbatch): eval "$(scripts/cluster-sim.sh env)"
#   scripts/cluster-sim.sh exec HOST CMD   # run a shell command line on HOST (mpirun's rsh agent)
#
# Each host is a network namespace (pvsim1 … pvsimN) joined by a veth pair to the bridge pvsim0
# (10.78.0.1/24); host i has address 10.78.0.(10+i), its own host name (a UTS namespace, so
# OpenMPI sees N nodes) and an /etc/hosts entry. mpirun starts its daemons through `exec`, the
# rsh agent (`--mca plm_rsh_agent`): no sshd. Links are shaped with tc on each host's egress:
# --rate (e.g. 1gbit, 10gbit, 100gbit) with a token bucket; --delay and --loss with netem where
# the kernel has it (sch_netem; `status` says when it does not). --private DIR gives every host
# its own copy of DIR (a bind mount of /var/lib/parseval-cluster-sim/HOST/DIR over it, inside
# the host's mount namespace): a folder that is not shared across hosts, like a node-local disk.
# --slots K: slots per host in the hostfile (default: this machine's cores).
#
# The simulated hosts share this machine's cores with the kernel, which moves their packets
# (veth, bridge, TCP) in softirq time: ranks that busy-poll MPI starve it. The rig's flags set
# mpi_yield_when_idle (ranks yield between polls): on 2 cores that took a 4 KiB all-reduce from
# 380 us to 56 us and 16 MiB from 23 ms to 16 ms (docs/distributed.md, "Across hosts"). And every
# host's daemon sees all of the machine's cores as its own, so binding would pin each host's
# first rank to the same core 0: the rig binds nothing (--bind-to none), and the kernel spreads
# the ranks (`launch/train.sh` binds; it is not for the rig's timings).
#
# Idempotent: `up` tears down a previous rig first; `down` removes everything it made. Needs
# root; `check` fails with a message where namespaces are not allowed. docs/distributed.md.
set -euo pipefail

state=/run/parseval-cluster-sim
bridge=pvsim0
subnet=10.78.0
me=$(readlink -f "$0")

die() { echo "cluster-sim: $*" >&2; exit 1; }

check() {
  [ "$(id -u)" -eq 0 ] || { echo "cluster-sim: needs root (network namespaces)"; return 1; }
  command -v ip >/dev/null && command -v unshare >/dev/null || { echo "cluster-sim: needs ip (iproute2) and unshare"; return 1; }
  local probe=pvp$$  # interface names are at most 15 characters
  if ! ip netns add "$probe" 2>/dev/null; then echo "cluster-sim: this machine does not allow network namespaces"; return 1; fi
  # The agent enters a host with `ip netns exec` (which mounts /sys) and `unshare --uts --mount`.
  if ! ip netns exec "$probe" unshare --uts --mount --propagation private true 2>/dev/null; then
    ip netns del "$probe"
    echo "cluster-sim: this machine does not allow entering a namespace with its own host name and mounts"; return 1
  fi
  ip netns del "$probe"
  if ! ip link add "${probe}b" type bridge 2>/dev/null; then echo "cluster-sim: this machine does not allow bridges"; return 1; fi
  ip link del "${probe}b"
  if ! ip link add "${probe}v" type veth peer name "${probe}w" 2>/dev/null; then echo "cluster-sim: this machine does not allow veth pairs"; return 1; fi
  ip link del "${probe}v"
}

hosts() { [ -f "$state/hosts" ] && cat "$state/hosts" || true; }

down() {
  for host in $(hosts); do
    ip netns del "$host" 2>/dev/null || true
    ip link del "${host}v" 2>/dev/null || true
  done
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^pvsim[0-9]+$' || true); do ip netns del "$ns" || true; done
  ip link del "$bridge" 2>/dev/null || true
  if grep -q "# parseval-cluster-sim" /etc/hosts 2>/dev/null; then
    grep -v "# parseval-cluster-sim" /etc/hosts > /etc/hosts.pvsim.tmp && cat /etc/hosts.pvsim.tmp > /etc/hosts && rm -f /etc/hosts.pvsim.tmp
  fi
  rm -rf "$state" /var/lib/parseval-cluster-sim
}

shape() {  # shape HOST: tc on the host's egress, and on the bridge side towards it
  local host=$1 rate=$2 delay=$3 loss=$4 note=""
  [ -z "$rate$delay$loss" ] && return 0
  if [ -n "$delay$loss" ]; then
    local netem=(netem)
    [ -n "$delay" ] && netem+=(delay "$delay")
    [ -n "$loss" ] && netem+=(loss "$loss%")
    [ -n "$rate" ] && netem+=(rate "$rate")
    for side in "ip netns exec $host tc qdisc replace dev eth0 root" "tc qdisc replace dev ${host}v root"; do
      if ! $side "${netem[@]}" 2>/dev/null; then note="netem unavailable in this kernel (no sch_netem): delay and loss not applied"; break; fi
    done
    [ -z "$note" ] && return 0
  fi
  if [ -n "$rate" ]; then
    # A token bucket: burst of 1 ms at the rate (at least 64 KiB), queue bounded at 20 ms.
    ip netns exec "$host" tc qdisc replace dev eth0 root tbf rate "$rate" burst 1mbit latency 20ms
    tc qdisc replace dev "${host}v" root tbf rate "$rate" burst 1mbit latency 20ms
  fi
  [ -n "$note" ] && echo "$note" > "$state/shaping-note" && echo "cluster-sim: $note" >&2
  return 0
}

up() {
  local n=$1; shift
  local rate="" delay="" loss="" slots; slots=$(nproc); local private=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --rate) rate=$2; shift 2 ;;
      --delay) delay=$2; shift 2 ;;
      --loss) loss=$2; shift 2 ;;
      --slots) slots=$2; shift 2 ;;
      --private) private+=("$(readlink -f "$2")"); shift 2 ;;
      *) die "unknown option '$1'" ;;
    esac
  done
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 200 ] || die "N must be 1…200, got '$n'"
  check >&2 || exit 3
  down
  mkdir -p "$state"
  ip link add "$bridge" type bridge
  ip addr add "$subnet.1/24" dev "$bridge"
  ip link set "$bridge" up
  : > "$state/hostfile"
  for i in $(seq 1 "$n"); do
    local host=pvsim$i address=$subnet.$((10 + i))
    ip netns add "$host"
    ip link add "${host}v" type veth peer name eth0 netns "$host"
    ip link set "${host}v" master "$bridge" up
    ip -n "$host" addr add "$address/24" dev eth0
    ip -n "$host" link set eth0 up
    ip -n "$host" link set lo up
    ip -n "$host" route add default via "$subnet.1"
    echo "$host" >> "$state/hosts"
    echo "$host slots=$slots" >> "$state/hostfile"
    echo "$address $host # parseval-cluster-sim" >> /etc/hosts
    shape "$host" "$rate" "$delay" "$loss"
    for dir in "${private[@]}"; do mkdir -p "/var/lib/parseval-cluster-sim/$host$dir" "$dir"; done
  done
  printf '%s\n' "${private[@]}" > "$state/private"
  printf '#!/usr/bin/env bash\nexec %q exec "$@"\n' "$me" > "$state/agent"
  chmod +x "$state/agent"
  printf 'rate=%s\ndelay=%s\nloss=%s\n' "$rate" "$delay" "$loss" > "$state/links"
  echo "cluster-sim: $n hosts up (pvsim1…pvsim$n on $subnet.0/24, links: ${rate:-unshaped}${delay:+ delay $delay}${loss:+ loss $loss%})"
}

# mpirun's rsh agent: `exec HOST COMMAND...` runs the command line in HOST's namespaces, with
# HOST's name and its private folders mounted.
agent() {
  local host=$1; shift
  grep -qx "$host" "$state/hosts" 2>/dev/null || die "no simulated host '$host' (scripts/cluster-sim.sh status)"
  local mounts=""
  while IFS= read -r dir; do
    [ -n "$dir" ] && mounts+="mount --bind /var/lib/parseval-cluster-sim/$host$dir $dir && "
  done < "$state/private"
  exec ip netns exec "$host" unshare --uts --mount --propagation private \
    bash -c "hostname $host && ${mounts}cd / && $*"
}

flags() {
  [ -f "$state/hostfile" ] || die "no rig: run 'scripts/cluster-sim.sh up N' first"
  local root=()
  [ "$(id -u)" -eq 0 ] && root=(--allow-run-as-root)
  echo "${root[*]} --hostfile $state/hostfile --mca plm_rsh_agent $state/agent --mca btl tcp,self" \
       "--mca btl_tcp_if_include $subnet.0/24 --mca oob_tcp_if_include $subnet.0/24 --mca mpi_yield_when_idle 1" \
       "--bind-to none --oversubscribe"
}

environment() {
  [ -f "$state/hostfile" ] || die "no rig: run 'scripts/cluster-sim.sh up N' first"
  echo "export OMPI_MCA_orte_default_hostfile=$state/hostfile"
  echo "export OMPI_MCA_plm=rsh"
  echo "export OMPI_MCA_plm_rsh_agent=$state/agent"
  echo "export OMPI_MCA_btl=tcp,self"
  echo "export OMPI_MCA_btl_tcp_if_include=$subnet.0/24"
  echo "export OMPI_MCA_oob_tcp_if_include=$subnet.0/24"
  echo "export OMPI_MCA_mpi_yield_when_idle=1"
  echo "export OMPI_MCA_hwloc_base_binding_policy=none"
  # The rig runs as root; mpirun refuses root without these (for any mpirun line that does not
  # pass --allow-run-as-root itself).
  if [ "$(id -u)" -eq 0 ]; then
    echo "export OMPI_ALLOW_RUN_AS_ROOT=1"
    echo "export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"
  fi
}

case "${1:-}" in
  up) shift; [ $# -ge 1 ] || die "usage: up N [--rate R] [--delay D] [--loss P] [--private DIR]"; up "$@" ;;
  down) down; echo "cluster-sim: down" ;;
  check) check ;;
  status)
    [ -f "$state/hosts" ] || { echo "cluster-sim: no rig"; exit 0; }
    cat "$state/links"; [ -f "$state/shaping-note" ] && cat "$state/shaping-note"
    for host in $(hosts); do echo "$host $(ip -n "$host" -4 -o addr show eth0 | awk '{print $4}') $(ip netns exec "$host" tc qdisc show dev eth0 | head -1)"; done ;;
  flags) flags ;;
  env) environment ;;
  mpirun) shift; line=$(flags) || exit 1; read -r -a extra <<< "$line"; exec mpirun "${extra[@]}" "$@" ;;
  exec) shift; agent "$@" ;;
  *) sed -n '2,24p' "$me"; exit 2 ;;
esac
