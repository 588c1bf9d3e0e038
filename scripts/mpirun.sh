#!/usr/bin/env bash
# mpirun with the flags this machine needs: --allow-run-as-root only as root, and
# --oversubscribe only when more ranks than cores are asked for. Nothing else: a rank runs at
# full speed with no environment variable (docs/architecture.md, "The matrix engine").
# Usage: scripts/mpirun.sh NP COMMAND [ARGS...]
set -euo pipefail
np=$1; shift
flags=(-np "$np")
[ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root)
[ "$np" -gt "$(nproc)" ] && flags+=(--oversubscribe)
exec mpirun "${flags[@]}" "$@"
