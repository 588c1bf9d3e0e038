#!/usr/bin/env python3
"""Training parity between Parseval and the official FFTNet code (jacobfa/fft at 72d20e1).

Trains the OFFICIAL module (`FFTNetLRA` of lra/fftnet.py and lra/fftnet_modules.py, imported from
a checkout given on the command line; nothing of that repository is copied into Parseval) and
Parseval from the same initial weights, on the same batches in the same order, dropout off, with
the same optimizer and schedule, and compares the training loss at every step.

Run by hand (never in CI); needs PyTorch, a checkout of the official code and (for `run` and
`order`) a built `parseval` binary:

    git clone <jacobfa/fft> /work/fft-72d20e1 && git -C /work/fft-72d20e1 checkout 72d20e1
    python3 scripts/reference/parity_train.py run --official /work/fft-72d20e1 \\
        --parseval .build/debug/parseval --data data/listops-tiny --steps 300 --out /tmp/parity
    python3 scripts/reference/parity_train.py fixture --official /work/fft-72d20e1
    python3 scripts/reference/parity_train.py order --parseval .build/debug/parseval \\
        --data data/listops-tiny --out /tmp/parity-order
    python3 scripts/reference/parity_train.py drift --official /work/fft-72d20e1 --data data/listops-tiny
    python3 scripts/reference/parity_train.py study --model fftnet --official /work/fft-72d20e1 \\
        --data data/study/listops --seed 1 --out /tmp/official-study/fftnet-s1
    python3 scripts/reference/parity_train.py study --model transformer \\
        --official /work/fourier-transformer-cba1dc2 --data data/study/listops --seed 1 --out /tmp/official-study/transformer-s1

Modes

  run      Writes a Parseval config (model.mixer fftnet, block paper, pooling cls, embedding scalar,
           dropout 0; optimizer adamw, weight_decay 0, gradient_clip 0; schedule constant, warmup
           0; training.log_every 1), draws the initial weights with the official module's own
           initialisation (`torch.manual_seed(--init-seed)`, then `FFTNetLRA(...)`), renames them
           to Parseval's names (OFFICIAL_TO_PARSEVAL, checked by name and shape both ways),
           `parseval checkpoint seal`s them into the run folder at step 0 and runs `parseval train`,
           which resumes from that checkpoint: both sides start from one set of weights. The
           official module then trains on the batches Parseval's trainer draws (ported below:
           `parseval_batches`) with torch.optim.Adam in float32 (no AMP), and the same again in
           float64. Writes OUT/curve.csv (step, parseval_loss, official_loss, abs_diff, rel_diff,
           official64_loss, fp32_drift) and prints the largest relative difference over the first
           10, 100 and all steps, and the final parameters' largest difference.
           If --data has no basic_train.tsv it is generated: `parseval generate listops --preset
           small --out DATA`.
  fixture  Writes Tests/Fixtures/parity/fftnet.safetensors for Parseval's Swift parity test: a tiny
           model (FIXTURE below), its official initialisation, 8 batches, and the official module's
           loss before each Adam step (float64, from the float32 initial weights).
  order    Checks the batch-order port alone, with any Parseval (no class token or scalar embedding
           needed): Parseval's own paper-block FFTNet (token embedding, mean pooling) at a learning
           rate of 1e-30, so its weights stay put and each step's loss is a pure function of the
           step's batch; reference_state.py's re-implementation of that model must give the same
           loss on `parseval_batches`'s batch for every step, across several epochs.
  drift    Only the float32-vs-float64 drift of the official module on the run's batches (no
           Parseval): the numbers behind the tolerance below.
  study    An official model at the small study's ListOps cell (launch/lra-study.sh `small_settings
           listops`), no Parseval: `--model fftnet` is FFTNetLRA (this checkout, 72d20e1),
           `--model transformer` LUMIA-Group/FourierTransformer cba1dc2's `ModelForSC` with
           `attn_type softmax` (its LRA/code imported from --official). Sizes dim 64, depth 2, 4 heads,
           MLP 128, dropout 0.1; each code's own initialisation after torch.manual_seed(--seed);
           Parseval's batches for training.seed --seed (`parseval_batches`, batch 16, 600 steps);
           Parseval's optimizer: torch.optim.AdamW (0.9, 0.98), ε 1e-9, decay 0.1 on every
           nn.Linear weight only, global-norm clipping at 1.0, the `cosine` schedule (warmup 60, final
           ratio 0) per step; fp32, dropout on; the full validation split every 100 steps, the best
           (strictly better, so the earlier on a tie) weights tested on the test split. Writes
           OUT/config.json and OUT/metrics.jsonl (train every 20 steps, validation, test).

Batches (Sources/Training/RunAssembly.swift, Datasets/DistributedSampler.swift, Batcher.swift,
BatchPrefetcher.swift, Training/Trainer.swift `nextBatch`): seed s = training.seed as UInt64; epoch
e's order is RandomStream(seed: s).derived(e).permutation(count) (Philox4x32-10, Fisher–Yates with
Lemire's `integer(below:)`); one rank, so no padding or sharding of the order; batch k of an epoch is
order[kB ..< (k+1)B] and the last, partial batch is dropped (dropLastBatch true); epochs follow one
another from 0. Tokens: ListOpsLoader (round_trip.py's `listops_split`): `(` `)` dropped,
whitespace-split, ids 0 pad, 1–10 digits, 11–14 [MIN [MAX [MED [SM, 15 `]`; truncated to
data.sequence_length and padded with 0 at the end. The official module gets those ids as floats,
(B, N, 1) — exactly what `model.embedding: scalar` embeds.

Loss: Parseval's metrics.jsonl "train" record of step t (training.log_every 1) is the mean
cross-entropy of step t's batch before step t's update — the official loss.item() of step t.

Optimizer: torch.optim.Adam(lr, betas (0.9, 0.999), eps 1e-8, weight_decay 0) is Parseval's
AdamW at weight_decay 0 (decay factor 1 − lr·0 = 1; update lr·(m/(1−β₁ᵗ))/(√(v/(1−β₂ᵗ))+ε), the same
expression up to rounding); optimizer.gradient_clip 0 turns clipping off (Trainer.trainStep:
`clip > 0 ? clipGradientNorm : gradientNorm`); schedule constant with warmup 0 gives lr at step 0.

Tolerance (derivation; `drift` and `fixture` print the numbers; measured with torch 2.13 CPU, one
thread). The official module trained in float32 and in float64 from the same float32 initial
weights on the same batches: a correct float32 implementation, Parseval included, sits at about
that distance from the float64 curve, and two float32 implementations about as far from each other.
  * Fixture model (D 16, depth 2, H 2, N 32, B 4, lr 5e-4, 8 steps, init draw 2): |L32 − L64| ≤ 8.0e-7
    at every step (3.6e-7 relative); Parseval's CLI replaying the fixture (`fixture --parseval`):
    ≤ 6.9e-7 from float64. Tolerance TOLERANCE: |L(t) − L64(t)| ≤ 1e-6 + 1e-6·√t + 2e-6·|L64(t)|
    (9e-6 at t = 1 … 2, about 10× the measured drift), while the Adam updates move every later loss
    by ≥ 3.9e-3 (lr 0 vs 5e-4): a missing or wrong update fails by ~400× the tolerance. The √t term
    is the random-walk growth of rounding differences fed back through the weights; the relative
    term the rounding of the loss itself (log-sum-exp of O(1) logits in float32).
  * This only holds while no element of modReLU's input |Z'| + β crosses zero between the two runs
    (the ReLU kink: there the two gradients differ by O(1) in that element). The fixture's draw keeps
    the input ≥ 1.5e-4 from the kink over all 8 steps (draws 1, 3–8: 4e-6 … 7e-5) — about 1000× the
    float32 rounding of |Z'|. Training longer, crossings are certain: in the `run` setup (D 64,
    depth 2, H 4, N 256, B 32, lr 5e-4, ListOps small) float32 and float64 agree to ≤ 1.2e-6
    (≤ 3.6e-7 relative) for 18 steps; at step 19 a crossing (blocks.0.mlp.3.weight's gradient 5.0e-2
    vs 3.5e-3 in one element at step 18) makes it 5.6e-5, and the difference then grows
    chaotically: max 8.8e-4 (4.3e-4 relative) over 100 steps, 1.1e-2 (7.3e-3) over 300. Float32
    against float32 with the initial weights one ulp up: 1.6e-3 (7.1e-4) over 100, 3.4e-2 (1.8e-2)
    over 300. So a long run has no per-step tolerance: Parseval is at parity when its distance to
    the official float32 curve stays inside that envelope (`run` prints both), and when it matches
    to ~1e-6 before the first crossing.

Fixture contract (`Tests/Fixtures/parity/fftnet.safetensors`), all tensors F32 little-endian:
    __metadata__              "config": JSON {"model": …, "optimizer": …, "schedule": …, "training": …},
                              Parseval's keys, snake_case; "official": repo, commit and files;
                              "tolerance": JSON (formula and constants); "generator"
    init.<parseval name>      every Parseval parameter before the first step, Parseval's shapes
    batch.tokens              (S, B, N) token ids as float32 (0 = pad, at the end of rows)
    batch.labels              (S, B)
    official.losses           (S,) the official module's loss before each Adam update (float64 run)
    official.losses_float32   (S,) the same in float32 (the drift the tolerance allows for)
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_state import (  # noqa: E402  (the reference modules live next to this script)
    REPOSITORY,
    EncoderClassifier,
    ModelConfig,
    _Philox,
    read_safetensors,
    write_safetensors,
)
from round_trip import Parseval, listops_split, step_folder, write_config  # noqa: E402

OFFICIAL_REPOSITORY = "github.com/jacobfa/fft"
OFFICIAL_COMMIT = "72d20e1"
OFFICIAL_FILES = ("lra/fftnet.py", "lra/fftnet_modules.py")
FIXTURE_PATH = REPOSITORY / "Tests" / "Fixtures" / "parity" / "fftnet.safetensors"

# ----------------------------------------------------------------------------------------------
# Configuration


@dataclass
class Setup:
    """One parity experiment: Parseval's keys and the official constructor's arguments."""

    dim: int = 64
    depth: int = 2
    heads: int = 4
    mlp_hidden: int = 256  # mlp_ratio 4
    classes: int = 10
    vocabulary_size: int = 16  # ListOps ids; unused by the scalar embedding but part of the config
    sequence_length: int = 256  # data.sequence_length = model.max_length; the mixers see N + 1
    batch_size: int = 32
    learning_rate: float = 5e-4  # the official train.py's default
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    seed: int = 0  # training.seed: the shuffle
    init_seed: int = 0  # torch.manual_seed before FFTNetLRA(...): the initial weights

    @property
    def bins(self) -> int:
        return (self.sequence_length + 1) // 2 + 1

    def model_keys(self) -> dict:
        return {"mixer": "fftnet", "block": "paper", "pooling": "cls", "embedding": "scalar",
                "dim": self.dim, "depth": self.depth, "heads": self.heads, "mlp_hidden": self.mlp_hidden,
                "dropout": 0, "max_length": self.sequence_length, "vocabulary_size": self.vocabulary_size,
                "classes": self.classes}

    def optimizer_keys(self) -> dict:
        return {"name": "adamw", "learning_rate": self.learning_rate, "beta1": self.beta1, "beta2": self.beta2,
                "epsilon": self.epsilon, "weight_decay": 0, "gradient_clip": 0}

    def schedule_keys(self) -> dict:
        return {"kind": "constant", "warmup_steps": 0}


# The Swift test's model: small enough to replay in well under a second.
FIXTURE = Setup(dim=16, depth=2, heads=2, mlp_hidden=64, sequence_length=32, batch_size=4, learning_rate=5e-4,
                init_seed=2)  # draw 2: modReLU inputs stay ≥ 1.5e-4 from the kink (draws 1, 3–8: 4e-6…7e-5)
FIXTURE_STEPS = 8

# ----------------------------------------------------------------------------------------------
# The official module


def verified_checkout(path: Path, files, repository: str, commit: str) -> Path:
    """`path` resolved, once it is a checkout of `repository` at `commit` whose `files` exist
    unmodified: the comparison is with that code and no other."""
    path = Path(path).resolve()
    for file in files:
        if not (path / file).is_file():
            raise FileNotFoundError(f"--official {path}: no {file} (a checkout of {repository})")
    head = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    if not head.startswith(commit):
        raise RuntimeError(f"--official {path} is at {head or 'an unknown commit'}, not {commit}")
    dirty = subprocess.run(["git", "-C", str(path), "status", "--porcelain", "--", *files],
                           capture_output=True, text=True).stdout.strip()
    if dirty:
        raise RuntimeError(f"--official {path}: the official files are modified:\n{dirty}")
    return path


def import_official(path: Path):
    """`FFTNetLRA` from the checkout at `path` (its lra/ folder on sys.path, as its train.py runs).
    Refuses a checkout at another commit: the parity is with 72d20e1's code."""
    path = verified_checkout(path, OFFICIAL_FILES, OFFICIAL_REPOSITORY, OFFICIAL_COMMIT)
    sys.path.insert(0, str(path / "lra"))
    from fftnet import FFTNetLRA  # noqa: E402  (the official code)

    return FFTNetLRA


def official_model(FFTNetLRA, setup: Setup):
    """The official module as its train.py builds it for ListOps (input_dim 1, seq_len =
    max_length, adaptive filter), with dropout 0, initialised by its own `_init_weights` after
    `torch.manual_seed(init_seed)`."""
    torch.manual_seed(setup.init_seed)
    return FFTNetLRA(seq_len=setup.sequence_length, input_dim=1, num_classes=setup.classes, embed_dim=setup.dim,
                     depth=setup.depth, mlp_ratio=setup.mlp_hidden / setup.dim, dropout=0.0, num_heads=setup.heads,
                     adaptive_spectral=True)


def name_map(setup: Setup) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Parseval name -> (official state_dict name, Parseval shape). The official tensors of shape
    (H, F, 1) and (1, N+1, D) are Parseval's (H, F) and (N+1, D); everything else is the same
    array. Head h of the filter is fc2's rows h·F ..< (h+1)·F on both sides (`.view(B, H, F, 1)`)
    and channels h·D/H ..< (h+1)·D/H of x (`.view(B, N, H, D/H)`)."""
    d, h, f, hidden, n = setup.dim, setup.heads, setup.bins, setup.mlp_hidden, setup.sequence_length
    table = {
        "embedding.weight": ("token_embed.proj.weight", (d, 1)),
        "embedding.bias": ("token_embed.proj.bias", (d,)),
        "cls_token": ("cls_token", (1, 1, d)),
        "position": ("pos_embed", (n + 1, d)),
    }
    for layer in range(setup.depth):
        p, o = f"blocks.{layer}", f"blocks.{layer}"
        table.update({
            f"{p}.norm1.weight": (f"{o}.attention.norm.weight", (d,)),
            f"{p}.norm1.bias": (f"{o}.attention.norm.bias", (d,)),
            f"{p}.mixer.filter.fc1.weight": (f"{o}.attention.adaptive_mlp.0.weight", (d, d)),
            f"{p}.mixer.filter.fc1.bias": (f"{o}.attention.adaptive_mlp.0.bias", (d,)),
            f"{p}.mixer.filter.fc2.weight": (f"{o}.attention.adaptive_mlp.2.weight", (h * f, d)),
            f"{p}.mixer.filter.fc2.bias": (f"{o}.attention.adaptive_mlp.2.bias", (h * f,)),
            f"{p}.mixer.filter.base": (f"{o}.attention.base_filter", (h, f)),
            f"{p}.mixer.modrelu.bias": (f"{o}.attention.modrelu_bias", (h, f)),
            f"{p}.norm2.weight": (f"{o}.norm.weight", (d,)),
            f"{p}.norm2.bias": (f"{o}.norm.bias", (d,)),
            f"{p}.mlp.fc1.weight": (f"{o}.mlp.0.weight", (hidden, d)),
            f"{p}.mlp.fc1.bias": (f"{o}.mlp.0.bias", (hidden,)),
            f"{p}.mlp.fc2.weight": (f"{o}.mlp.3.weight", (d, hidden)),
            f"{p}.mlp.fc2.bias": (f"{o}.mlp.3.bias", (d,)),
        })
    table.update({
        "norm.weight": ("norm.weight", (d,)),
        "norm.bias": ("norm.bias", (d,)),
        "head.weight": ("head.weight", (setup.classes, d)),
        "head.bias": ("head.bias", (setup.classes,)),
    })
    return table


def to_parseval(model, setup: Setup) -> dict[str, torch.Tensor]:
    """The official module's parameters under Parseval's names and shapes. Fails on any official
    tensor left unmapped, any mapped name it lacks, and any element count that differs."""
    state = dict(model.state_dict())
    table = name_map(setup)
    mapped = {official for official, _ in table.values()}
    unmapped, missing = sorted(set(state) - mapped), sorted(mapped - set(state))
    if unmapped or missing:
        raise KeyError(f"official tensors without a Parseval name: {unmapped}; mapped names the module lacks: {missing}")
    result = {}
    for name, (official, shape) in table.items():
        tensor = state[official]
        if tuple(s for s in tensor.shape if s != 1) != tuple(s for s in shape if s != 1):
            raise ValueError(f"{official} {list(tensor.shape)} is not Parseval's {name} {list(shape)} up to unit axes")
        result[name] = tensor.detach().clone().reshape(shape)
    return result


def load_into_official(model, tensors: dict[str, torch.Tensor], setup: Setup):
    """The inverse of `to_parseval`: Parseval-named tensors into the official module."""
    table = name_map(setup)
    unknown, missing = sorted(set(tensors) - set(table)), sorted(set(table) - set(tensors))
    if unknown or missing:
        raise KeyError(f"unknown Parseval tensors {unknown}; missing {missing}")
    state = model.state_dict()
    with torch.no_grad():
        for name, (official, shape) in table.items():
            if tuple(tensors[name].shape) != shape:
                raise ValueError(f"{name} has shape {list(tensors[name].shape)}, expected {list(shape)}")
            state[official].copy_(tensors[name].reshape(state[official].shape))


def check_against_checkpoint(names_and_shapes: dict[str, tuple[int, ...]], setup: Setup):
    """Parseval's own checkpoint must hold exactly the mapped names with the mapped shapes."""
    table = name_map(setup)
    unknown, missing = sorted(set(names_and_shapes) - set(table)), sorted(set(table) - set(names_and_shapes))
    wrong = [f"{n} {list(names_and_shapes[n])} vs {list(table[n][1])}" for n in table
             if n in names_and_shapes and tuple(names_and_shapes[n]) != table[n][1]]
    if unknown or missing or wrong:
        raise KeyError(f"Parseval's checkpoint and the name map differ: not mapped {unknown}, absent {missing}, "
                       f"shapes {wrong}")


# ----------------------------------------------------------------------------------------------
# Parseval's batch order


MASK64 = (1 << 64) - 1


class RandomStream(_Philox):
    """Sources/TensorCore/RandomStream.swift: Philox4x32-10 keyed by the seed, counter (block,
    stream), outputs consumed 32 bits at a time (reference_state's `_Philox`), with `derived`,
    `integer(below:)` (Lemire) and `permutation` (Fisher–Yates from the end) ported exactly."""

    def derived(self, *components: int) -> "RandomStream":
        mixed = self.stream
        for component in components:
            mixed = splitmix64((mixed + 0x9E3779B97F4A7C15 + component) & MASK64)
        return RandomStream(self.seed, mixed)

    def next64(self) -> int:
        high = self.next32()
        return (high << 32) | self.next32()

    def integer_below(self, bound: int) -> int:
        assert bound > 0
        product = self.next64() * bound
        if product & MASK64 < bound:
            threshold = ((1 << 64) - bound) % bound
            while product & MASK64 < threshold:
                product = self.next64() * bound
        return product >> 64

    def permutation(self, count: int) -> list[int]:
        values = list(range(count))
        for i in range(count - 1, 0, -1):
            j = self.integer_below(i + 1)
            values[i], values[j] = values[j], values[i]
        return values


def splitmix64(value: int) -> int:
    z = value
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def check_philox() -> None:
    """Random123's known-answer vectors for Philox4x32-10 (also in RandomStreamTests.swift): the
    Swift-independent check of the generator core."""
    vectors = [((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
               ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
               ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
                (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1))]
    for counter, key, expected in vectors:
        stream = _Philox(key[0] | key[1] << 32, counter[2] | counter[3] << 32)
        got = tuple(stream.block(counter[0] | counter[1] << 32))
        assert got == expected, f"Philox known answer: {[hex(v) for v in got]} != {[hex(v) for v in expected]}"
    permutation = RandomStream(7).derived(3).permutation(1000)
    assert sorted(permutation) == list(range(1000)), "permutation is not one"


def parseval_batches(count: int, batch_size: int, seed: int, steps: int) -> list[tuple[int, list[int]]]:
    """(epoch, dataset indices) of each of the first `steps` training steps of a one-rank run
    without accumulation (global batch = local batch)."""
    seed &= MASK64  # UInt64(bitPattern: Int64(training.seed))
    per_epoch = count // batch_size  # Batcher.batchesPerEpoch with dropLastBatch
    if per_epoch == 0:
        raise ValueError(f"{count} examples hold no full batch of {batch_size}")
    batches, epoch = [], 0
    while len(batches) < steps:
        order = RandomStream(seed).derived(epoch).permutation(count)
        for k in range(per_epoch):
            batches.append((epoch, order[k * batch_size:(k + 1) * batch_size]))
        epoch += 1
    return batches[:steps]


# ----------------------------------------------------------------------------------------------
# Training the official module


def adam_losses(model, tokens: torch.Tensor, labels: torch.Tensor, plan, setup: Setup, dtype) -> list[float]:
    """Trains `model` (converted to `dtype`) with torch.optim.Adam on the plan's batches; returns
    the loss before each update (the official train.py's loop, fp32 or fp64, no AMP, no scaler)."""
    model = model.to(dtype)
    model.train()  # dropout 0: train and eval are the same
    optimizer = torch.optim.Adam(model.parameters(), lr=setup.learning_rate, betas=(setup.beta1, setup.beta2),
                                 eps=setup.epsilon, weight_decay=0)
    losses = []
    for _, indices in plan:
        x = tokens[indices].to(dtype).unsqueeze(-1)  # (B, N, 1): the official loop's unsqueeze
        y = labels[indices]
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def drift_report(f32: list[float], f64: list[float], marks=(1, 10, 100, 300, 1000)) -> list[str]:
    lines = []
    for mark in marks:
        if mark > len(f32):
            break
        diffs = [abs(a - b) for a, b in zip(f32[:mark], f64[:mark])]
        rel = [d / abs(b) for d, b in zip(diffs, f64[:mark])]
        lines.append(f"  first {mark:5d} steps: max |L32 − L64| {max(diffs):.3e}, max rel {max(rel):.3e}")
    return lines


# ----------------------------------------------------------------------------------------------
# Tolerance


@dataclass
class Tolerance:
    """|L_parseval(t) − L_official64(t)| ≤ absolute + per_sqrt_step·√t + relative·|L_official64(t)|,
    t = 1, 2, … Constants from the float32-vs-float64 drift (`tolerance_note`)."""

    absolute: float = 1e-6
    per_sqrt_step: float = 1e-6
    relative: float = 2e-6

    def bound(self, step: int, reference: float) -> float:
        return self.absolute + self.per_sqrt_step * math.sqrt(step) + self.relative * abs(reference)


TOLERANCE = Tolerance()

# ----------------------------------------------------------------------------------------------
# Modes


def ensure_data(parseval: Parseval | None, data: Path):
    if (data / "basic_train.tsv").is_file():
        return
    if parseval is None:
        raise FileNotFoundError(f"{data}/basic_train.tsv is missing; give --parseval to generate it")
    print(f"generating ListOps (small preset) into {data}")
    parseval("generate", "listops", "--preset", "small", "--out", data)


def parseval_config(path: Path, setup: Setup, data: Path, run: Path, steps: int, threads: int,
                    model: dict | None = None, optimizer: dict | None = None) -> Path:
    return write_config(path, {
        "model": model or setup.model_keys(),
        "data": {"task": "listops", "directory": data, "sequence_length": setup.sequence_length},
        "optimizer": optimizer or setup.optimizer_keys(),
        "schedule": setup.schedule_keys(),
        "training": {"steps": steps, "batch_size": setup.batch_size, "log_every": 1, "eval_every": 0,
                     "eval_batches": 1, "checkpoint_every": 0, "seed": setup.seed, "final_test": False},
        "parallel": {"threads": threads, "check_every": 0},
        "output": {"directory": run},
    })


def read_metrics(run: Path) -> dict[int, dict]:
    records = {}
    for line in (run / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record.get("split") == "train":
            records[record["step"]] = record
    return records


def seal_and_train(parseval: Parseval, config: Path, weights: Path, run: Path, steps: int) -> dict[int, dict]:
    """Seals `weights` at step 0 into `run` and trains from it (train resumes from the sealed
    checkpoint: no --fresh); returns the train records by step."""
    if run.exists():
        shutil.rmtree(run)
    parseval("checkpoint", "seal", "--config", config, "--weights", weights, "--run", run, "--step", 0)
    start = time.perf_counter()
    output = parseval("train", "--config", config)
    seconds = time.perf_counter() - start
    if "resumed from" not in output:
        print(output[-2000:])
        raise RuntimeError("parseval train did not resume from the sealed step-0 checkpoint")
    records = read_metrics(run)
    if sorted(records) != list(range(1, steps + 1)):
        raise RuntimeError(f"metrics.jsonl has train records for steps {sorted(records)[:5]}…, expected 1…{steps}")
    print(f"parseval: {steps} steps in {seconds:.1f} s")
    return records


def load_split(data: Path, setup: Setup):
    tokens, labels, _ = listops_split(data / "basic_train.tsv", setup.sequence_length)
    return tokens.to(torch.float64), labels


def prepare_run(args) -> tuple[Path, "Parseval", Path]:
    """The output folder (made), the Parseval binary and the ListOps folder (generated if empty)
    of a mode that runs Parseval."""
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    parseval = Parseval(args.parseval.resolve())
    data = args.data.resolve()
    ensure_data(parseval, data)
    return out, parseval, data


def mode_run(args) -> int:
    setup = Setup(dim=args.dim, depth=args.depth, heads=args.heads, mlp_hidden=4 * args.dim,
                  sequence_length=args.sequence_length, batch_size=args.batch_size, learning_rate=args.learning_rate,
                  seed=args.seed, init_seed=args.init_seed)
    out, parseval, data = prepare_run(args)
    FFTNetLRA = import_official(args.official)
    check_philox()

    # One set of initial weights: the official initialisation, renamed, sealed at step 0.
    initial = to_parseval(official_model(FFTNetLRA, setup), setup)
    weights = out / "init.safetensors"
    write_safetensors(weights, initial, {})
    config = parseval_config(out / "config.yaml", setup, data, out / "parseval-run", args.steps, args.threads)
    records = seal_and_train(parseval, config, weights, out / "parseval-run", args.steps)
    final_checkpoint = step_folder(out / "parseval-run") / "model.safetensors"
    parseval_final, _ = read_safetensors(final_checkpoint)
    check_against_checkpoint({n: tuple(t.shape) for n, t in parseval_final.items()}, setup)

    # The same batches for the official module.
    tokens, labels = load_split(data, setup)
    plan = parseval_batches(len(labels), setup.batch_size, setup.seed, args.steps)
    epochs = [records[t + 1]["epoch"] for t in range(args.steps)]
    if epochs != [epoch for epoch, _ in plan]:
        raise RuntimeError("Parseval's epoch of each step differs from the ported batch plan's")
    counts = {records[t + 1]["examples"] for t in range(args.steps)}
    if counts != {setup.batch_size}:
        raise RuntimeError(f"Parseval's steps saw {counts} examples, expected {setup.batch_size}")

    torch.set_num_threads(args.torch_threads)
    start = time.perf_counter()
    model32 = official_model(FFTNetLRA, setup)
    load_into_official(model32, initial, setup)
    losses32 = adam_losses(model32, tokens, labels, plan, setup, torch.float32)
    print(f"official float32: {args.steps} steps in {time.perf_counter() - start:.1f} s")
    losses64 = None
    if not args.no_float64:
        start = time.perf_counter()
        model64 = official_model(FFTNetLRA, setup)
        load_into_official(model64, initial, setup)
        losses64 = adam_losses(model64, tokens, labels, plan, setup, torch.float64)
        print(f"official float64: {args.steps} steps in {time.perf_counter() - start:.1f} s")

    parseval_losses = [records[t + 1]["loss"] for t in range(args.steps)]
    rows = []
    for t in range(args.steps):
        p, o = parseval_losses[t], losses32[t]
        row = {"step": t + 1, "parseval_loss": p, "official_loss": o, "abs_diff": abs(p - o),
               "rel_diff": abs(p - o) / abs(o)}
        if losses64 is not None:
            row["official64_loss"] = losses64[t]
            row["fp32_drift"] = abs(o - losses64[t])
            row["parseval_vs_64"] = abs(p - losses64[t])
        rows.append(row)
    with open(out / "curve.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.9g}" if isinstance(v, float) else v) for k, v in row.items()})

    print(f"\nsetup: {json.dumps(asdict(setup))}, steps {args.steps}")
    for mark in (10, 100, args.steps):
        if mark <= args.steps:
            worst = max(rows[:mark], key=lambda r: r["rel_diff"])
            line = (f"first {mark:4d} steps: max rel diff Parseval vs official fp32 {worst['rel_diff']:.3e} "
                    f"(step {worst['step']})")
            if losses64 is not None:
                drift = max(r["fp32_drift"] / abs(r["official64_loss"]) for r in rows[:mark])
                line += f"; official fp32 vs fp64 {drift:.3e}"
            print(line)
    last = rows[-1]
    print(f"loss at step {args.steps}: parseval {last['parseval_loss']:.6f}, official fp32 {last['official_loss']:.6f}"
          + (f", official fp64 {last['official64_loss']:.6f}" if losses64 is not None else ""))
    if losses64 is not None:
        over = [r["step"] for r in rows if r["parseval_vs_64"] > TOLERANCE.bound(r["step"], r["official64_loss"])]
        print(f"steps outside the fixture tolerance vs fp64: {len(over)} (first {over[:5]})")

    # Final parameters, Parseval's checkpoint against the official float32 module.
    final32 = to_parseval(model32, setup)
    worst = max(((n, (parseval_final[n].double() - final32[n].double()).abs().max().item()
                  / max(final32[n].double().abs().max().item(), 1e-12)) for n in final32), key=lambda item: item[1])
    print(f"final parameters: largest difference relative to the tensor's max, {worst[1]:.3e} ({worst[0]})")
    print(f"wrote {out / 'curve.csv'}")
    return 0


def mode_order(args) -> int:
    """Batch order with Parseval's existing model (token embedding, mean pooling, paper FFTNet) at
    lr 1e-30: its parameters do not move in float32, so step t's loss is a function of step t's
    batch alone, which reference_state.py's float64 model recomputes on the ported plan."""
    check_philox()
    setup = Setup(dim=16, depth=1, heads=2, mlp_hidden=32, sequence_length=args.sequence_length,
                  batch_size=args.batch_size, seed=args.seed)
    out, parseval, data = prepare_run(args)
    tokens, labels = load_split(data, setup)
    tokens = tokens.long()
    per_epoch = len(labels) // setup.batch_size
    steps = args.steps or 2 * per_epoch + 3
    keys = dict(mixer="fftnet", block="paper", pooling="mean", dim=setup.dim, depth=setup.depth, heads=setup.heads,
                mlp_hidden=setup.mlp_hidden, dropout=0, max_length=setup.sequence_length, vocabulary_size=16, classes=10)
    reference = EncoderClassifier(ModelConfig(**{k: v for k, v in keys.items() if k != "dropout"}))
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in reference.named_parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * (0.02 if name in ("embedding.weight", "position") else 1.0)
                    + (1.0 if name.endswith("norm1.weight") or name.endswith("norm2.weight") else 0.0))
        reference.embedding.weight[0] = 0
    weights = out / "order-init.safetensors"
    write_safetensors(weights, dict(reference.named_parameters()), {})
    optimizer = {**setup.optimizer_keys(), "learning_rate": 1e-30}
    config = parseval_config(out / "order.yaml", setup, data, out / "order-run", steps, args.threads,
                             model=keys, optimizer=optimizer)
    records = seal_and_train(parseval, config, weights, out / "order-run", steps)
    plan = parseval_batches(len(labels), setup.batch_size, setup.seed, steps)
    reference = reference.double()
    worst, shuffled_worst = 0.0, math.inf
    with torch.no_grad():
        for t, (epoch, indices) in enumerate(plan):
            mine = F.cross_entropy(reference(tokens[indices]), labels[indices]).item()
            theirs = records[t + 1]["loss"]
            worst = max(worst, abs(mine - theirs) / abs(mine))
            assert records[t + 1]["epoch"] == epoch, f"step {t + 1}: epoch {records[t + 1]['epoch']} vs {epoch}"
            # The same batch from the neighbouring step, as a control: a wrong order shows this large.
            other = plan[(t + 1) % len(plan)][1]
            control = F.cross_entropy(reference(tokens[other]), labels[other]).item()
            shuffled_worst = min(shuffled_worst, abs(control - theirs) / abs(control))
    print(f"order: {steps} steps over {plan[-1][0] + 1} epochs ({per_epoch} batches each): "
          f"max rel loss difference {worst:.3e}; a neighbouring step's batch differs by at least {shuffled_worst:.3e}")
    ok = worst < 1e-5
    print("order: " + ("OK" if ok else "MISMATCH"))
    return 0 if ok else 1


def fixture_batches(setup: Setup, steps: int, generator: torch.Generator):
    """ListOps-like rows: ids 1–15 for 8 … N tokens, then pads (0) to N; labels 0–9."""
    tokens = torch.zeros(steps, setup.batch_size, setup.sequence_length)
    for s in range(steps):
        for b in range(setup.batch_size):
            length = int(torch.randint(8, setup.sequence_length + 1, (1,), generator=generator))
            tokens[s, b, :length] = torch.randint(1, 16, (length,), generator=generator).float()
    labels = torch.randint(0, setup.classes, (steps, setup.batch_size), generator=generator)
    return tokens, labels


def watch_kinks(model) -> list[float]:
    """Forward hooks on the official spectral layers recording, per call, the smallest
    | |Z'| + β | — the distance of modReLU's input to its ReLU kink, recomputed from the layer's
    input and parameters (diagnostics only; the layer itself runs unchanged). A float32 run follows
    the float64 one only while no element crosses the kink between them: where one does, the two
    gradients differ by O(1) in that element and the curves separate (the jumps `drift` shows)."""
    margins: list[float] = []

    def hook(module, inputs, _output):
        (x,) = inputs
        with torch.no_grad():
            b, n, d = x.shape
            heads = x.view(b, n, module.num_heads, module.head_dim).permute(0, 2, 1, 3)
            z = torch.fft.rfft(heads, dim=2, norm="ortho")
            mod = module.adaptive_mlp(x.mean(dim=1)).view(b, module.num_heads, module.freq_bins, 1)
            z = z * (module.base_filter.unsqueeze(0) + mod)
            margins.append((z.abs() + module.modrelu_bias.unsqueeze(0)).abs().min().item())

    for module in model.modules():
        if type(module).__name__ == "MultiHeadSpectralAttention":
            module.register_forward_hook(hook)
    return margins


def fixture_losses(FFTNetLRA, setup: Setup, initial, tokens, labels, dtype, margins: list | None = None) -> list[float]:
    model = official_model(FFTNetLRA, setup)
    load_into_official(model, initial, setup)
    if margins is not None:
        recorded = watch_kinks(model)
    flat_tokens = tokens.reshape(-1, setup.sequence_length)
    flat_labels = labels.reshape(-1)
    b = setup.batch_size
    plan = [(0, list(range(s * b, (s + 1) * b))) for s in range(tokens.shape[0])]
    losses = adam_losses(model, flat_tokens, flat_labels, plan, setup, dtype)
    if margins is not None:
        margins.extend(recorded)
    return losses


LISTOPS_WORDS = ["<pad>", *"0123456789", "[MIN", "[MAX", "[MED", "[SM", "]"]


def replay_in_parseval(parseval: Parseval, work: Path, setup: Setup, initial, tokens, labels) -> list[float]:
    """The fixture through Parseval's CLI: its S·B rows written as a ListOps TSV in the order
    that makes Parseval's epoch-0 shuffle (training.seed) deal exactly the fixture's batches, the
    initial weights sealed at step 0, S steps trained with log_every 1. Returns Parseval's losses."""
    steps, batch = tokens.shape[0], tokens.shape[1]
    order = parseval_batches(steps * batch, batch, setup.seed, steps)
    assert all(epoch == 0 for epoch, _ in order), "the fixture is one epoch"
    rows: list[str | None] = [None] * (steps * batch)
    for s, (_, indices) in enumerate(order):
        for j, index in enumerate(indices):
            words = [LISTOPS_WORDS[int(v)] for v in tokens[s, j].tolist() if v != 0]
            rows[index] = " ".join(words) + "\t" + str(int(labels[s, j]))
    data = work / "data"
    data.mkdir(parents=True, exist_ok=True)
    for split in ("train", "val", "test"):
        (data / f"basic_{split}.tsv").write_text("Source\tTarget\n" + "\n".join(rows) + "\n")
    check, _, _ = listops_split(data / "basic_train.tsv", setup.sequence_length)
    for s, (_, indices) in enumerate(order):
        assert torch.equal(check[indices].float(), tokens[s]), "the TSV does not tokenise back to the fixture's ids"
    weights = work / "init.safetensors"
    write_safetensors(weights, initial, {})
    config = parseval_config(work / "config.yaml", setup, data, work / "run", steps, 1)
    records = seal_and_train(parseval, config, weights, work / "run", steps)
    return [records[t + 1]["loss"] for t in range(steps)]


def mode_fixture(args) -> int:
    FFTNetLRA = import_official(args.official)
    setup = FIXTURE
    initial = to_parseval(official_model(FFTNetLRA, setup), setup)
    generator = torch.Generator().manual_seed(setup.init_seed + 1)
    tokens, labels = fixture_batches(setup, FIXTURE_STEPS, generator)
    margins: list[float] = []
    losses64 = fixture_losses(FFTNetLRA, setup, initial, tokens, labels, torch.float64, margins)
    losses32 = fixture_losses(FFTNetLRA, setup, initial, tokens, labels, torch.float32)
    worst_margin = min(TOLERANCE.bound(t + 1, l64) - abs(l32 - l64) for t, (l32, l64) in enumerate(zip(losses32, losses64)))
    tensors = {f"init.{name}": value for name, value in initial.items()}
    tensors["batch.tokens"] = tokens
    tensors["batch.labels"] = labels.float()
    tensors["official.losses"] = torch.tensor(losses64, dtype=torch.float64)
    tensors["official.losses_float32"] = torch.tensor(losses32, dtype=torch.float64)
    config = {"model": setup.model_keys(), "optimizer": setup.optimizer_keys(), "schedule": setup.schedule_keys(),
              "training": {"batch_size": setup.batch_size, "steps": FIXTURE_STEPS, "seed": setup.seed}}
    metadata = {
        "config": json.dumps(config),
        "official": json.dumps({"repository": OFFICIAL_REPOSITORY, "commit": OFFICIAL_COMMIT, "files": list(OFFICIAL_FILES),
                                "module": "FFTNetLRA(seq_len=N, input_dim=1, adaptive_spectral=True, dropout=0)",
                                "optimizer": "torch.optim.Adam, float64 (official.losses) and float32"}),
        "tolerance": json.dumps({**asdict(TOLERANCE), "formula": "|L(t) - official.losses[t-1]| <= absolute + "
                                 "per_sqrt_step*sqrt(t) + relative*|official.losses[t-1]|, t = 1..S"}),
        "generator": f"scripts/reference/parity_train.py fixture, torch {torch.__version__}",
    }
    path = args.out
    size = write_safetensors(path, tensors, metadata)
    shown = path.relative_to(REPOSITORY) if path.is_relative_to(REPOSITORY) else path
    print(f"{shown}: {size} bytes")
    print("losses (fp64): " + ", ".join(f"{v:.7f}" for v in losses64))
    print("fp32 − fp64:   " + ", ".join(f"{a - b:+.1e}" for a, b in zip(losses32, losses64)))
    print(f"smallest margin of the fp32 run inside the tolerance: {worst_margin:.2e}")
    frozen = fixture_losses(FFTNetLRA, replace(setup, learning_rate=0.0), initial, tokens, labels, torch.float64)
    effect = min(abs(a - b) for a, b in zip(frozen[1:], losses64[1:]))
    print(f"check sensitivity: the updates move every later loss by at least {effect:.1e} "
          f"(tolerance at step 2 {TOLERANCE.bound(2, losses64[1]):.1e})")
    print(f"check distance to modReLU's kink, min over all steps and layers: {min(margins):.2e} (at least 1e-4)")
    # The fixture reloads to the same losses (float32 tensors as written).
    reread, _ = read_safetensors(path)
    again = fixture_losses(FFTNetLRA, setup, {n[5:]: t for n, t in reread.items() if n.startswith("init.")},
                           reread["batch.tokens"], reread["batch.labels"].long(), torch.float64)
    error = max(abs(a - b) for a, b in zip(again, losses64))
    print(f"check fixture reloaded: {error:.1e} (tolerance 1e-7)")
    ok = worst_margin > 0 and error < 1e-7 and min(margins) >= 1e-4
    if args.parseval is not None:
        with tempfile.TemporaryDirectory() as work:
            theirs = replay_in_parseval(Parseval(args.parseval.resolve()), Path(work), setup,
                                        {n[5:]: t for n, t in reread.items() if n.startswith("init.")},
                                        reread["batch.tokens"], reread["batch.labels"].long())
        print("parseval − fp64: " + ", ".join(f"{a - b:+.1e}" for a, b in zip(theirs, losses64)))
        outside = [t + 1 for t, (a, b) in enumerate(zip(theirs, losses64)) if abs(a - b) > TOLERANCE.bound(t + 1, b)]
        print(f"check Parseval's CLI replaying the fixture: {len(outside)} steps outside the tolerance {outside}")
        ok = ok and not outside
    return 0 if ok else 1


def mode_drift(args) -> int:
    """float32 vs float64 of the official module on the run's batches, and float32 vs float32 with
    the initial weights moved by one ulp (how far two float32 implementations may drift)."""
    setup = Setup(dim=args.dim, depth=args.depth, heads=args.heads, mlp_hidden=4 * args.dim,
                  sequence_length=args.sequence_length, batch_size=args.batch_size, learning_rate=args.learning_rate,
                  seed=args.seed, init_seed=args.init_seed)
    torch.set_num_threads(args.torch_threads)
    FFTNetLRA = import_official(args.official)
    check_philox()
    tokens, labels = load_split(args.data.resolve(), setup)
    plan = parseval_batches(len(labels), setup.batch_size, setup.seed, args.steps)
    initial = to_parseval(official_model(FFTNetLRA, setup), setup)
    runs = {}
    for label, dtype, nudge in (("fp64", torch.float64, False), ("fp32", torch.float32, False),
                                ("fp32+ulp", torch.float32, True)):
        start = time.perf_counter()
        values = {n: (torch.nextafter(t, torch.full_like(t, math.inf)) if nudge else t) for n, t in initial.items()}
        model = official_model(FFTNetLRA, setup)
        load_into_official(model, values, setup)
        runs[label] = adam_losses(model, tokens, labels, plan, setup, dtype)
        print(f"{label}: {args.steps} steps in {time.perf_counter() - start:.1f} s")
    print(f"setup: {json.dumps(asdict(setup))}")
    print("official fp32 vs fp64:")
    print("\n".join(drift_report(runs["fp32"], runs["fp64"])))
    print("official fp32 vs fp32 with the initial weights one ulp up:")
    print("\n".join(drift_report(runs["fp32+ulp"], runs["fp32"])))
    over = [t + 1 for t, (a, b) in enumerate(zip(runs["fp32"], runs["fp64"])) if abs(a - b) > TOLERANCE.bound(t + 1, b)]
    print(f"fp32 steps outside TOLERANCE: {len(over)} (first {over[:5]})")
    if args.csv:
        with open(args.csv, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["step", "fp64", "fp32", "fp32_ulp"])
            for t in range(args.steps):
                writer.writerow([t + 1, f"{runs['fp64'][t]:.12g}", f"{runs['fp32'][t]:.9g}", f"{runs['fp32+ulp'][t]:.9g}"])
    return 0


# ----------------------------------------------------------------------------------------------
# `study`: the official codes at the small study's ListOps cell


LUMIA_REPOSITORY = "github.com/LUMIA-Group/FourierTransformer"
LUMIA_COMMIT = "cba1dc2"
LUMIA_FILES = ("LRA/code/model_wrapper.py", "LRA/code/model.py", "LRA/code/attention.py")


@dataclass
class StudyRecipe:
    """launch/lra-study.sh `small_settings listops` with configs/lra/listops-{fftnet,transformer}.yaml:
    the one budget and optimizer of the small study; only the model code is the official one."""

    sequence_length: int = 2000  # data.sequence_length = model.max_length
    vocabulary_size: int = 16  # ListOps ids 0 (pad) … 15
    classes: int = 10
    dim: int = 64
    depth: int = 2
    heads: int = 4
    mlp_hidden: int = 128
    dropout: float = 0.1
    batch_size: int = 16
    steps: int = 600
    learning_rate: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.98
    epsilon: float = 1e-9
    weight_decay: float = 0.1
    gradient_clip: float = 1.0
    warmup_steps: int = 60  # schedule.kind cosine, final ratio 0 (Choices.swift)
    final_ratio: float = 0.0
    eval_every: int = 100
    log_every: int = 20

    def learning_rate_at(self, step: int) -> float:
        """Sources/Optimizers/LearningRateSchedule.swift `.cosine` at the 0-based step (the
        Trainer asks for `learningRate(at: state.step)` before step state.step + 1): linear warmup
        peak·(step+1)/warmup for step < warmup, then peak·(r + (1−r)·½(1 + cos(π·p))) with
        p = min(1, (step − warmup)/max(1, total − warmup)). Parseval evaluates it in Float."""
        peak, warmup, total, r = self.learning_rate, self.warmup_steps, self.steps, self.final_ratio
        if warmup > 0 and step < warmup:
            return float(torch.tensor(peak * (step + 1) / warmup, dtype=torch.float32))
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return float(torch.tensor(peak * (r + (1 - r) * 0.5 * (1 + math.cos(math.pi * progress))), dtype=torch.float32))


def import_lumia(path: Path):
    """`ModelForSC` from a checkout of LUMIA-Group/FourierTransformer at cba1dc2 (its LRA/code
    folder on sys.path, as run_tasks.py runs from there)."""
    path = verified_checkout(path, LUMIA_FILES, LUMIA_REPOSITORY, LUMIA_COMMIT)
    sys.path.insert(0, str(path / "LRA" / "code"))
    from model_wrapper import ModelForSC  # noqa: E402  (the official code)

    return ModelForSC


def lumia_config(recipe: StudyRecipe) -> dict:
    """run_tasks.py's model_config for `--model softmax --task listops`: lra_config.py's listops
    "model" dict updated with extra_attn_config["softmax"], then run_tasks.py's own settings
    (layers, mixed_precision, attn_type, max_seq_len rounded up to a power of two), with the
    study's sizes. vocab_size 16 + 1: append_cls writes id vocab_size − 1 = 16, an id no ListOps
    token has. mixed_precision False (fp32 on CPU; run_tasks.py sets True for its GPU AMP runs);
    attention_grad_checkpointing False (a memory trade, the same numbers)."""
    return {
        "learn_pos_emb": True, "tied_weights": False,
        "embedding_dim": recipe.dim, "transformer_dim": recipe.dim, "transformer_hidden_dim": recipe.mlp_hidden,
        "head_dim": recipe.dim // recipe.heads, "num_head": recipe.heads, "num_layers": recipe.depth,
        "vocab_size": recipe.vocabulary_size + 1,
        "max_seq_len": int(2 ** math.ceil(math.log2(recipe.sequence_length))),  # run_tasks.py: 2000 → 2048
        "dropout_prob": recipe.dropout, "attention_dropout": recipe.dropout,
        "pooling_mode": "CLS", "num_classes": recipe.classes,
        "attention_grad_checkpointing": False,
        "layers": [0],  # run_tasks.py's --layers; only dct-* attention reads it
        "mixed_precision": False, "attn_type": "softmax",
    }


class StudyModel:
    """The official module behind one interface: `losses(tokens, labels)` → per-example loss
    and correctness (float), tokens (B, N) Parseval ids."""

    def __init__(self, kind: str, official: Path, recipe: StudyRecipe, seed: int, embedding: str = "scalar"):
        self.kind = kind
        self.embedding = embedding
        if kind == "fftnet":
            FFTNetLRA = import_official(official)
            torch.manual_seed(seed)
            self.module = FFTNetLRA(seq_len=recipe.sequence_length, input_dim=1, num_classes=recipe.classes,
                                    embed_dim=recipe.dim, depth=recipe.depth, mlp_ratio=recipe.mlp_hidden / recipe.dim,
                                    dropout=recipe.dropout, num_heads=recipe.heads, adaptive_spectral=True)
            if embedding == "table":
                # The study's embedding (launch/lra-study.sh: `model.embedding=table`): the official
                # module with its TokenEmbed projection replaced by an nn.Embedding(padding_idx=0),
                # normal(0.02) as Parseval's table (Embedding.swift); everything else official.
                table = torch.nn.Embedding(recipe.vocabulary_size, recipe.dim, padding_idx=0)
                with torch.no_grad():
                    table.weight.normal_(0.0, 0.02)
                    table.weight[0].zero_()
                self.module.token_embed = table
            self.describe = (f"{OFFICIAL_REPOSITORY}@{OFFICIAL_COMMIT} FFTNetLRA(seq_len={recipe.sequence_length}, input_dim=1, "
                             f"num_classes={recipe.classes}, embed_dim={recipe.dim}, depth={recipe.depth}, "
                             f"mlp_ratio={recipe.mlp_hidden / recipe.dim}, dropout={recipe.dropout}, "
                             f"num_heads={recipe.heads}, adaptive_spectral=True)")
        elif kind == "transformer":
            ModelForSC = import_lumia(official)
            self.config = lumia_config(recipe)
            torch.manual_seed(seed)
            self.module = ModelForSC(self.config)
            self.describe = f"{LUMIA_REPOSITORY}@{LUMIA_COMMIT} ModelForSC({json.dumps(self.config)})"
        else:
            raise ValueError(f"--model is fftnet or transformer, got {kind}")

    def losses(self, tokens: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.kind == "fftnet" and self.embedding == "table":
            logits = self.module(tokens.long())  # FFTNetLRA.forward starts with self.token_embed(x)
            return F.cross_entropy(logits, labels, reduction="none"), (logits.argmax(-1) == labels).float()
        if self.kind == "fftnet":
            # The official train.py's input: the ids as floats, (B, N, 1).
            logits = self.module(tokens.float().unsqueeze(-1))
            return F.cross_entropy(logits, labels, reduction="none"), (logits.argmax(-1) == labels).float()
        # run_tasks.py's batch: input_ids_0, mask_0 = (ids != 0) as dataset.py builds it, label.
        ids = tokens.long()
        outputs = self.module(ids, (ids != 0).float(), labels)
        return outputs["loss"], outputs["accu"]

    def parameter_groups(self, weight_decay: float) -> tuple[list[dict], list[str], list[str]]:
        """Parseval decays exactly the weight matrices of its Linear layers (Linear.swift
        `weightDecay: true`; also the scalar embedding's Linear(1, D) weight, Embedding.swift),
        never biases, LayerNorms, embedding tables, positions, the class token, FFTNet's base
        filter or modReLU bias: here every nn.Linear's weight, and nothing else."""
        decayed_ids = {id(m.weight) for m in self.module.modules() if isinstance(m, torch.nn.Linear)}
        decay, rest, decay_names, rest_names = [], [], [], []
        for name, p in self.module.named_parameters():
            (decay if id(p) in decayed_ids else rest).append(p)
            (decay_names if id(p) in decayed_ids else rest_names).append(name)
        return ([{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}],
                decay_names, rest_names)


def study_evaluate(model: StudyModel, tokens: torch.Tensor, labels: torch.Tensor, batch_size: int) -> tuple[float, float]:
    """Mean loss and accuracy over the whole split, in order, model.eval() (Evaluator.swift: every
    example once, eval_batches 0)."""
    model.module.eval()
    loss_sum, correct = 0.0, 0.0
    with torch.no_grad():
        for start in range(0, len(labels), batch_size):
            losses, right = model.losses(tokens[start:start + batch_size], labels[start:start + batch_size])
            loss_sum += losses.double().sum().item()
            correct += right.double().sum().item()
    model.module.train()
    return loss_sum / len(labels), correct / len(labels)


def mode_study(args) -> int:
    recipe = StudyRecipe(steps=args.steps, dropout=args.dropout,
                         weight_decay=0.0 if args.no_decay else StudyRecipe.weight_decay,
                         gradient_clip=0.0 if args.no_clip else StudyRecipe.gradient_clip)
    torch.set_num_threads(args.torch_threads)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    data = args.data.resolve()
    check_philox()
    splits = {}
    for split, file in (("train", "basic_train.tsv"), ("validation", "basic_val.tsv"), ("test", "basic_test.tsv")):
        tokens, labels, counts = listops_split(data / file, recipe.sequence_length)
        splits[split] = (tokens, labels)
        print(f"{split}: {len(labels)} examples from {data / file}, {sum(c > recipe.sequence_length for c in counts)} "
              f"truncated, {sum(c == recipe.sequence_length for c in counts)} exactly {recipe.sequence_length} tokens")
    train_tokens, train_labels = splits["train"]
    plan = parseval_batches(len(train_labels), recipe.batch_size, args.seed, recipe.steps)

    model = StudyModel(args.model, args.official, recipe, args.seed, args.embedding)
    groups, decay_names, rest_names = model.parameter_groups(recipe.weight_decay)
    optimizer = torch.optim.AdamW(groups, lr=recipe.learning_rate_at(0), betas=(recipe.beta1, recipe.beta2),
                                  eps=recipe.epsilon)
    parameters = [p for g in groups for p in g["params"]]
    count = sum(p.numel() for p in parameters)
    print(f"model: {model.describe}")
    print(f"parameters: {count} in {len(parameters)} tensors; decayed ({recipe.weight_decay}): {', '.join(decay_names)}")
    print(f"not decayed: {', '.join(rest_names)}")
    header = {"mode": "study", "model": args.model, "official": model.describe, "embedding": args.embedding, "seed": args.seed,
              "recipe": asdict(recipe), "data": str(data), "parameters": count, "torch": torch.__version__,
              "threads": torch.get_num_threads(), "decayed": decay_names, "not_decayed": rest_names}
    (out / "config.json").write_text(json.dumps(header, indent=2) + "\n")
    metrics = open(out / "metrics.jsonl", "w")

    def record(entry: dict):
        metrics.write(json.dumps(entry) + "\n")
        metrics.flush()

    model.module.train()  # dropout on
    best = {"accuracy": -1.0, "step": -1, "state": None}
    window = {"loss": 0.0, "correct": 0.0, "count": 0}
    start = time.perf_counter()
    first_loss = None
    for t, (epoch, indices) in enumerate(plan):
        lr = recipe.learning_rate_at(t)
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad(set_to_none=True)
        losses, right = model.losses(train_tokens[indices], train_labels[indices])
        loss = losses.mean()
        loss.backward()
        if recipe.gradient_clip > 0:
            norm = torch.nn.utils.clip_grad_norm_(parameters, recipe.gradient_clip)
        else:
            norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in parameters if p.grad is not None]))
        optimizer.step()
        step = t + 1
        if first_loss is None:
            first_loss = loss.item()
            print(f"step 1 loss {first_loss:.9f}")
        window["loss"] += losses.detach().double().sum().item()
        window["correct"] += right.double().sum().item()
        window["count"] += len(indices)
        if step % recipe.log_every == 0 or step == recipe.steps:
            entry = {"step": step, "epoch": epoch, "split": "train", "loss": window["loss"] / window["count"],
                     "accuracy": window["correct"] / window["count"], "examples": window["count"],
                     "learning_rate": lr, "gradient_norm": float(norm), "seconds": time.perf_counter() - start}
            record(entry)
            print(f"step {step}/{recipe.steps} | epoch {epoch} | loss {entry['loss']:.4f} | acc {entry['accuracy']:.3f} "
                  f"| lr {lr:.2e} | {entry['seconds']:.0f} s", flush=True)
            window = {"loss": 0.0, "correct": 0.0, "count": 0}
        if step % recipe.eval_every == 0 or step == recipe.steps:
            loss_v, accuracy_v = study_evaluate(model, *(t[:args.eval_examples] for t in splits["validation"]),
                                                recipe.batch_size)
            is_best = accuracy_v > best["accuracy"]  # Trainer.swift: strictly better; a tie keeps the earlier
            if is_best:
                best = {"accuracy": accuracy_v, "step": step,
                        "state": {k: v.detach().clone() for k, v in model.module.state_dict().items()}}
            record({"step": step, "epoch": epoch, "split": "validation", "loss": loss_v, "accuracy": accuracy_v,
                    "examples": len(splits["validation"][1][:args.eval_examples]), "seconds": time.perf_counter() - start})
            print(f"step {step} | validation loss {loss_v:.4f} | accuracy {accuracy_v:.4f}"
                  + (" | best" if is_best else ""), flush=True)
    train_seconds = time.perf_counter() - start
    model.module.load_state_dict(best["state"])
    loss_t, accuracy_t = study_evaluate(model, *(t[:args.eval_examples] for t in splits["test"]), recipe.batch_size)
    total = time.perf_counter() - start
    record({"step": best["step"], "split": "test", "loss": loss_t, "accuracy": accuracy_t,
            "examples": len(splits["test"][1][:args.eval_examples]), "best_validation_accuracy": best["accuracy"],
            "seconds": total, "train_seconds": train_seconds})
    metrics.close()
    print(f"best validation accuracy {best['accuracy']:.4f} (step {best['step']})")
    print(f"test accuracy {accuracy_t:.4f} (best checkpoint, step {best['step']})")
    print(f"wall time {total:.1f} s (training and validation {train_seconds:.1f} s); wrote {out / 'metrics.jsonl'}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    modes = parser.add_subparsers(dest="mode", required=True)

    def experiment(sub, official=True, parseval=True):
        if official:
            sub.add_argument("--official", type=Path, required=True, help=f"checkout of {OFFICIAL_REPOSITORY} at {OFFICIAL_COMMIT}")
        if parseval:
            sub.add_argument("--parseval", type=Path, default=Path(os.environ.get("PARSEVAL", REPOSITORY / ".build/debug/parseval")),
                             help="parseval binary (default $PARSEVAL or .build/debug/parseval)")
            sub.add_argument("--threads", type=int, default=1, help="Parseval's parallel.threads (default 1)")
        sub.add_argument("--data", type=Path, default=REPOSITORY / "data" / "listops-tiny", help="ListOps folder")
        sub.add_argument("--steps", type=int, default=300)
        sub.add_argument("--sequence-length", type=int, default=256, help="data.sequence_length = model.max_length")
        sub.add_argument("--batch-size", type=int, default=32)
        sub.add_argument("--seed", type=int, default=0, help="training.seed (the shuffle)")
        sub.add_argument("--torch-threads", type=int, default=1)

    run = modes.add_parser("run", help="train both sides and compare the loss curves")
    experiment(run)
    run.add_argument("--out", type=Path, required=True)
    run.add_argument("--dim", type=int, default=64)
    run.add_argument("--depth", type=int, default=2)
    run.add_argument("--heads", type=int, default=4)
    run.add_argument("--learning-rate", type=float, default=5e-4)
    run.add_argument("--init-seed", type=int, default=0)
    run.add_argument("--no-float64", action="store_true", help="skip the float64 official run")

    drift = modes.add_parser("drift", help="official fp32 vs fp64 drift on the run's batches")
    experiment(drift, parseval=False)
    drift.add_argument("--dim", type=int, default=64)
    drift.add_argument("--depth", type=int, default=2)
    drift.add_argument("--heads", type=int, default=4)
    drift.add_argument("--learning-rate", type=float, default=5e-4)
    drift.add_argument("--init-seed", type=int, default=0)
    drift.add_argument("--csv", type=Path)

    order = modes.add_parser("order", help="check the ported batch order against Parseval (lr 1e-30)")
    experiment(order, official=False)
    order.set_defaults(steps=0)
    order.add_argument("--out", type=Path, required=True)

    fixture = modes.add_parser("fixture", help="write the Swift parity test's fixture")
    fixture.add_argument("--official", type=Path, required=True)
    fixture.add_argument("--out", type=Path, default=FIXTURE_PATH)
    fixture.add_argument("--parseval", type=Path, help="also replay the fixture through this parseval binary's CLI")

    study = modes.add_parser("study", help="train an official model at the small study's ListOps cell")
    study.add_argument("--model", choices=("fftnet", "transformer"), required=True)
    study.add_argument("--official", type=Path, required=True,
                       help=f"fftnet: checkout of {OFFICIAL_REPOSITORY} at {OFFICIAL_COMMIT}; "
                            f"transformer: checkout of {LUMIA_REPOSITORY} at {LUMIA_COMMIT}")
    study.add_argument("--data", type=Path, default=REPOSITORY / "data" / "study" / "listops", help="the study's ListOps")
    study.add_argument("--seed", type=int, required=True, help="training.seed (batch order) and torch.manual_seed (init)")
    study.add_argument("--out", type=Path, required=True)
    study.add_argument("--steps", type=int, default=StudyRecipe.steps, help="checks only; the study runs 600")
    study.add_argument("--dropout", type=float, default=StudyRecipe.dropout, help="checks only; the study runs 0.1")
    study.add_argument("--no-decay", action="store_true", help="checks only: weight decay 0")
    study.add_argument("--no-clip", action="store_true", help="checks only: no gradient clipping")
    study.add_argument("--eval-examples", type=int, default=None, help="checks only: evaluate the first N examples")
    study.add_argument("--torch-threads", type=int, default=1)
    study.add_argument("--embedding", choices=("scalar", "table"), default="scalar",
                       help="fftnet: the official Linear(1, D) on the id (scalar), or an embedding table in its place "
                            "(table: the study's `model.embedding=table`)")

    args = parser.parse_args(argv)
    torch.set_num_threads(getattr(args, "torch_threads", 1))
    return {"run": mode_run, "order": mode_order, "fixture": mode_fixture, "drift": mode_drift,
            "study": mode_study}[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
