#!/usr/bin/env bash
# Launch a Parseval job with mpirun.
#
#   launch/train.sh [-n RANKS] [-t THREADS] [-H HOSTFILE] [-b core|socket|none] [-p PARSEVAL] -- ARGS...
#   launch/train.sh -n 8 -t 4 -H hosts.txt -- train --config configs/lra/listops-fftnet.yaml
#
# RANKS defaults to 1. On one machine THREADS (per rank) defaults to cores / ranks and ranks
# are bound (default: to cores, mapped by slot with THREADS cores each). With a hostfile and
# no -t, ranks are not bound and each measures its share of its own host's cores (a host's
# ranks split the CPUs they may use), so hosts of different sizes each run full. -t THREADS is
# exported to every rank as PARSEVAL_THREADS. --allow-run-as-root is added only as root,
# --oversubscribe only when one machine gets more ranks than it has cores.
set -euo pipefail

ranks=""; threads=""; hostfile=""; bind="core"; binary=""
while [ $# -gt 0 ]; do
  case "$1" in
    -n) ranks=$2; shift 2 ;;
    -t) threads=$2; shift 2 ;;
    -H) hostfile=$2; shift 2 ;;
    -b) bind=$2; shift 2 ;;
    -p) binary=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "launch/train.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ $# -gt 0 ] || { echo "launch/train.sh: give the parseval arguments after --" >&2; exit 2; }

root=$(cd "$(dirname "$0")/.." && pwd)
binary=${binary:-$root/.build/release/parseval}
[ -x "$binary" ] || { echo "launch/train.sh: $binary not found: run 'swift build -c release'" >&2; exit 2; }

cores=$(nproc)
ranks=${ranks:-1}
flags=(-np "$ranks")
if [ -n "$threads" ]; then flags+=(-x PARSEVAL_THREADS="$threads")
elif [ -z "$hostfile" ]; then threads=$(( cores / ranks > 0 ? cores / ranks : 1 ))
fi
[ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root)
[ -n "$hostfile" ] && flags+=(--hostfile "$hostfile")
if [ -n "$hostfile" ] && [ -z "$threads" ]; then
  flags+=(--bind-to none)
elif [ -z "$hostfile" ] && [ $(( ranks * threads )) -gt "$cores" ]; then
  flags+=(--oversubscribe --bind-to none)
elif [ "$bind" = "none" ]; then
  flags+=(--bind-to none)
else
  flags+=(--map-by "slot:PE=$threads" --bind-to "$bind")
fi

echo "mpirun ${flags[*]} $binary $*" >&2
exec mpirun "${flags[@]}" "$binary" "$@"
