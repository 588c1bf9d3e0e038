#!/usr/bin/env bash
# The long-sequence cell (docs/results.md, "Long sequences"): one mixer on Path-X (16 384 tokens)
# trained three ways with the same config, seed and batches — on one rank, with each sequence split
# over 2 ranks of this machine (parallel.seq_parallel: 2), and split over 2 simulated hosts that
# talk TCP (scripts/cluster-sim.sh; needs root) — then their loss curves and figures side by side.
#
#   launch/long-cell.sh [-m MIXER] [-o DIR] [-w "1rank 2ranks 2hosts"] [--report-only] [-- --set KEY=VALUE ...]
#
# MIXER: fftnet (default) or fnet. Data: data/pathx-cell, generated when missing
# (`parseval generate pathfinder --size 128 --count 2000 --seed 1`). Runs resume where they
# stopped (rerun the same command). The table comes from the runs' metrics.jsonl and
# timeline.jsonl through `parseval report` (CSV in DIR/MIXER-report/); --report-only trains
# nothing and rebuilds it from DIR's run folders, e.g. the committed ones:
#   launch/long-cell.sh -m fftnet -o docs/results/long-cell --report-only
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
mixer=fftnet; out="$root/runs/pathx-cell"; ways="1rank 2ranks 2hosts"; report_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    -m) mixer=$2; shift 2 ;;
    -o) out=$2; shift 2 ;;
    -w) ways=$2; shift 2 ;;
    --report-only) report_only=1; shift ;;
    --) shift; break ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "launch/long-cell.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$mixer" in
  fftnet) mixer_sets=() ;;
  fnet) mixer_sets=(--set model.mixer=fnet --set model.block=pre_norm) ;;
  *) echo "launch/long-cell.sh: -m must be fftnet or fnet, got '$mixer'" >&2; exit 2 ;;
esac
binary="$root/.build/release/parseval"
[ -x "$binary" ] || { echo "launch/long-cell.sh: $binary not found: run 'swift build -c release'" >&2; exit 2; }
config="$root/configs/seqpar/pathx-long-cell.yaml"
cd "$root"
if [ "$report_only" -eq 0 ] && [ ! -d data/pathx-cell ]; then
  "$binary" generate pathfinder --size 128 --count 2000 --seed 1 --out data/pathx-cell
fi

runs=()
for way in $ways; do
  run="$out/$mixer-$way"
  if [ "$report_only" -eq 1 ]; then runs+=("$run"); continue; fi
  sets=(--set "output.directory=$run" "${mixer_sets[@]}" "$@")
  case "$way" in
    1rank) "$binary" train --config "$config" "${sets[@]}" ;;
    2ranks) scripts/mpirun.sh 2 "$binary" train --config "$config" --set parallel.seq_parallel=2 "${sets[@]}" ;;
    2hosts)
      scripts/cluster-sim.sh check
      scripts/cluster-sim.sh up 2 --rate 10gbit
      trap 'scripts/cluster-sim.sh down' EXIT
      scripts/cluster-sim.sh mpirun -np 2 --map-by ppr:1:node --wdir "$root" \
        "$binary" train --config "$config" --set parallel.seq_parallel=2 "${sets[@]}"
      scripts/cluster-sim.sh down
      trap - EXIT ;;
    *) echo "launch/long-cell.sh: -w takes 1rank, 2ranks and 2hosts, got '$way'" >&2; exit 2 ;;
  esac
  runs+=("$run")
done
"$binary" report "${runs[@]}" --out "$out/$mixer-report" > /dev/null
# One row per run (report's Markdown table would average them as seeds of one cell).
echo "| run | machine | tokens/s | wall time | peak memory (rank 0) | best validation | test | last train loss |"
echo "|---|---|---|---|---|---|---|---|"
tail -n +2 "$out/$mixer-report/results.csv" | while IFS= read -r row; do
  run=${row##*,}
  machine=$(echo "$row" | sed -E 's/.*,"([^"]*)",[^,]*$/\1/')
  IFS=, read -r _ _ _ _ _ _ _ seconds rate memory validation test _ <<< "$row"
  loss=$(grep '"split":"train"' "$run/metrics.jsonl" | tail -1 | sed -E 's/.*"loss":([^,}]*).*/\1/')
  printf '| %s | %s | %.0f | %.0f s | %.0f MB | %s | %s | %s |\n' "$(basename "$run")" "$machine" "$rate" "$seconds" "$memory" \
    "$validation" "$test" "$loss"
done
