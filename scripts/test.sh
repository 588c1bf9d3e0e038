#!/usr/bin/env bash
# Every test: the single-process suite (`swift test`), then the MPI suites under mpirun
# with 2 and 3 ranks, and the sequence-parallel suite also with 4 (oversubscribed: 4 is the
# first rank count where P² matters for FFTW-MPI's split). Installs what it needs first. Exit 0 only if everything passed.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
swift build --build-tests

echo "== single process: swift test"
swift test --skip-build --disable-swift-testing 2>&1 | tee .build/test-single.log | grep -E "error|failed|Executed .* tests" | tail -n 20
# XCTest's summary: "Executed N tests, with 0 failures …", or "…, with K test(s) skipped and 0
# failures …" when some skip (XCTSkip: no bf16 on this CPU, no taskset, no rig).
passed='Executed [0-9]+ tests?, with ([0-9]+ tests? skipped and )?0 failures'
single=$(grep -E "^\s*Executed [0-9]+ tests?" .build/test-single.log | tail -n 1)
grep -qE "$passed" <<<"$single" || { echo "single-process tests failed: $single"; exit 1; }
single_count=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$single")
skipped=$(grep -oE "[0-9]+ tests? skipped" <<<"$single" | grep -oE "^[0-9]+" || echo 0)
[ "$skipped" -eq 0 ] || grep -E "Test skipped" .build/test-single.log | sed -E 's/^.*: ([^ ]+) : Test skipped/   skipped \1:/' | sort -u

# The MPI suites: every test class of the test targets listed here runs on every rank.
bundle=.build/debug/ParsevalPackageTests.xctest
mpi_targets='^(DistributedTests|ParallelTrainingTests|SequenceParallelTests)\.'
classes=$("$bundle" --list-tests 2>/dev/null | grep -E "$mpi_targets" | sed -E 's#^([^/]+)/.*#\1#' | sort -u | paste -sd, -)
[ -n "$classes" ] || { echo "no MPI test classes found"; exit 1; }

seq_classes=$("$bundle" --list-tests 2>/dev/null | grep -E '^(SequenceParallelTests\.|ParallelTrainingTests\.SequenceParallelTrainingTests)' | sed -E 's#^([^/]+)/.*#\1#' | sort -u | paste -sd, -)
[ -n "$seq_classes" ] || { echo "no sequence-parallel test classes found"; exit 1; }

mpi_count=0
for ranks in 2 3 4; do
  # 4 ranks on this 2-core machine: the sequence-parallel classes only (scripts/mpirun.sh oversubscribes).
  [ "$ranks" -eq 4 ] && classes=$seq_classes
  echo "== mpirun -np $ranks: $classes"
  log=.build/test-mpi-$ranks.log
  # Each rank writes its own output files (the ranks' lines interleave on a shared stdout).
  out=.build/test-mpi-$ranks
  rm -rf "$out"
  # A hang is the typical MPI failure: bound it so it fails instead of stalling CI.
  if ! timeout 900 scripts/mpirun.sh "$ranks" --output-filename "$out" "$bundle" "$classes" >"$log" 2>&1; then
    cat "$out"/*/rank.*/stdout 2>/dev/null | grep -E "error|failed" | head -n 40
    tail -n 20 "$log"
    echo "MPI tests failed with $ranks ranks (per-rank output: $out)"; exit 1
  fi
  # Every rank must report "Selected tests passed" with the same non-zero total.
  ran=""
  for ((rank = 0; rank < ranks; rank++)); do
    file=$(ls "$out"/*/rank.$rank/stdout 2>/dev/null | head -n 1)
    total=$(grep -A1 "Test Suite 'Selected tests' passed" "${file:-/dev/null}" \
            | grep -oE "$passed" | sed -E 's/Executed ([0-9]+).*/\1/' || true)
    if [ -z "$total" ] || [ "$total" -eq 0 ] || { [ -n "$ran" ] && [ "$ran" != "$total" ]; }; then
      echo "MPI run with $ranks ranks: rank $rank reported '${total:-no total}' (others: ${ran:-none}); see $out"; exit 1
    fi
    ran=$total
  done
  echo "   $ran tests passed on each of $ranks ranks"
  mpi_count=$((mpi_count + ran * ranks))
done

echo "tests: $((single_count - skipped + mpi_count)) passed, $skipped skipped, 0 failed"
