#!/usr/bin/env bash
# The fuzzing campaign of docs/reliability.md ("Fuzzing"): every target of `parseval fuzz --list`,
# RUNS seeded inputs each. A trap ends the process with the input saved as OUT/crash-TARGET-SEED-N
# (a hang as hang-…); the script then goes on from input N + 1, so one known trap does not hide the
# rest, and lists every saved input at the end. Exit status 1 if anything was saved.
#   scripts/fuzz.sh [RUNS] [SEED] [OUT] [TARGET…]     (default: 100000 1 fuzz-out, every target)
# Build first: swift build -c release --skip-update (the release binary is ~5× faster).
set -u
runs=${1:-100000}; seed=${2:-1}; out=${3:-fuzz-out}; shift $(( $# < 3 ? $# : 3 ))
binary=${PARSEVAL:-.build/release/parseval}
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=($("$binary" fuzz --list | awk '{print $1}'))
mkdir -p "$out"
for target in "${targets[@]}"; do
    first=0
    while [ "$first" -lt "$runs" ]; do
        "$binary" fuzz "$target" --runs $((runs - first)) --first "$first" --seed "$seed" --out "$out" \
            > "$out/$target-$first.log" 2>&1
        status=$?
        grep -v '^  ' "$out/$target-$first.log" | grep -E "^$target: [0-9]+ inputs|non-finite accepted:" || true
        [ $status -eq 0 ] || [ $status -eq 1 ] && break
        # A trap or hang: the saved input's name ends in its index; go on after it.
        saved=$(ls -t "$out" | grep -E "^(crash|hang)-$target-$seed-[0-9]+$" | head -1)
        [ -n "$saved" ] || { echo "$target: exit $status with no saved input (see $out/$target-$first.log)"; break; }
        index=${saved##*-}
        echo "$target: input $index trapped or hung: $out/$saved"
        first=$((index + 1))
    done
done
found=$(ls "$out" | grep -E '^(crash|hang|nonfinite)-' || true)
[ -z "$found" ] && { echo "no traps, hangs or non-finite acceptances"; exit 0; }
echo "saved inputs:"; echo "$found" | sed "s|^|  $out/|"
exit 1
