#!/usr/bin/env python3
"""Run the same training step in Parseval and in PyTorch (CPU, same threads), fp32 and bf16.

    python3 bench/compare_pytorch.py --mixer fftnet --threads 2 [--precision both --sequence 4096 ...]

Precisions: Parseval's `training.precision: fp32 | bf16` (`bench step --precision`) against
PyTorch fp32 and `torch.autocast("cpu", dtype=torch.bfloat16)`. The ratio printed is
throughput, PyTorch step time / Parseval step time: above 1, Parseval is faster. Neither side
gets an environment variable: both run as installed.

The model is DESIGN.md's standard encoder (pre-norm blocks, learned positions, mean pooling,
linear head; AdamW), with the mixer given: softmax attention, FNet, or FFTNet (MODELS.md's v1
layer: per-head ortho rfft along the sequence, context-conditioned filter, modReLU, irfft).
Parseval's time comes from `parseval bench step` with the same sizes. Without torch the
script says so and exits 0: `pip install torch` to compare.
"""
import argparse
import math
import os
import re
import statistics
import subprocess
import sys
import time


def parseval_step_seconds(args, precision):
    binary = os.path.join(os.path.dirname(__file__), "..", ".build", "release", "parseval")
    command = [binary, "bench", "step", "--mixer", args.mixer, "--threads", str(args.threads),
               "--sequence", str(args.sequence), "--batch", str(args.batch), "--dim", str(args.dim),
               "--mlp", str(args.mlp), "--heads", str(args.heads), "--depth", str(args.depth),
               "--repeats", str(args.repeats), "--warmup", str(args.warmup), "--precision", precision]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    match = re.search(r"^step time\s+([0-9.]+) s", output, re.MULTILINE)
    if not match:
        sys.exit(f"could not read the step time from:\n{output}")
    products = re.search(r"^# (matrix products: .*)$", output, re.MULTILINE)
    return float(match.group(1)), products.group(1) if products else "matrix products: ?"


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

    mixers = {"fftnet": FFTNet, "fnet": FNet, "attention": Attention}

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
    parser.add_argument("--mixer", choices=["attention", "fnet", "fftnet"], default="fftnet")
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
    args = parser.parse_args()

    precisions = ["fp32", "bf16"] if args.precision == "both" else [args.precision]
    try:
        import torch
    except ImportError:
        torch = None
    print(f"# {args.mixer} encoder: depth {args.depth}, dim {args.dim}, mlp {args.mlp}, heads {args.heads}, "
          f"seq {args.sequence}, batch {args.batch}, {args.threads} threads; median of {args.repeats}")
    for precision in precisions:
        parseval, products = parseval_step_seconds(args, precision)
        print(f"parseval {precision}  step {parseval:.3f} s   ({products})")
        if torch is None:
            print(f"pytorch  {precision}  skipped: torch is not installed (pip install torch)")
            continue
        pytorch = pytorch_step_seconds(torch, args, precision)
        label = "fp32" if precision == "fp32" else "bf16 autocast"
        print(f"pytorch  {precision}  step {pytorch:.3f} s   (torch {torch.__version__}, {label})")
        print(f"throughput parseval / pytorch ({precision}): {pytorch / parseval:.2f}")


if __name__ == "__main__":
    main()
