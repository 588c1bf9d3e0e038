#!/usr/bin/env bash
# mpirun with the flags this machine needs: --allow-run-as-root only as root, and
# --oversubscribe only when more ranks than cores are asked for. Exports
# OPENBLAS_THREAD_TIMEOUT=4 to every rank unless it is set (docs/benchmarks.md: OpenBLAS's idle
# workers otherwise spin ~2^28 cycles between calls, stealing the core from elementwise work).
# Usage: scripts/mpirun.sh NP COMMAND [ARGS...]
set -euo pipefail
np=$1; shift
export OPENBLAS_THREAD_TIMEOUT=${OPENBLAS_THREAD_TIMEOUT:-4}
flags=(-np "$np" -x OPENBLAS_THREAD_TIMEOUT)
[ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root)
[ "$np" -gt "$(nproc)" ] && flags+=(--oversubscribe)
exec mpirun "${flags[@]}" "$@"
