#!/usr/bin/env bash
# The main job, from a fresh machine: install what is missing, build, generate a small
# ListOps set, train configs/quickstart.yaml under mpirun -np 2 (a few minutes on 2 cores),
# evaluate the best checkpoint, and print where everything is.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
swift build -c release --product parseval
bin=.build/release/parseval

[ -f data/listops-small/basic_train.tsv ] || "$bin" generate listops --preset small --seed 1 --out data/listops-small
scripts/mpirun.sh 2 "$bin" info
scripts/mpirun.sh 2 "$bin" train --config configs/quickstart.yaml --fresh
scripts/mpirun.sh 2 "$bin" eval --run runs/quickstart --checkpoint best --logits runs/quickstart/logits.tsv
echo "run folder: runs/quickstart (checkpoints/, metrics.jsonl, config.json, logits.tsv)"
