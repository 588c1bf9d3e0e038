#!/usr/bin/env bash
# The main job: installs what it needs, builds, and runs Parseval under mpirun -np 2.
# Today it prints each rank's place in the job and the native library versions, then the
# sgemm rate that DESIGN.md's step-time target is judged against.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
swift build -c release --product parseval
bin=.build/release/parseval

scripts/mpirun.sh 2 "$bin" info
scripts/mpirun.sh 2 "$bin" bench gemm --repeats 3 --sequence 1024
