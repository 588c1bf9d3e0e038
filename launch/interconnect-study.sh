#!/usr/bin/env bash
# Scaling under interconnects, on the multi-host rig (scripts/cluster-sim.sh): for each link rate,
# two simulated hosts with one rank each, MPI over TCP only.
#
#   launch/interconnect-study.sh [--rates "1gbit 10gbit none"] [--out docs/scaling] [--quick]
#
# A rate is tc's (1gbit, 10gbit, …) or none (the veth links unshaped: about 10 Gbit/s here).
#
# Per rate it measures
#   - the gradient all-reduce's call (MPI_Iallreduce + wait) from 4 KiB to 64 MiB: the α–β fit;
#   - `bench step` of the standard encoder (attention, dim 256, 4 layers, sequence 1024): strong
#     scaling (global batch 4: 1 rank × 4, 2 ranks × 2) and weak scaling (2 per rank), the step
#     split into compute, exposed and overlapped communication, and gradient buckets of 1, 5, 25
#     and 100 MB at 2 ranks;
#   - `bench seqpar`: FFTNet's sequence-parallel mixing on 1 rank and across the 2 hosts.
# and writes interconnect-{allreduce,step,seqpar}.csv, interconnect-fit.csv and PNG plots (gnuplot)
# under --out. Needs root and a release build; runs about 10 minutes on 2 cores. Every rank runs
# one thread: the hosts share this machine's cores, so 2 ranks are the most that do not contend.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rates="1gbit 10gbit none"; out="$root/docs/scaling"; quick=0
while [ $# -gt 0 ]; do
  case "$1" in
    --rates) rates=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "interconnect-study: unknown option '$1'" >&2; exit 2 ;;
  esac
done
sim="$root/scripts/cluster-sim.sh"
bin="$root/.build/release/parseval"
[ -x "$bin" ] || { echo "interconnect-study: build first: swift build -c release" >&2; exit 2; }
"$sim" check || exit 3
mkdir -p "$out"
repeats=5; max_bytes=$((64 << 20))
[ "$quick" -eq 1 ] && { repeats=3; max_bytes=$((16 << 20)); }
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)

allreduce_csv="$out/interconnect-allreduce.csv"; step_csv="$out/interconnect-step.csv"; seqpar_csv="$out/interconnect-seqpar.csv"
echo "rate,bytes,seconds" > "$allreduce_csv"
echo "rate,scaling,ranks,batch_per_rank,bucket_mb,step_s,compute_s,exposed_s,allreduce_alone_s,overlapped_s,tokens_per_s,gradient_mb" > "$step_csv"
echo "rate,ranks,log2n,seconds,batch,dim" > "$seqpar_csv"

run() {  # run RANKS ARGS...: parseval on the rig, RANKS ranks one per host, one thread each
  local ranks=$1; shift
  "$sim" mpirun -np "$ranks" --map-by node -x PARSEVAL_THREADS=1 "$bin" "$@"
}

value() { awk -v key="$1" 'index($0, key) == 1 { sub(key, ""); print $1; exit }'; }

step() {  # step RATE SCALING RANKS BATCH BUCKET
  local output
  output=$(run "$3" bench step --sequence 1024 --batch "$4" --bucket-megabytes "$5" --repeats "$repeats" --warmup 1 2>&1)
  local time compute exposed alone overlapped tokens
  time=$(value "step time" <<<"$output"); tokens=$(value "tokens/s" <<<"$output")
  compute=$(value "compute" <<<"$output"); exposed=$(value "exposed comm" <<<"$output")
  alone=$(value "all-reduce alone" <<<"$output"); overlapped=$(value "overlapped comm" <<<"$output")
  local megabytes
  megabytes=$(sed -n 's/^parameters .*(\([0-9.]*\) MB).*/\1/p' <<<"$output")
  echo "$1,$2,$3,$4,$5,$time,${compute:-$time},${exposed:-0},${alone:-0},${overlapped:-0},$tokens,$megabytes" >> "$step_csv"
  echo "  $2 scaling, $3 rank(s) × batch $4, buckets $5 MB: step $time s, exposed ${exposed:-0} s, overlapped ${overlapped:-0} s"
}

for rate in $rates; do
  echo "== $rate"
  if [ "$rate" = "none" ]; then "$sim" up 2 --slots 1 >/dev/null; else "$sim" up 2 --slots 1 --rate "$rate" >/dev/null; fi
  run 2 bench allreduce --nonblocking --max-bytes "$max_bytes" --repeats "$repeats" 2>&1 \
    | awk -v rate="$rate" '/^ *[0-9]/ { print rate "," $1 "," $3 / 1e6 }' >> "$allreduce_csv"
  step "$rate" strong 1 4 25
  step "$rate" strong 2 2 25
  step "$rate" weak 1 2 25
  for bucket in 1 5 25 100; do step "$rate" weak 2 2 "$bucket"; done
  for ranks in 1 2; do
    run "$ranks" bench seqpar --min-log2 16 --max-log2 18 --repeats "$repeats" 2>&1 \
      | awk -v rate="$rate" '$1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ { printf "%s,%d,%d,%.6f,1,64\n", rate, $1, log($2) / log(2) + 0.5, $4 / 1000 }' \
      >> "$seqpar_csv" || true
  done
  "$sim" down >/dev/null
done

# α–β fit per rate, for the call the gradient all-reduce makes at 2 ranks, T(n) = 2α + n·β:
# β is the slope between the two largest messages (bandwidth-bound), α half of what the smallest
# message takes beyond n·β (latency-bound). A least-squares line over all sizes would let the
# large messages decide α.
awk -F, 'NR > 1 { k = ++n[$1]; size[$1, k] = $2; time[$1, k] = $3 }
  END { print "rate,alpha_us,beta_ns_per_byte,bandwidth_gbit";
        for (r in n) { m = n[r]; b = (time[r, m] - time[r, m - 1]) / (size[r, m] - size[r, m - 1]);
                       a = (time[r, 1] - size[r, 1] * b) / 2; if (a < 0) a = time[r, 1] / 2;
                       printf "%s,%.1f,%.4f,%.2f\n", r, a * 1e6, b * 1e9, 8 / (b * 1e9) } }' "$allreduce_csv" \
  > "$out/interconnect-fit.csv"
echo "wrote $allreduce_csv, $step_csv, $seqpar_csv, $out/interconnect-fit.csv"
cat "$out/interconnect-fit.csv"

python3 "$root/launch/scaling-model.py" "$out" > "$out/interconnect-model.md" && echo "wrote $out/interconnect-model.md"

if command -v gnuplot >/dev/null; then
  gnuplot <<EOF
set datafile separator ","
set terminal pngcairo size 900,560 noenhanced
set key left top
set grid
set output "$out/interconnect-allreduce.png"
set title "Gradient all-reduce (MPI_Iallreduce + wait), 2 simulated hosts over TCP — $cpu"
set xlabel "message (bytes)"; set ylabel "seconds"; set logscale xy
plot for [r in "$rates"] "< grep '^".r.",' $allreduce_csv" using 2:3 with linespoints title r
unset logscale
set output "$out/interconnect-step.png"
set title "Standard encoder step at 2 ranks (weak scaling, batch 2 per rank) by bucket size — $cpu"
set xlabel "gradient bucket (MB)"; set ylabel "seconds per step"; set logscale x
plot for [r in "$rates"] "< grep '^".r.",weak,2,' $step_csv" using 5:6 with linespoints title r." step", \
     for [r in "$rates"] "< grep '^".r.",weak,2,' $step_csv" using 5:8 with linespoints dashtype 2 title r." exposed comm"
EOF
  echo "wrote $out/interconnect-allreduce.png, $out/interconnect-step.png"
else
  echo "gnuplot not installed: no plots (scripts/setup.sh installs it)"
fi
