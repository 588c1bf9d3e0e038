#!/usr/bin/env python3
"""Run the same training step in Parseval and in PyTorch (CPU, same threads), fp32 and bf16,
alternately for several rounds.

    python3 bench/compare_pytorch.py --mixer fftnet --threads 2 [--rounds 3 --precision both --sequence 4096 ...]

Precisions: Parseval's `training.precision: fp32 | bf16` (`bench step --precision`) against
PyTorch fp32 and `torch.autocast("cpu", dtype=torch.bfloat16)`. The ratio is throughput,
PyTorch step time / Parseval step time: above 1, Parseval is faster. Neither side gets an
environment variable: both run as installed.

A shared machine's speed drifts by tens of percent between minutes, so one pair of runs proves
little: each round runs both sides once as fresh processes, in alternating order (Parseval first
in odd rounds, PyTorch first in even ones), and the script prints every round, then the median
and the spread (min–max) of the ratio, with each side's peak resident memory (the process's
ru_maxrss) and the CPU (`lscpu`'s model name, family and model).

The model is the standard encoder of docs/benchmarks.md (pre-norm blocks, learned positions,
mean pooling, linear head; AdamW), with the mixer given: softmax attention, FNet, FFTNet
(the paper's v1 layer: per-head ortho rfft along the sequence, context-conditioned filter,
modReLU, irfft), GFNet's global filter, AFNO, or the Performer (positive random features, linear
in N). Kernelized attention with RPE has no PyTorch counterpart here: PyTorch has no Toeplitz
FFT product, and the O(N²) reference of scripts/reference would not be a fair opponent. Parseval's time comes from `parseval bench step` with the same sizes. Without
torch the script says so and exits 0: `pip install torch` to compare.
"""
import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time


def run_measured(command):
    """Runs `command` and returns its standard output (each side reports its own peak memory)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    output, errors = process.communicate()
    if process.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({process.returncode}):\n{errors}")
    return output


def parseval_step(args, precision):
    binary = os.path.join(os.path.dirname(__file__), "..", ".build", "release", "parseval")
    command = [binary, "bench", "step", "--mixer", args.mixer, "--threads", str(args.threads),
               "--sequence", str(args.sequence), "--batch", str(args.batch), "--dim", str(args.dim),
               "--mlp", str(args.mlp), "--heads", str(args.heads), "--depth", str(args.depth),
               "--repeats", str(args.repeats), "--warmup", str(args.warmup), "--precision", precision]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    output, errors = process.communicate()
    if process.returncode != 0:
        sys.exit(f"parseval bench step failed ({process.returncode}):\n{errors}")
    match = re.search(r"^step time\s+([0-9.]+) s", output, re.MULTILINE)
    if not match:
        sys.exit(f"could not read the step time from:\n{output}")
    products = re.search(r"^# (matrix products: .*)$", output, re.MULTILINE)
    peak = re.search(r"^peak resident memory\s+([0-9.]+) MB", output, re.MULTILINE)
    return {"seconds": float(match.group(1)), "peak_mb": float(peak.group(1)) if peak else float("nan"),
            "engine": products.group(1) if products else "matrix products: ?"}


def pytorch_step(args, precision):
    """PyTorch's step in a fresh process of this script (`--pytorch-only`): a clean heap, so
    its peak resident memory is the step's."""
    command = [sys.executable, __file__, "--pytorch-only", "--precision", precision]
    for name in ["mixer", "threads", "sequence", "batch", "dim", "mlp", "heads", "depth", "vocabulary", "repeats", "warmup",
                 "features"]:
        command += [f"--{name}", str(getattr(args, name))]
    return json.loads(run_measured(command).strip().splitlines()[-1])


def cpu_name():
    """lscpu's model name, family and model, as every figure in docs/ names its machine."""
    try:
        fields = dict(line.split(":", 1) for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
                      if ":" in line)
        fields = {key.strip(): value.strip() for key, value in fields.items()}
        return f"{fields.get('Model name', '?')} (family {fields.get('CPU family', '?')}, model {fields.get('Model', '?')})"
    except OSError:
        return "unknown CPU (no lscpu)"


def build_model(torch, args):
    nn = torch.nn
    dim, heads, length = args.dim, args.heads, args.sequence
    bins = length // 2 + 1

    class FFTNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(dim, dim)
            self.fc2 = nn.Linear(dim, heads * bins)
            self.base = nn.Parameter(torch.ones(heads, bins))
            self.bias = nn.Parameter(torch.full((heads, bins), -0.1))

        def forward(self, x):
            b = x.shape[0]
            z = torch.fft.rfft(x.view(b, length, heads, dim // heads), dim=1, norm="ortho")  # (B, F, H, dh)
            context = x.mean(dim=1)
            delta = self.fc2(nn.functional.gelu(self.fc1(context))).view(b, heads, bins)
            weight = (self.base + delta).transpose(1, 2).unsqueeze(-1)                       # (B, F, H, 1)
            z = z * weight
            magnitude = z.abs()
            z = z * torch.relu(magnitude + self.bias.t().unsqueeze(-1)) / (magnitude + 1e-6)
            return torch.fft.irfft(z, n=length, dim=1, norm="ortho").reshape(b, length, dim)

    class FNet(nn.Module):
        def forward(self, x):
            return torch.fft.fft2(x, dim=(1, 2)).real

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.MultiheadAttention(dim, heads, batch_first=True)

        def forward(self, x):
            return self.inner(x, x, x, need_weights=False)[0]

    class GFNet(nn.Module):
        """GFNet's global filter along the sequence (Rao et al.): irfft(rfft(x) ⊙ W), W ∈ ℂ^{F×D}."""
        def __init__(self):
            super().__init__()
            self.filter = nn.Parameter(torch.randn(bins, dim, 2) * 0.02)

        def forward(self, x):
            z = torch.fft.rfft(x, dim=1, norm="ortho")
            return torch.fft.irfft(z * torch.view_as_complex(self.filter), n=length, dim=1, norm="ortho")

    class AFNO(nn.Module):
        """AFNO (Guibas et al.): per channel block, a two-layer complex MLP over every frequency,
        ReLU on real and imaginary parts, soft-shrinkage 0.01, added to the input."""
        def __init__(self):
            super().__init__()
            size = dim // heads
            self.w1, self.w2 = (nn.Parameter(0.02 * torch.randn(2, heads, size, size)) for _ in range(2))
            self.b1, self.b2 = (nn.Parameter(0.02 * torch.randn(2, heads, size)) for _ in range(2))

        def forward(self, x):
            b = x.shape[0]
            z = torch.fft.rfft(x, dim=1, norm="ortho").reshape(b, bins, heads, dim // heads)
            p = torch.einsum("bfki,kio->bfko", z, torch.complex(self.w1[0], self.w1[1])) + torch.complex(self.b1[0], self.b1[1])
            o1 = torch.complex(torch.relu(p.real), torch.relu(p.imag))
            o2 = torch.einsum("bfki,kio->bfko", o1, torch.complex(self.w2[0], self.w2[1])) + torch.complex(self.b2[0], self.b2[1])
            s = torch.complex(nn.functional.softshrink(o2.real, 0.01), nn.functional.softshrink(o2.imag, 0.01))
            return x + torch.fft.irfft(s.reshape(b, bins, dim), n=length, dim=1, norm="ortho")

    class Performer(nn.Module):
        """Kernelized attention without positions (Choromanski et al.), linear in N: positive random
        features φ(x) = exp(Ωx′ − |x′|²/2 − max)/√m, x′ = x/d_h^{1/4}, out = φ(Q)(φ(K)ᵀ[V 1]) normalised."""
        def __init__(self):
            super().__init__()
            head_dim = dim // heads
            self.qkv, self.out = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
            self.register_buffer("omega", torch.randn(args.features, head_dim))

        def features(self, x, per_row):
            scaled = x / (x.shape[-1] ** 0.25)
            a = scaled @ self.omega.T - 0.5 * (scaled * scaled).sum(-1, keepdim=True)
            shift = a.amax(dim=-1, keepdim=True) if per_row else a.amax(dim=(-2, -1), keepdim=True)
            return torch.exp(a - shift.detach()) / math.sqrt(self.omega.shape[0])

        def forward(self, x):
            b = x.shape[0]
            q, k, v = (t.reshape(b, length, heads, -1).transpose(1, 2) for t in self.qkv(x).chunk(3, dim=-1))
            pq, pk = self.features(q.float(), True), self.features(k.float(), False)
            v1 = torch.cat([v.float(), torch.ones_like(v[..., :1], dtype=torch.float32)], dim=-1)
            sums = pq @ (pk.transpose(-1, -2) @ v1)
            out = sums[..., :-1] / sums[..., -1:].clamp_min(1e-6)
            return self.out(out.transpose(1, 2).reshape(b, length, dim).to(x.dtype))

    mixers = {"fftnet": FFTNet, "fnet": FNet, "attention": Attention, "gfnet": GFNet, "afno": AFNO,
              "performer": Performer}

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
            self.mixer = mixers[args.mixer]()
            self.mlp = nn.Sequential(nn.Linear(dim, args.mlp), nn.GELU(), nn.Linear(args.mlp, dim))

        def forward(self, x):
            x = x + self.mixer(self.norm1(x))
            return x + self.mlp(self.norm2(x))

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(args.vocabulary, dim)
            self.position = nn.Parameter(torch.randn(length, dim) * 0.02)
            self.blocks = nn.ModuleList(Block() for _ in range(args.depth))
            self.norm = nn.LayerNorm(dim)
            self.head = nn.Linear(dim, 10)

        def forward(self, tokens):
            x = self.embedding(tokens) + self.position
            for block in self.blocks:
                x = block(x)
            return self.head(self.norm(x).mean(dim=1))

    return Encoder()


def pytorch_step_seconds(torch, args, precision):
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    model = build_model(torch, args)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    tokens = torch.randint(1, args.vocabulary, (args.batch, args.sequence))
    labels = torch.randint(0, 10, (args.batch,))

    def step():
        optimizer.zero_grad(set_to_none=False)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = torch.nn.functional.cross_entropy(model(tokens), labels)
        loss.backward()
        optimizer.step()

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mixer", choices=["attention", "fnet", "fftnet", "gfnet", "afno", "performer"], default="fftnet")
    parser.add_argument("--features", type=int, default=64, help="random features of the Performer (Parseval's bench step: 64)")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--sequence", type=int, default=4096)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--mlp", type=int, default=1024)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--vocabulary", type=int, default=257)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--precision", choices=["fp32", "bf16", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of both sides (at least 3 to report)")
    parser.add_argument("--pytorch-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    precisions = ["fp32", "bf16"] if args.precision == "both" else [args.precision]
    try:
        import torch
    except ImportError:
        torch = None
    if args.pytorch_only:
        import resource
        seconds = pytorch_step_seconds(torch, args, precisions[0])
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6  # ru_maxrss is KiB on Linux; MB as Parseval prints
        print(json.dumps({"seconds": seconds, "peak_mb": peak, "torch": torch.__version__}))
        return
    print(f"# {args.mixer} encoder: depth {args.depth}, dim {args.dim}, mlp {args.mlp}, heads {args.heads}, "
          f"seq {args.sequence}, batch {args.batch}, {args.threads} threads; each side the median of {args.repeats} "
          f"steps, {args.rounds} alternating rounds")
    print(f"# CPU: {cpu_name()}")
    for precision in precisions:
        label = "fp32" if precision == "fp32" else "bf16 autocast"
        ratios, ours, theirs = [], [], []
        for round_number in range(1, args.rounds + 1):
            sides = ["parseval", "pytorch"] if round_number % 2 == 1 else ["pytorch", "parseval"]
            measured = {}
            for side in sides:
                if side == "parseval":
                    measured[side] = parseval_step(args, precision)
                elif torch is not None:
                    measured[side] = pytorch_step(args, precision)
            p = measured["parseval"]
            ours.append(p)
            line = f"{precision} round {round_number}: parseval {p['seconds']:.3f} s ({p['peak_mb']:.0f} MB)"
            if p["seconds"] <= 0:
                sys.exit("parseval's step is below bench step's printed resolution (1 ms): use a larger model")
            if "pytorch" in measured:
                t = measured["pytorch"]
                theirs.append(t)
                ratios.append(t["seconds"] / p["seconds"])
                line += f", pytorch {t['seconds']:.3f} s ({t['peak_mb']:.0f} MB), ratio {ratios[-1]:.2f}"
            print(line, flush=True)
        print(f"parseval {precision}: median {statistics.median(x['seconds'] for x in ours):.3f} s, "
              f"peak {max(x['peak_mb'] for x in ours):.0f} MB   ({ours[0]['engine']})")
        if torch is None:
            print(f"pytorch  {precision}: skipped: torch is not installed (pip install torch)")
            continue
        print(f"pytorch  {precision}: median {statistics.median(x['seconds'] for x in theirs):.3f} s, "
              f"peak {max(x['peak_mb'] for x in theirs):.0f} MB   (torch {theirs[0]['torch']}, {label})")
        print(f"throughput parseval / pytorch ({precision}): median {statistics.median(ratios):.2f}, "
              f"spread {min(ratios):.2f}–{max(ratios):.2f} over {len(ratios)} rounds")


if __name__ == "__main__":
    main()
