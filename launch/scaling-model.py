#!/usr/bin/env python3
"""The α–β scaling model of docs/distributed.md ("Across hosts: the scaling model"), fitted to
and checked against the multi-host rig's measurements, then used to predict efficiency at
16–1024 ranks on 25–200 Gbit/s fabrics.

    python3 launch/scaling-model.py docs/scaling > docs/scaling/interconnect-model.md

Reads interconnect-{fit,step,seqpar}.csv written by launch/interconnect-study.sh; prints
Markdown. Standard library only.

The model
---------
All-reduce of n bytes over P ranks (ring): T_ar(P, n) = 2(P−1)·α + 2(P−1)/P · n·β.
At P = 2 the rig measures the call the trainer makes (MPI_Iallreduce + wait) and fits
T = 2α + n·β, which gives α and β directly (interconnect-fit.csv).

Data parallelism, per-rank batch fixed (weak scaling): T(P) = T_c + (1 − h)·T_ar(P, S), with
T_c the step's compute at one rank, S the gradient bytes and h the share of the all-reduce the
step hides under backward (measured on the rig; the prediction uses the rig's value). Strong
scaling divides T_c by P. Efficiency E = T(1)/T(P) (weak) or T(1)/(P·T(P)) (strong).

Sequence parallelism (FFTNet mixing, FFTW-MPI transposes, strong scaling in the sequence):
T(P) = T_1/P + c·[(P−1)·α + (P−1)/P² · V·β], V the bytes of the mixed activation (batch·n·D·4),
c the number of full-array transposes per forward + backward (fitted at P = 2 over every rate
and length by least squares). Each all-to-all sends (P−1)/P of a rank's V/P bytes.

Predictions take α, β and η from the rig: β = 8/(η·rate) with η the fraction of the shaped
line rate the call achieved where the link was the bottleneck (the 1 Gbit/s rig), and α from
the rig's TCP fit (an RDMA fabric's α is smaller, which only helps).
"""
import csv
import sys
from collections import defaultdict


def read(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def main(folder):
    fit = {row["rate"]: (float(row["alpha_us"]) * 1e-6, float(row["beta_ns_per_byte"]) * 1e-9) for row in read(f"{folder}/interconnect-fit.csv")}
    steps = read(f"{folder}/interconnect-step.csv")
    seqpar = read(f"{folder}/interconnect-seqpar.csv")
    rates = [rate for rate in ["1gbit", "10gbit", "100gbit", "none"] if rate in fit] + sorted(set(fit) - {"1gbit", "10gbit", "100gbit", "none"})

    print("### Fitted costs (gradient all-reduce call, 2 ranks on 2 simulated hosts, TCP)\n")
    print("| link | α (µs) | β (ns/byte) | effective rate (Gbit/s) |")
    print("|---|---|---|---|")
    for rate in rates:
        alpha, beta = fit[rate]
        print(f"| {rate} | {alpha * 1e6:.1f} | {beta * 1e9:.3f} | {8 / (beta * 1e9):.2f} |")

    # Data parallelism: every measured 2-rank point against the model.
    print("\n### Data parallelism: model against every rig point\n")
    print("Predicted step = T_c + (1 − h)·(2α + S·β), with T_c the one-rank step for the same per-rank")
    print("batch (strong: half the one-rank step of the global batch) and h the hidden share measured")
    print("at the same point; `h = 0` is the prediction without overlap.\n")
    print("| link | scaling | buckets (MB) | T_c (s) | S (MB) | h | exposed: measured / model (s) | step: measured / model (s) | error | step, h = 0 (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    errors = []
    hidden = []
    for rate in rates:
        alpha, beta = fit[rate]
        rows = [row for row in steps if row["rate"] == rate]
        single = {(row["scaling"], int(row["batch_per_rank"])): float(row["step_s"]) for row in rows if row["ranks"] == "1"}
        for row in rows:
            if row["ranks"] != "2":
                continue
            scaling, batch = row["scaling"], int(row["batch_per_rank"])
            compute = single[(scaling, batch)] if scaling == "weak" else single[("strong", 2 * batch)] / 2
            size = float(row["gradient_mb"]) * 1e6
            alone, overlapped, exposed = float(row["allreduce_alone_s"]), float(row["overlapped_s"]), float(row["exposed_s"])
            h = overlapped / alone if alone > 0 else 0.0
            hidden.append(h)
            allreduce = 2 * alpha + size * beta
            model_exposed = (1 - h) * allreduce
            measured, model = float(row["step_s"]), compute + model_exposed
            error = (model - measured) / measured
            errors.append(abs(error))
            print(f"| {rate} | {scaling} | {row['bucket_mb']} | {compute:.3f} | {size / 1e6:.1f} | {h:.2f} | "
                  f"{exposed:.3f} / {model_exposed:.3f} | {measured:.3f} / {model:.3f} | {100 * error:+.1f}% | {compute + allreduce:.3f} |")
    if errors:
        print(f"\nLargest step-time error over the {len(errors)} points: {100 * max(errors):.1f}%.")

    # Sequence parallelism: fit c over every rate and length, then check every point.
    print("\n### Sequence parallelism (FFTNet mixing): model against every rig point\n")
    by = defaultdict(dict)
    for row in seqpar:
        by[(row["rate"], int(row["log2n"]))][int(row["ranks"])] = (float(row["seconds"]), int(row["batch"]), int(row["dim"]))
    pairs = []
    for (rate, log2n), ranks in sorted(by.items()):
        if 1 in ranks and 2 in ranks and rate in fit:
            (t1, batch, dim), (t2, _, _) = ranks[1], ranks[2]
            volume = batch * (1 << log2n) * dim * 4
            alpha, beta = fit[rate]
            pairs.append((rate, log2n, t1, t2, volume, alpha + volume * beta / 4))
    numerator = sum((t2 - t1 / 2) * unit for _, _, t1, t2, _, unit in pairs)
    denominator = sum(unit * unit for *_, unit in pairs)
    c = numerator / denominator if denominator > 0 else 0.0
    print(f"Fitted c = {c:.1f} full-array transposes per forward + backward (least squares over {len(pairs)} points).\n")
    print("| link | n | T_1 (s) | T(2): measured / model (s) | error |")
    print("|---|---|---|---|---|")
    sp_errors = []
    for rate, log2n, t1, t2, volume, unit in pairs:
        model = t1 / 2 + c * unit
        sp_errors.append(abs(model - t2) / t2)
        print(f"| {rate} | 2^{log2n} | {t1:.3f} | {t2:.3f} / {model:.3f} | {100 * (model - t2) / t2:+.1f}% |")
    if sp_errors:
        print(f"\nLargest error over the {len(sp_errors)} points: {100 * max(sp_errors):.1f}%.")

    # Predictions.
    if "1gbit" not in fit:
        return
    eta = (8 / (fit["1gbit"][1] * 1e9)) / 1.0
    alpha = max(value[0] for value in fit.values())
    weak = [row for row in steps if row["scaling"] == "weak" and row["bucket_mb"] == "25"]
    compute = next(float(row["step_s"]) for row in weak if row["ranks"] == "1")
    size = float(next(row["gradient_mb"] for row in weak if row["ranks"] == "2")) * 1e6
    h = 0.0
    print(f"\n### Predictions (α = {alpha * 1e6:.1f} µs, η = {eta:.2f} of the line rate, h = {h:.0f})\n")
    print(f"Data parallelism, weak scaling, the standard encoder as measured: T_c = {compute:.3f} s per step "
          f"(this CPU, one thread, batch 2 × 1024), S = {size / 1e6:.1f} MB. Efficiency T(1)/T(P):\n")
    counts = [16, 64, 256, 1024]
    fabrics = [25, 100, 200]

    def table(efficiency):
        """Rows of efficiency(p, beta) per fabric rate, columns per rank count."""
        print("| fabric | " + " | ".join(f"P = {p}" for p in counts) + " |")
        print("|---" * (len(counts) + 1) + "|")
        for gbit in fabrics:
            beta = 8 / (eta * gbit * 1e9)
            print(f"| {gbit} Gbit/s | " + " | ".join(f"{efficiency(p, beta):.2f}" for p in counts) + " |")

    def data_parallel(p, beta):
        allreduce = 2 * (p - 1) * alpha + 2 * (p - 1) / p * size * beta
        return compute / (compute + (1 - h) * allreduce)

    table(data_parallel)
    largest = max(by)[1] if by else 18
    t1_values = [value[1][0] for key, value in by.items() if key[1] == largest and 1 in value]
    if t1_values:
        t1 = min(t1_values)
        volume = 1 * (1 << largest) * 64 * 4
        print(f"\nSequence parallelism, FFTNet mixing of one sequence of n = 2^{largest} (D = 64), T_1 = {t1:.3f} s, "
              f"c = {c:.1f}. Efficiency T_1/(P·T(P)):\n")
        table(lambda p, beta: t1 / (p * (t1 / p + c * ((p - 1) * alpha + (p - 1) / (p * p) * volume * beta))))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/scaling")
