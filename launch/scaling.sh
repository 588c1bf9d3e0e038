#!/usr/bin/env bash
# Scaling study: sweeps rank counts, writes a CSV and renders a PNG with gnuplot.
#
#   launch/scaling.sh [-r "1 2 4"] [-t THREADS] [-o DIR] [-m weak|strong|seqpar|all] [-s LOG2] [-- BENCH OPTIONS]
#
# weak:   data-parallel, fixed per-rank batch (bench step --batch B on every rank);
#         efficiency t1 / tP.
# strong: data-parallel, fixed global batch G = B·max(ranks) split over P ranks;
#         efficiency t1 / (P·tP).
# seqpar: FFTNet mixing of one sequence of 2^LOG2 tokens (default 20) split over P ranks
#         (bench seqpar, strong scaling); efficiency t1 / (P·tP).
# Options after -- go to `parseval bench step` (e.g. --mixer fftnet --sequence 1024 --batch 4).
# CSV columns: mode,ranks,seconds_per_step,tokens_per_second,efficiency,memory_per_rank_mb.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
rank_list="1 2 4"; threads=1; out="$root/runs/scaling"; mode="all"; seqpar_log2=20
while [ $# -gt 0 ]; do
  case "$1" in
    -r) rank_list=$2; shift 2 ;;
    -t) threads=$2; shift 2 ;;
    -o) out=$2; shift 2 ;;
    -m) mode=$2; shift 2 ;;
    -s) seqpar_log2=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "launch/scaling.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
bench_options=("$@")
binary="$root/.build/release/parseval"
[ -x "$binary" ] || { echo "launch/scaling.sh: $binary not found: run 'swift build -c release'" >&2; exit 2; }
mkdir -p "$out"
csv="$out/scaling.csv"
echo "mode,ranks,seconds_per_step,tokens_per_second,efficiency,memory_per_rank_mb" > "$csv"

# The per-rank batch given to bench step (default 4), and the largest rank count.
batch=4
for ((i = 0; i < ${#bench_options[@]}; i++)); do
  [ "${bench_options[$i]}" = "--batch" ] && batch=${bench_options[$((i + 1))]}
done
largest=$(tr ' ' '\n' <<<"$rank_list" | sort -n | tail -n 1)

# Runs bench step on P ranks with a per-rank batch; prints "seconds tokens megabytes".
measure() {
  local ranks=$1 per_rank=$2 log
  log=$("$root/launch/train.sh" -n "$ranks" -t "$threads" -p "$binary" -- \
        bench step "${bench_options[@]}" --batch "$per_rank" 2>&1) || { echo "$log" >&2; return 1; }
  awk '/^step time/ {s=$3} /^tokens\/s/ {t=$2} /^peak tensor memory/ {m=$4} END {print s, t, m}' <<<"$log"
}

sweep() {
  local kind=$1 base=""
  for ranks in $rank_list; do
    local per_rank=$batch
    if [ "$kind" = strong ]; then
      per_rank=$(( batch * largest / ranks ))
    fi
    read -r seconds tokens memory < <(measure "$ranks" "$per_rank")
    [ -n "$base" ] || base=$seconds
    local efficiency
    if [ "$kind" = strong ]; then
      efficiency=$(awk -v a="$base" -v b="$seconds" -v p="$ranks" -v first="$(echo $rank_list | cut -d' ' -f1)" \
                   'BEGIN {printf "%.3f", a * first / (p * b)}')
    else
      efficiency=$(awk -v a="$base" -v b="$seconds" 'BEGIN {printf "%.3f", a / b}')
    fi
    echo "$kind,$ranks,$seconds,$tokens,$efficiency,$memory" | tee -a "$csv"
  done
}

seqpar() {
  if ! "$binary" bench --help 2>/dev/null | grep -qw seqpar; then
    echo "seqpar: this build has no 'bench seqpar'; skipped" >&2
    return 0
  fi
  local base=""
  for ranks in $rank_list; do
    local log seconds memory
    log=$("$root/launch/train.sh" -n "$ranks" -t "$threads" -p "$binary" -- bench seqpar --csv \
          --min-log2 "$seqpar_log2" --max-log2 "$seqpar_log2" 2>&1)
    seconds=$(awk -F, '/^csv,/ {s=$3} END {print s}' <<<"$log")
    memory=$(awk -F, '/^csv,/ {m=$4} END {print m}' <<<"$log")
    [ -n "$base" ] || base=$seconds
    echo "seqpar,$ranks,$seconds,,$(awk -v a="$base" -v b="$seconds" -v p="$ranks" 'BEGIN {printf "%.3f", a / (p * b)}'),$memory" | tee -a "$csv"
  done
}

case "$mode" in
  weak) sweep weak ;;
  strong) sweep strong ;;
  seqpar) seqpar ;;
  all) sweep weak; sweep strong; seqpar ;;
  *) echo "launch/scaling.sh: -m must be weak, strong, seqpar or all" >&2; exit 2 ;;
esac

if [ "$(wc -l < "$csv")" -le 1 ]; then
  echo "no measurements: nothing to plot"
elif command -v gnuplot >/dev/null; then
  gnuplot <<PLOT
set datafile separator ","
set terminal pngcairo size 900,500 noenhanced
set output "$out/scaling.png"
set title "Parseval scaling on $(hostname) ($(nproc) cores, $threads thread(s) per rank)"
set xlabel "ranks"
set ylabel "efficiency"
set yrange [0:1.2]
set logscale x 2
set xtics ($(echo $rank_list | sed 's/ /, /g'))
set key bottom left
set grid
plot 1 with lines dashtype 2 linecolor "gray" title "ideal", \
     "$csv" using (strcol(1) eq "weak" ? \$2 : 1/0):5 with linespoints title "data parallel, weak", \
     "$csv" using (strcol(1) eq "strong" ? \$2 : 1/0):5 with linespoints title "data parallel, strong", \
     "$csv" using (strcol(1) eq "seqpar" ? \$2 : 1/0):5 with linespoints title "sequence parallel, strong"
PLOT
  echo "wrote $csv and $out/scaling.png"
else
  echo "wrote $csv (gnuplot not installed: no plot; scripts/setup.sh installs it)"
fi
