#!/usr/bin/env bash
# The results study: every mixer × task × seed trained, its best checkpoint tested, one table.
#
#   launch/lra-study.sh [--preset small|lra] [--tasks "listops pathfinder"] [--mixers "…"] [--seeds "1 2 3"]
#                       [--runs runs/study] [--results docs/results] [--launcher local|mpirun:N|slurm]
#                       [--steps N] [--set KEY=VALUE]... [--dry-run] [--estimate] [--ranks N]
#
# --preset small (default) fits a 2-core machine: it generates the data it needs (ListOps at
# LRA's lengths, 500–2000 tokens, with LRA's generator; Pathfinder-32 with LRA's hard contours),
# and trains small models at one equal budget for every mixer (docs/results.md states it): the
# same sizes, steps, batch and optimizer (AdamW 1e-3, cosine, clip 1.0); each mixer keeps its
# paper's model recipe from configs/lra/TASK-MIXER.yaml — block, pooling (a learned class token
# where its code has one), initialisation, dropout; token ids are embedded by a table for all.
# --mixers defaults to every registered mixer and fourier-transformer; a mixer with no
# configs/lra/TASK-MIXER.yaml takes LRA's Transformer recipe with its own paper block.
# --set KEY=VALUE (repeatable) adds a setting to every run, e.g. --set parallel.threads=1.
# --preset lra runs the shipped configs/lra/*.yaml unchanged, at LRA's own sizes, on LRA's data
# (docs/reproducing-lra.md says where to put it); use --launcher mpirun:N or slurm on a cluster.
# Before it starts, --preset lra prints an estimate of each cell's time (so does --estimate with
# either preset, which then stops): one step of the cell's model at its per-rank batch, timed here
# with `parseval bench step --config --tune` (cached in RUNS/estimates.tsv per CPU and threads;
# the same step measures the cell's kernel choices and FFT plans on first use, which its runs then read), times
# its steps and accumulation, for the launcher's ranks (mpirun:N: N; slurm: --ranks N, default 1).
# Compute only: the gradient all-reduce is mostly hidden on one host (docs/distributed.md); across
# hosts add launch/scaling-model.py's prediction.
#
# Resumable: a cell whose run folder already holds a test result is skipped; an interrupted one
# resumes from its checkpoint. After each cell the run's small files (config.json, metrics.jsonl,
# timeline.jsonl) are copied to RESULTS/runs/NAME/ — commit those, not checkpoints — and
# `parseval report` rebuilds RESULTS/results.csv, curves.csv, the table and the plots from the
# copies. Regenerate the page from committed runs alone with
#   .build/release/parseval report docs/results/runs/* --out docs/results --plots
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
preset=small; tasks="listops pathfinder"; seeds="1 2 3"; runs="$root/runs/study"; results="$root/docs/results"
mixers=""; launcher=local; steps=""; dry=0; user_sets=(); estimate_only=0; slurm_ranks=1
while [ $# -gt 0 ]; do
  case "$1" in
    --preset) preset=$2; shift 2 ;;
    --tasks) tasks=$2; shift 2 ;;
    --mixers) mixers=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --results) results=$2; shift 2 ;;
    --launcher) launcher=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --set) user_sets+=("$2"); shift 2 ;;
    --dry-run) dry=1; shift ;;
    --estimate) estimate_only=1; shift ;;
    --ranks) slurm_ranks=$2; shift 2 ;;
    -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
    *) echo "lra-study: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
bin="$root/.build/release/parseval"
[ -x "$bin" ] || { echo "lra-study: build first: swift build -c release" >&2; exit 2; }
case "$preset" in small|lra) ;; *) echo "lra-study: --preset is small or lra, got '$preset'" >&2; exit 2 ;; esac
# Default: every registered mixer (`parseval config --choices model.mixer`, `_` written `-` as in
# the config names) and the Fourier Transformer (attention with configs/lra/TASK-fourier-transformer.yaml).
if [ -z "$mixers" ]; then
  mixers="$("$bin" config --choices model.mixer | tr '_' '-' | tr '\n' ' ')fourier-transformer"
fi
data="$root/data/study"

# The small preset's one budget, the same for every mixer of a task. Sizes are LRA's paper-time
# Pathfinder-32 Transformer's (dim 32, depth 1, 2 heads, MLP 32) for every mixer; ListOps keeps
# LRA's lengths with a narrower, shallower model than LRA's 512 × 6.
small_settings() {  # small_settings TASK
  # m = 16 random features (LRA: 256; Parseval's default 64): kernelized RPE's Toeplitz products
  # cost O(B·H·m·d_h·N log N), 8 s a step at m = 64 and N = 2000 on 2 cores, past the budget.
  # One optimizer for every mixer, the LRA Transformer's AdamW (betas 0.9/0.98, ε 1e-9, decay 0.1)
  # at 1e-3 with a cosine schedule, clipped at 1.0: at this budget a recipe's own optimizer
  # (FFTNet's: constant 5e-4, no decay, no clipping, tuned for 100 epochs) measures the budget.
  # Token ids through an embedding table for every mixer: FFTNet's code reads ids as numbers
  # through Linear(1, D) (`embedding: scalar`, its recipe), which stays at the majority class here
  # (docs/results.md, "FFTNet's embedding").
  local common=(model.random_features=16 model.embedding=table optimizer.name=adamw optimizer.learning_rate=0.001 optimizer.beta1=0.9
                optimizer.beta2=0.98 optimizer.epsilon=1e-9 optimizer.weight_decay=0.1 optimizer.gradient_clip=1.0
                schedule.kind=cosine schedule.warmup_steps=60
                training.eval_every=100 training.checkpoint_every=100 training.log_every=20 training.final_test=true)
  case "$1" in
    listops) echo "${common[*]} model.dim=64 model.depth=2 model.heads=4 model.mlp_hidden=128 training.batch_size=16 training.steps=${steps:-600}" \
               "data.directory=$data/listops" ;;
    pathfinder) echo "${common[*]} model.dim=32 model.depth=1 model.heads=2 model.mlp_hidden=32 training.batch_size=32 training.steps=${steps:-600} data.directory=$data/pathfinder32" ;;
    *) echo "lra-study: the small preset covers listops and pathfinder (no download), not '$1'" >&2; return 2 ;;
  esac
}

generate() {
  [ "$preset" = small ] || return 0
  for task in $tasks; do
    case "$task" in
      listops)
        [ -f "$data/listops/basic_test.tsv" ] || run_cmd "$bin" generate listops --preset small --min-length 500 \
          --max-length 2000 --seed 1 --out "$data/listops" ;;
      pathfinder)
        [ -d "$data/pathfinder32/curv_contour_length_14/metadata" ] || run_cmd "$bin" generate pathfinder --size 32 \
          --count 5000 --seed 1 --out "$data/pathfinder32" ;;
    esac
  done
}

run_cmd() { echo "+ $*"; [ "$dry" -eq 1 ] || "$@"; }

train() {  # train CONFIG RUN SETTINGS...
  local config=$1 run=$2; shift 2
  local sets=(--set "output.directory=$run")
  for setting in "$@"; do sets+=(--set "$setting"); done
  case "$launcher" in
    local) run_cmd "$bin" train --config "$config" "${sets[@]}" ;;
    mpirun:*) run_cmd "$root/launch/train.sh" -n "${launcher#mpirun:}" -- train --config "$config" "${sets[@]}" ;;
    slurm) run_cmd sbatch "$root/launch/slurm.sbatch" "$config" "${sets[@]}" ;;
    *) echo "lra-study: --launcher is local, mpirun:N or slurm, got '$launcher'" >&2; exit 2 ;;
  esac
}

# A cell is done when its run folder, or its copy under RESULTS/runs (committed, so a fresh
# checkout skips it too), holds a test result.
finished() {
  local name; name=$(basename "$1")
  for file in "$1/metrics.jsonl" "$results/runs/$name/metrics.jsonl"; do
    [ -f "$file" ] && grep -q '"split":"test"' "$file" && return 0
  done
  return 1
}

# cell_config TASK MIXER: sets `config` and `recipe` for a cell. The mixer's recipe is
# configs/lra/TASK-MIXER.yaml; a mixer without one runs LRA's Transformer recipe for the task
# with the mixer swapped in, in its paper's own block (`model.block: paper`).
cell_config() {
  config="$root/configs/lra/$1-$2.yaml"; recipe=()
  [ "$2" = attention ] && config="$root/configs/lra/$1-transformer.yaml"
  if [ ! -f "$config" ]; then
    config="$root/configs/lra/$1-transformer.yaml"; recipe=(model.mixer="${2//-/_}" model.block=paper)
  fi
  [ -f "$config" ] || { echo "lra-study: no config $config" >&2; exit 2; }
}

# cell_settings TASK SEED: the settings of a cell's run, after `cell_config`.
cell_settings() {
  settings=(training.seed="$2" ${recipe[@]+"${recipe[@]}"})
  if [ "$preset" = small ]; then read -r -a extra <<<"$(small_settings "$1")"; settings+=("${extra[@]}"); fi
  settings+=(${user_sets[@]+"${user_sets[@]}"})
}

# The estimate: one timed step per cell (cached), times the cell's steps, for the launcher's ranks.
estimate() {
  local ranks=1 cpu cache="$runs/estimates.tsv" total=0
  case "$launcher" in mpirun:*) ranks=${launcher#mpirun:} ;; slurm) ranks=$slurm_ranks ;; esac
  cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
  mkdir -p "$runs"; touch "$cache"
  echo "# estimate: $ranks rank(s) via $launcher, $(echo $seeds | wc -w) seed(s) per cell; step times measured on '$cpu'"
  printf '%-34s %10s %8s %12s %12s\n' cell "s/step" steps "h per seed" "h, all seeds"
  for task in $tasks; do
    for mixer in $mixers; do
      cell_config "$task" "$mixer"; cell_settings "$task" 1
      local sets=() resolved batch accumulation steps_total threads local_batch key seconds
      for setting in "${settings[@]}"; do sets+=(--set "$setting"); done
      resolved=$("$bin" config --config "$config" "${sets[@]}") || exit 2
      read -r batch accumulation steps_total threads < <(python3 -c 'import json, sys
c = json.load(sys.stdin); t = c["training"]
print(t["batch_size"], t["accumulation"], t["steps"], c["parallel"]["threads"])' <<<"$resolved")
      local_batch=$(( batch / (ranks * accumulation) )); [ "$local_batch" -ge 1 ] || local_batch=1
      key="$task-$mixer|$preset|$local_batch|$threads|$cpu"
      seconds=$(awk -F'\t' -v k="$key" '$1 == k {print $2}' "$cache" | tail -1)
      if [ -z "$seconds" ]; then
        local thread_flag=()
        [ "$threads" -gt 0 ] && thread_flag=(--threads "$threads")
        seconds=$("$bin" bench step --config "$config" "${sets[@]}" --batch "$local_batch" --repeats 1 --warmup 1 --tune \
                    ${thread_flag[@]+"${thread_flag[@]}"} | sed -n 's/^step time *\([0-9.]*\) s.*/\1/p')
        [ -n "$seconds" ] || { echo "lra-study: could not time $task-$mixer" >&2; exit 2; }
        printf '%s\t%s\n' "$key" "$seconds" >> "$cache"
      fi
      awk -v cell="$task-$mixer" -v s="$seconds" -v n="$steps_total" -v a="$accumulation" -v seeds="$(echo $seeds | wc -w)" \
        'BEGIN { h = s * a * n / 3600; printf "%-34s %10.2f %8d %12.1f %12.1f\n", cell, s * a, n, h, h * seeds }'
    done
  done
}

if [ "$estimate_only" -eq 1 ] || [ "$preset" = lra ]; then
  estimate
  [ "$estimate_only" -eq 1 ] && exit 0
fi

generate
mkdir -p "$runs" "$results/runs"
for task in $tasks; do
  for mixer in $mixers; do
    cell_config "$task" "$mixer"
    for seed in $seeds; do
      name="$task-$mixer-s$seed"; run="$runs/$name"
      if finished "$run"; then echo "= $name: done"; else
        echo "== $name"
        cell_settings "$task" "$seed"
        train "$config" "$run" "${settings[@]}"
      fi
      if [ "$dry" -eq 0 ] && [ "$launcher" != slurm ] && [ -f "$run/metrics.jsonl" ]; then
        mkdir -p "$results/runs/$name"
        cp "$run/config.json" "$run/metrics.jsonl" "$results/runs/$name/"
        [ -f "$run/timeline.jsonl" ] && cp "$run/timeline.jsonl" "$results/runs/$name/"
      fi
    done
  done
done
if [ "$dry" -eq 0 ] && compgen -G "$results/runs/*/metrics.jsonl" >/dev/null; then
  "$bin" report "$results"/runs/* --out "$results" --plots | tee "$results/table.md"
fi
