#!/usr/bin/env bash
# A SLURM cluster on one Linux machine: munge, slurmctld, and one slurmd per simulated host of
# scripts/cluster-sim.sh, so a 2-node job runs on two "nodes" with their own host names and
# addresses, and srun's PMIx or mpirun's daemons talk over TCP between them.
#
#   scripts/slurm-sim.sh up [N]     # N nodes (default 2): cluster-sim up N, munged, slurmctld, N slurmd
#   scripts/slurm-sim.sh down       # stop the daemons this script started, then cluster-sim down
#   scripts/slurm-sim.sh check      # exit 0 if this machine can run it (root, namespaces, slurm-wlm, munge)
#   scripts/slurm-sim.sh env        # export SLURM_CONF=…: eval "$(scripts/slurm-sim.sh env)"; sbatch …
#   scripts/slurm-sim.sh status     # sinfo
#
# The configuration lives in /run/parseval-slurm-sim (slurm.conf, state, spool), never in
# /etc/slurm: SLURM's commands find it through SLURM_CONF, which sbatch passes on to the job, so
# srun inside a job finds it too. Nodes pvsim1 … pvsimN (10.78.0.11 …) have this machine's
# cores as seen by this script (`nproc`: a `taskset` narrows them), the controller listens on the
# bridge (10.78.0.1). Jobs run as the submitting user (root here); no accounting database: a
# finished job stays in `scontrol show job` for MinJobAge (10 minutes). proctrack/linuxproc and
# task/none: no cgroups needed, no CPU binding (every simulated node shares the same cores).
# Logs: /var/log/parseval-slurm-sim. scripts/setup.sh installs SLURM (slurmctld, slurmd,
# slurm-client) and munge. docs/distributed.md, "SLURM".
set -euo pipefail

state=/run/parseval-slurm-sim
logs=/var/log/parseval-slurm-sim   # kept after `down`, for a look at what went wrong; `up` clears it
here=$(cd "$(dirname "$0")" && pwd)
sim=$here/cluster-sim.sh

die() { echo "slurm-sim: $*" >&2; exit 1; }

check() {
  for tool in slurmctld slurmd sbatch srun scontrol munged munge; do
    command -v "$tool" >/dev/null || { echo "slurm-sim: $tool not found (scripts/setup.sh installs slurm-wlm and munge)"; return 1; }
  done
  "$sim" check
}

# Starts a daemon with none of this script's descriptors: one that kept the caller's pipe or
# socket open would make a caller that waits for the end of our output (or, like Foundation's
# Process, for a socket's end) wait forever.
detached() {
  (
    for fd in $(ls "/proc/$BASHPID/fd"); do [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null; done
    exec "$@" </dev/null >/dev/null 2>&1
  )
}

# munged: reuse a running one (a real node's), else start ours as the munge user.
munge_up() {
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then return 0; fi
  [ -s /etc/munge/munge.key ] || { mungekey --create --force 2>/dev/null || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=128 status=none; }
  chown munge:munge /etc/munge/munge.key 2>/dev/null || true
  chmod 600 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
  if id munge >/dev/null 2>&1; then detached runuser -u munge -- munged; else detached munged --force; fi
  touch "$state/munged-ours"
  for _ in $(seq 1 100); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0; sleep 0.1; done
  die "munged did not start"
}

# slurmd initialises its cgroup plugin even with task/none, and `ip netns exec` (how a simulated
# host is entered) mounts a fresh /sys without /sys/fs/cgroup: mount this machine's cgroup file
# systems there again (the same hierarchies: a v1 controller mounted twice is one hierarchy).
cgroup_mounts() {
  local source point type options rest line=""
  while read -r source point type options rest; do
    case "$type" in
      tmpfs) [ "$point" = /sys/fs/cgroup ] && line+="mount -t tmpfs -o $options cgroup_root /sys/fs/cgroup && " ;;
      cgroup|cgroup2) [[ "$point" == /sys/fs/cgroup* ]] && line+="mkdir -p $point && mount -t $type -o $options $type $point && " ;;
    esac
  done < /proc/self/mounts
  echo "$line"
}

configure() {
  local n=$1 cpus; cpus=$(nproc)
  rm -rf "$logs"
  mkdir -p "$state/ctld" "$state/spool" "$logs"
  {
    echo "# scripts/slurm-sim.sh: a SLURM cluster of $n simulated hosts (scripts/cluster-sim.sh)"
    echo "ClusterName=parseval-sim"
    echo "SlurmctldHost=$(hostname -s)(10.78.0.1)"
    echo "SlurmUser=root"
    echo "AuthType=auth/munge"
    # A requeued job may start again once its old credential expires (120 s by default; starting
    # it sooner fails it: "Job credential revoked"): 20 s keeps the tests' requeues short.
    echo "AuthInfo=cred_expire=20"
    echo "CredType=cred/munge"
    echo "StateSaveLocation=$state/ctld"
    echo "SlurmdSpoolDir=$state/spool/%n"
    echo "SlurmctldPidFile=$state/slurmctld.pid"
    echo "SlurmdPidFile=$state/slurmd-%n.pid"
    echo "SlurmctldLogFile=$logs/slurmctld.log"
    echo "SlurmdLogFile=$logs/slurmd-%n.log"
    echo "ProctrackType=proctrack/linuxproc"
    echo "TaskPlugin=task/none"
    echo "MpiDefault=none"
    echo "SchedulerType=sched/builtin"
    # The main scheduling loop every 2 s (60 s by default): a requeued job starts soon after its
    # begin time instead of at the next minute.
    echo "SchedulerParameters=sched_interval=2"
    echo "SelectType=select/cons_tres"
    echo "SelectTypeParameters=CR_Core"
    echo "SlurmdParameters=config_overrides"
    echo "ReturnToService=2"
    echo "MinJobAge=600"
    echo "KillWait=30"
    echo "InactiveLimit=0"
    echo "AccountingStorageType=accounting_storage/none"
    echo "JobAcctGatherType=jobacct_gather/none"
    echo "JobCompType=jobcomp/none"
    for i in $(seq 1 "$n"); do
      echo "NodeName=pvsim$i NodeAddr=10.78.0.$((10 + i)) CPUs=$cpus State=UNKNOWN"
    done
    echo "PartitionName=sim Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
  } > "$state/slurm.conf"
  echo "PMIxCliTmpDirBase=$state/node/pmix" > "$state/mpi.conf"
}

up() {
  local n=${1:-2}
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 16 ] || die "N must be 1…16, got '$n'"
  check >&2 || exit 3
  down
  mkdir -p "$state"
  # $state/node: a folder each node has to itself (PMIx's client folders are named by job and
  # step only, so two nodes sharing /tmp collide: "Cannot create directory …spmix_appdir…").
  "$sim" up "$n" --slots "$(nproc)" --private "$state/node" >/dev/null
  munge_up
  configure "$n"
  export SLURM_CONF=$state/slurm.conf
  detached slurmctld -f "$SLURM_CONF"
  local cgroups; cgroups=$(cgroup_mounts)
  for i in $(seq 1 "$n"); do
    mkdir -p "$state/spool/pvsim$i"
    detached "$sim" exec "pvsim$i" "${cgroups}mkdir -p $state/node/pmix && slurmd -f $SLURM_CONF -N pvsim$i"
  done
  # Up when every node is idle (at most 60 s; a node that never registers is named).
  local idle=""
  for _ in $(seq 1 300); do
    idle=$(sinfo -h -N -t idle -o %N 2>/dev/null | sort -u | wc -l)
    [ "$idle" -eq "$n" ] && break
    sleep 0.2
  done
  if [ "$idle" -ne "$n" ]; then
    sinfo -N -l >&2 || true
    tail -n 5 "$logs"/*.log >&2 || true
    die "only $idle of $n nodes idle after 60 s (logs: $logs)"
  fi
  echo "slurm-sim: $n nodes up (pvsim1…pvsim$n, $(nproc) CPUs each, partition sim); eval \"\$($0 env)\""
}

# Stops what `up` started: slurmd on each node, slurmctld, munged if ours; then the rig.
down() {
  local pid
  for file in "$state"/slurmd-*.pid "$state"/slurmctld.pid; do
    [ -f "$file" ] || continue
    pid=$(cat "$file")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ -f "$state/munged-ours" ] && [ -f /run/munge/munged.pid ]; then
    kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true
  fi
  [ -d "$state" ] && "$sim" down >/dev/null
  rm -rf "$state"
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) down; echo "slurm-sim: down" ;;
  check) check ;;
  env) [ -f "$state/slurm.conf" ] || die "no cluster: run 'scripts/slurm-sim.sh up' first"; echo "export SLURM_CONF=$state/slurm.conf" ;;
  status) [ -f "$state/slurm.conf" ] || { echo "slurm-sim: no cluster"; exit 0; }; SLURM_CONF=$state/slurm.conf sinfo -N -l ;;
  *) sed -n '2,19p' "$0"; exit 2 ;;
esac
