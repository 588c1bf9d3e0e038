#!/usr/bin/env bash
# Step time and memory of the standard encoder against sequence length, for every mixer: one
# `parseval bench step --sequence N` per (mixer, N), each in its own process, then a table and the
# crossovers with softmax attention (docs/benchmarks.md, "Sequence length: where the mixers cross").
#
#   launch/sequence-sweep.sh [-o DIR] [-m "MIXERS"] [-n "LENGTHS"] [-b BATCH] [-p fp32|bf16]
#                            [--repeats R] [--warmup W] [--max-seconds S] [--report-only] [-- BENCH-OPTIONS]
#
# Defaults: every mixer `parseval config --choices model.mixer` lists, lengths 1024 … 16384
# (doublings), batch 1 (the standard encoder is batch 4; the per-sequence cost, and so where two
# mixers cross, does not depend on it), fp32, 1 timed step after 1 warm-up. A mixer stops at the
# first length whose step took more than S seconds (default 600); longer lengths are then skipped
# and show as "—". Each run's full output is kept as DIR/MIXER-N.txt and reused when present (a
# stopped sweep resumes; delete a file to remeasure it); --report-only measures nothing and
# rebuilds the table from DIR, e.g. the committed sweep:
#   launch/sequence-sweep.sh -o docs/results/sequence-sweep/CPU --report-only
# BENCH-OPTIONS go to every `bench step`: `-- --tune` measures each length's kernel choices and
# FFT plans in its first warm-up step (saved to ~/.cache/parseval, as runs read them).
# Name the CPU next to the table: the files' headers carry `lscpu`'s model.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/runs/sequence-sweep"; mixers=""; lengths="1024 2048 4096 8192 16384"; batch=1; precision=fp32
repeats=1; warmup=1; max_seconds=600; report_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    -o) out=$2; shift 2 ;;
    -m) mixers=$2; shift 2 ;;
    -n) lengths=$2; shift 2 ;;
    -b) batch=$2; shift 2 ;;
    -p) precision=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --max-seconds) max_seconds=$2; shift 2 ;;
    --report-only) report_only=1; shift ;;
    --) shift; break ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "launch/sequence-sweep.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$precision" in fp32|bf16) ;; *) echo "launch/sequence-sweep.sh: -p must be fp32 or bf16, got '$precision'" >&2; exit 2 ;; esac
for value in "$batch" "$repeats" "$max_seconds" $lengths; do
  [[ "$value" =~ ^[1-9][0-9]*$ ]] || { echo "launch/sequence-sweep.sh: '$value' is not a positive whole number (-b, -n, --repeats, --max-seconds)" >&2; exit 2; }
done
[[ "$warmup" =~ ^[0-9]+$ ]] || { echo "launch/sequence-sweep.sh: --warmup must be a whole number, got '$warmup'" >&2; exit 2; }
binary="$root/.build/release/parseval"
if [ -z "$mixers" ]; then
  [ -x "$binary" ] || { echo "launch/sequence-sweep.sh: $binary not found: run 'swift build -c release'" >&2; exit 2; }
  mixers=$("$binary" config --choices model.mixer | tr '\n,' '  ')
fi
mkdir -p "$out"

# A run's file: DIR/MIXER-N.txt (fp32) or DIR/MIXER-N-bf16.txt.
file_of() { local suffix=""; [ "$precision" = fp32 ] || suffix="-$precision"; echo "$out/$1-$2$suffix.txt"; }
field() { sed -nE "s/^$2 +([0-9.]+).*/\1/p" "$1" | head -1; }

if [ "$report_only" -eq 0 ]; then
  [ -x "$binary" ] || { echo "launch/sequence-sweep.sh: $binary not found: run 'swift build -c release'" >&2; exit 2; }
  for mixer in $mixers; do
    for n in $lengths; do
      file=$(file_of "$mixer" "$n")
      if [ ! -s "$file" ]; then
        echo "# $mixer, n = $n" >&2
        "$binary" bench step --mixer "$mixer" --sequence "$n" --batch "$batch" --precision "$precision" \
          --repeats "$repeats" --warmup "$warmup" "$@" > "$file.partial"
        mv "$file.partial" "$file"
      fi
      seconds=$(field "$file" "step time")
      if awk -v s="$seconds" -v limit="$max_seconds" 'BEGIN { exit !(s > limit) }'; then
        echo "# $mixer: $seconds s at n = $n is over --max-seconds $max_seconds; longer lengths skipped" >&2
        break
      fi
    done
  done
fi

# The table: one row per length, one column per mixer, "step s · peak MB".
first=$(ls "$out"/*.txt 2>/dev/null | head -1 || true)
[ -n "$first" ] || { echo "launch/sequence-sweep.sh: no runs in $out" >&2; exit 2; }
grep -m1 '^# host' "$first" || true
grep -m1 '^# bench step' "$first" | sed -E 's/^# bench step: [a-z_]+ encoder, /# standard encoder, /; s/seq [0-9]+, //' || true
echo "# $precision; step time (s) · peak resident memory (MB), per length and mixer"
header="| n |"; rule="|---|"
for mixer in $mixers; do header+=" $mixer |"; rule+="---|"; done
echo "$header"; echo "$rule"
for n in $lengths; do
  row="| $n |"
  for mixer in $mixers; do
    file=$(file_of "$mixer" "$n")
    if [ -s "$file" ]; then
      row+=" $(field "$file" "step time") · $(printf '%.0f' "$(field "$file" "peak resident memory")") |"
    else
      row+=" — |"
    fi
  done
  echo "$row"
done

# Crossovers with softmax attention: the first length from which a mixer's step is shorter than
# attention's at every measured length; else the ratio at the longest length both have, and the
# length where the two curves' last measured growth rates (step ∝ n^p between the last two
# lengths each has) would meet.
case " $mixers " in *" attention "*) ;; *) exit 0 ;; esac
echo
for mixer in $mixers; do
  [ "$mixer" = attention ] && continue
  pairs=""
  for n in $lengths; do
    a=$(file_of attention "$n"); m=$(file_of "$mixer" "$n")
    [ -s "$a" ] && [ -s "$m" ] && pairs+="$n $(field "$a" "step time") $(field "$m" "step time")"$'\n'
  done
  [ -n "$pairs" ] || continue
  printf '%s' "$pairs" | awk -v mixer="$mixer" '
    { n[NR] = $1; a[NR] = $2; m[NR] = $3 }
    END {
      from = 0
      for (i = NR; i >= 1; i--) { if (m[i] < a[i]) from = n[i]; else break }
      if (from > 0) {
        printf "%s: faster than attention from n = %d%s on (%.2f× at n = %d)\n", mixer, from,
               from == n[1] ? " (the shortest length measured)" : "", a[NR] / m[NR], n[NR]
        exit
      }
      printf "%s: slower than attention at every measured length (%.2f× its step at n = %d)", mixer, m[NR] / a[NR], n[NR]
      if (NR >= 2) {
        pa = log(a[NR] / a[NR - 1]) / log(n[NR] / n[NR - 1]); pm = log(m[NR] / m[NR - 1]) / log(n[NR] / n[NR - 1])
        if (pa > pm) printf "; growth n^%.2f against attention n^%.2f: the curves would meet near n = %.0f", pm, pa, n[NR] * exp(log(m[NR] / a[NR]) / (pa - pm))
        else printf "; it grows as fast as attention (n^%.2f against n^%.2f): no crossover ahead", pm, pa
      }
      printf "\n"
    }'
done
