#!/usr/bin/env python3
"""Moves weights between Parseval and PyTorch through safetensors and checks each move on logits.

Run by hand (never in CI); needs PyTorch, timm (part 3 only: `pip install timm`) and a built
`parseval` binary (default .build/debug/parseval, or --parseval / $PARSEVAL):

    python3 scripts/reference/round_trip.py                    # all three parts, ~1 min
    python3 scripts/reference/round_trip.py --parts 1 --keep   # keep the work folder

1. Parseval -> PyTorch -> Parseval. For every mixer (and the Fourier Transformer) with both
   `model.block` kinds: train a tiny ListOps model a few steps, load its checkpoint into the
   reference model of reference_state.py, compare its logits with `parseval eval --logits`
   (1e-5), write the state dict back as a plain safetensors file (no Parseval metadata, another
   tensor order), `parseval checkpoint seal` it and require bit-identical logits. Once in BF16
   too: Parseval must read it as the BF16 values widened, i.e. equal the reference fed the same
   rounded weights.
2. nn.TransformerEncoder -> Parseval. The `--from torch-encoder` classifier of docs/checkpoints.md,
   sealed into a Fourier Transformer (`downsample` at layer 0, ratio 1.0: the identity) and a plain
   Transformer; compared on a validation set without padding, and on a padded one, where the
   Fourier Transformer legitimately drops the padding mask (docs/models.md, "Weight inheritance").
3. timm ViT -> Parseval. `VisionTransformer(class_token=False, global_pool="avg", fc_norm=False)`,
   and timm's default `class_token=True, global_pool="token"` (Parseval's `pooling: cls`: its
   `cls_token` keeps its name, `pos_embed` holds the token's row), each
   sealed `--from timm-vit` into a cifar10 config, compared on a small CIFAR-10 binary batch
   normalised as CIFAR10Loader does (1e-4).

Prints one row per check and exits 1 if any fails. Everything is written under a temporary
folder (removed unless --keep). Reuses reference_state.py's model, loader and safetensors I/O.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_state import (  # noqa: E402  (the reference module lives next to this script)
    REPOSITORY,
    EncoderClassifier,
    ModelConfig,
    load_parseval_state,
    read_safetensors,
    write_safetensors,
)

# Tolerances (max |Δ| over every logit of the split).
SEQUENCE_TOLERANCE = 1e-5  # float32 Parseval vs the float64 reference / PyTorch encoder
VISION_TOLERANCE = 1e-4  # float32 Parseval vs timm in float64

# The tiny model of every ListOps case (part 1) and of the torch-encoder classifier (part 2).
TINY = dict(vocabulary_size=16, max_length=32, dim=16, depth=2, heads=2, mlp_hidden=32, dropout=0,
            classes=10, random_features=8)
LENGTH = 32  # data.sequence_length = model.max_length (FFTNet needs them equal)

# Part 1: case name -> model keys beyond TINY.
MIXER_CASES = {
    "attention": {"mixer": "attention"},
    "fnet": {"mixer": "fnet"},
    "fftnet": {"mixer": "fftnet"},
    "kernelized_rpe": {"mixer": "kernelized_rpe"},
    "performer": {"mixer": "performer"},
    "fourier-transformer": {"mixer": "attention", "downsample": [{"layer": 1, "ratio": 0.5}]},
}
BLOCKS = ("pre_norm", "paper")
BF16_CASE = ("attention", "pre_norm")  # the case also written back in BF16

# A few steps at a learning rate that moves every parameter visibly off its initial value
# (biases off 0, LayerNorm weights off 1), so a tensor loaded in the wrong place would show.
TRAINING = {"steps": 6, "batch_size": 8, "eval_every": 0, "checkpoint_every": 6, "final_test": False}
OPTIMIZATION = {"optimizer": {"learning_rate": 0.01}, "schedule": {"kind": "constant", "warmup_steps": 0}}


# ----------------------------------------------------------------------------------------------
# Running Parseval


class Parseval:
    """The `parseval` binary; every call's wall time is added to `seconds`."""

    def __init__(self, binary: Path):
        self.binary = binary
        self.seconds = 0.0

    def __call__(self, *arguments) -> str:
        start = time.perf_counter()
        result = subprocess.run([str(self.binary), *map(str, arguments)], capture_output=True, text=True)
        self.seconds += time.perf_counter() - start
        if result.returncode != 0:
            raise RuntimeError(f"parseval {' '.join(map(str, arguments))} exited {result.returncode}:\n"
                               f"{result.stdout}{result.stderr}")
        return result.stdout


def yaml_value(value) -> str:
    """A value in YAML flow style (what the configs here need: numbers, strings, lists, maps)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {yaml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(yaml_value(v) for v in value) + "]"
    return str(value)


def write_config(path: Path, sections: dict[str, dict]) -> Path:
    """A Parseval YAML config: one block per section, one `key: value` line per key."""
    lines = []
    for section, keys in sections.items():
        lines.append(f"{section}:")
        lines += [f"  {key}: {yaml_value(value)}" for key, value in keys.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def read_logits(path: Path) -> tuple[list[int], list[int], torch.Tensor]:
    """`parseval eval --logits` output: index, label and logits per line (after a header), in split
    order. Swift prints each Float in its shortest round-trip form, so float() recovers it exactly."""
    rows = [line.split("\t") for line in path.read_text().splitlines()[1:]]
    logits = torch.tensor([[float(v) for v in row[2:]] for row in rows], dtype=torch.float64)
    return [int(row[0]) for row in rows], [int(row[1]) for row in rows], logits


def step_folder(run: Path) -> Path:
    return run / "checkpoints" / (run / "checkpoints" / "latest").read_text().strip()


# ----------------------------------------------------------------------------------------------
# Data as Parseval reads it


LISTOPS_IDS = {**{str(d): d + 1 for d in range(10)}, "[MIN": 11, "[MAX": 12, "[MED": 13, "[SM": 14, "X": 15, "]": 15}


def listops_split(tsv: Path, length: int) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """Sources/Datasets/ListOpsLoader.swift's tokenisation: `(` and `)` are dropped (not separators),
    whitespace separates, `]` and `X` are 15, ids as LISTOPS_IDS; truncated to `length`, then
    padded with 0 at the end to `length` (Batch.collate). Returns (tokens (B, length), labels,
    the token count of each row before truncation)."""
    rows, labels, counts = [], [], []
    for line in tsv.read_text().splitlines()[1:]:  # header Source<TAB>Target; CRLF endings
        source, target = line.rstrip("\r").split("\t")
        words = "".join(c for c in source if c not in "()").split()
        ids = [LISTOPS_IDS[w] for w in words]
        counts.append(len(ids))
        ids = ids[:length]
        rows.append(ids + [0] * (length - len(ids)))
        labels.append(int(target))
    return torch.tensor(rows), torch.tensor(labels), counts


def generate_listops(parseval: Parseval, out: Path, *, train: int, val: int, min_length: int, max_length: int):
    parseval("generate", "listops", "--out", out, "--train", train, "--val", val, "--test", 8,
             "--min-length", min_length, "--max-length", max_length)


def write_cifar10(directory: Path, generator: torch.Generator, test_records: int = 16) -> Path:
    """CIFAR-10 binary batches the loader accepts: data_batch_1..5.bin (2 records each; the
    training split must exist) and test_batch.bin (the cifar10 task's validation split). A record
    is 1 label byte and the R, G, B planes of a 32×32 image, row-major. Random pixels and labels."""
    directory.mkdir(parents=True, exist_ok=True)

    def records(count):
        labels = torch.randint(0, 10, (count, 1), generator=generator, dtype=torch.uint8)
        pixels = torch.randint(0, 256, (count, 3 * 32 * 32), generator=generator, dtype=torch.uint8)
        return torch.cat([labels, pixels], dim=1).numpy().tobytes()

    for k in range(1, 6):
        (directory / f"data_batch_{k}.bin").write_bytes(records(2))
    (directory / "test_batch.bin").write_bytes(records(test_records))
    return directory / "test_batch.bin"


def cifar10_images(batch: Path, mean: list[float], std: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (B, 3, 32, 32) and labels as Parseval's evaluation sees them: CIFAR10Loader.rgbImage
    computes, in Float32, pixel · (1 / (255·std[c])) + (−mean[c] / std[c]); done here with the same
    float32 operations. (No ImageTransform for cifar10: it applies to image folders only.)"""
    raw = torch.frombuffer(bytearray(batch.read_bytes()), dtype=torch.uint8).reshape(-1, 3073)
    pixels = raw[:, 1:].reshape(-1, 3, 32, 32).float()
    mean32, std32 = torch.tensor(mean, dtype=torch.float32), torch.tensor(std, dtype=torch.float32)
    scale = 1 / (255 * std32)
    shift = -mean32 / std32
    return pixels * scale[:, None, None] + shift[:, None, None], raw[:, 0].long()


# ----------------------------------------------------------------------------------------------
# Writing weights the way PyTorch code would: plain names, no Parseval metadata, own order


def foreign_order(names: list[str], avoid: list[list[str]]) -> list[str]:
    """A fixed shuffle of `names` that differs from each order in `avoid` (Parseval's)."""
    order = list(names)
    random.Random(0).shuffle(order)
    assert all(order != list(other) for other in avoid)
    return order


def write_plain(path: Path, tensors: dict[str, torch.Tensor]) -> Path:
    """F32 safetensors with an empty `__metadata__`, through reference_state's writer."""
    write_safetensors(path, tensors, {})
    return path


def write_bf16(path: Path, tensors: dict[str, torch.Tensor]) -> Path:
    """BF16 safetensors (what `model.bfloat16()` then `save_file` writes): reference_state's writer
    is F32 only, so the few lines of the format are repeated here for 2-byte elements."""
    header, chunks, offset = {}, [], 0
    for name, tensor in tensors.items():
        data = tensor.detach().to(torch.bfloat16).contiguous().view(torch.int16).numpy().astype("<i2").tobytes()
        header[name] = {"dtype": "BF16", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + b"".join(chunks))
    return path


def file_orders(path: Path) -> tuple[list[str], list[str]]:
    """A safetensors file's tensor names in header order and in data order."""
    blob = path.read_bytes()
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + length])
    header.pop("__metadata__", None)
    return list(header), sorted(header, key=lambda name: header[name]["data_offsets"][0])


def perturb(model: nn.Module, generator: torch.Generator, padding_rows: dict[str, int]):
    """Random values all over a freshly initialised model — biases off 0, LayerNorm weights off 1,
    positions off 0 — so every tensor's placement shows in the logits. Rows in `padding_rows`
    (nn.Embedding's padding_idx) stay zero."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=generator, dtype=p.dtype))
            if name in padding_rows:
                p[padding_rows[name]] = 0


# ----------------------------------------------------------------------------------------------
# Results


class Table:
    def __init__(self):
        self.rows: list[tuple[str, str, str, str, bool]] = []

    def check(self, part: str, case: str, what: str, value: float, tolerance: float) -> bool:
        ok = value <= tolerance
        self.rows.append((part, case, what, f"{value:.2e} {'≤' if ok else '>'} {tolerance:.0e}", ok))
        return ok

    def exact(self, part: str, case: str, what: str, equal: bool, detail: str = ""):
        self.rows.append((part, case, what, detail or ("identical" if equal else "DIFFERENT"), equal))

    def note(self, part: str, case: str, what: str, detail: str):
        self.rows.append((part, case, what, detail, None))

    def guarded(self, part: str, case: str, body):
        """Runs one case; an error (a parseval command failing, an assertion) becomes a FAIL row
        and the remaining cases still run."""
        try:
            body()
        except Exception as error:  # noqa: BLE001 — reported, counted as a failure
            print(f"part {part}, {case}: {type(error).__name__}: {error}", file=sys.stderr)
            self.exact(part, case, "ran", False, f"{type(error).__name__}: {str(error).splitlines()[0][:80]}")

    def failed(self) -> list[tuple]:
        return [row for row in self.rows if row[4] is False]

    def print(self):
        widths = [max(len(row[k]) for row in self.rows + [("part", "case", "check", "result", True)]) for k in range(4)]
        line = lambda cells: "  ".join(cell.ljust(width) for cell, width in zip(cells, widths))
        print(line(("part", "case", "check", "result")) + "  status")
        print(line(["-" * w for w in widths]) + "  ------")
        for *cells, ok in self.rows:
            print(line(cells) + "  " + {True: "ok", False: "FAIL", None: "note"}[ok])


def max_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape, f"shapes {tuple(a.shape)} and {tuple(b.shape)}"
    return (a.double() - b.double()).abs().max().item()


# ----------------------------------------------------------------------------------------------
# Part 1: Parseval -> PyTorch -> Parseval


def reference_model(tensors: dict[str, torch.Tensor], model_settings: dict) -> EncoderClassifier:
    """The float64 reference model holding a checkpoint's tensors (parameters and Ω)."""
    # reference_state's ModelConfig.from_parseval ignores keys it does not know; norm_epsilon is one.
    assert model_settings.get("norm_epsilon", 0) == 0, "the reference model has no model.norm_epsilon"
    model = EncoderClassifier(ModelConfig.from_parseval(model_settings)).double()
    left = load_parseval_state(model, tensors)
    assert not left, f"the checkpoint lacks buffers {left}"
    return model.eval()


def part1_case(parseval: Parseval, table: Table, work: Path, data: Path, name: str, block: str):
    case = f"{name}/{block}"
    folder = work / f"{name}-{block}"
    config = write_config(folder / "config.yaml", {
        "model": {**TINY, **MIXER_CASES[name], "block": block},
        "data": {"task": "listops", "directory": data, "sequence_length": LENGTH},
        **OPTIMIZATION,
        "training": TRAINING,
        "output": {"directory": folder / "run"},
    })
    parseval("train", "--config", config, "--fresh")
    parseval("eval", "--run", folder / "run", "--logits", folder / "logits.tsv")
    indices, labels, parseval_logits = read_logits(folder / "logits.tsv")

    # Parseval -> PyTorch: the checkpoint into the reference model, on the same token ids.
    checkpoint = step_folder(folder / "run") / "model.safetensors"
    tensors, metadata = read_safetensors(checkpoint)
    model = reference_model(tensors, json.loads(metadata["config"])["model"])
    tokens, true_labels, _ = listops_split(data / "basic_val.tsv", LENGTH)
    assert indices == list(range(len(tokens))) and labels == true_labels.tolist(), "split order or labels differ"
    with torch.no_grad():
        torch_logits = model(tokens)
    table.check("1", case, "PyTorch logits vs Parseval", max_difference(torch_logits, parseval_logits), SEQUENCE_TOLERANCE)

    # PyTorch -> Parseval: the state dict as PyTorch code would save it, sealed, evaluated again.
    state = model.state_dict()
    order = foreign_order(list(state), avoid=file_orders(checkpoint))
    weights = write_plain(folder / "torch.safetensors", {n: state[n] for n in order})
    parseval("checkpoint", "seal", "--config", config, "--weights", weights, "--run", folder / "sealed")
    parseval("eval", "--run", folder / "sealed", "--logits", folder / "sealed-logits.tsv")
    same = (folder / "sealed-logits.tsv").read_bytes() == (folder / "logits.tsv").read_bytes()
    table.exact("1", case, "sealed F32: logits file", same)

    if (name, block) == BF16_CASE:
        # BF16: Parseval widens each value exactly, so it must agree with the reference holding the
        # same bf16-rounded weights (and differ from the F32 model by the rounding).
        weights = write_bf16(folder / "torch-bf16.safetensors", {n: state[n] for n in order})
        parseval("checkpoint", "seal", "--config", config, "--weights", weights, "--run", folder / "sealed-bf16")
        parseval("eval", "--run", folder / "sealed-bf16", "--logits", folder / "bf16-logits.tsv")
        _, _, bf16_logits = read_logits(folder / "bf16-logits.tsv")
        rounded = {n: t.to(torch.bfloat16).double() for n, t in state.items()}
        bf16_model = reference_model(rounded, json.loads(metadata["config"])["model"])
        with torch.no_grad():
            bf16_reference = bf16_model(tokens)
        table.check("1", case, "sealed BF16 vs PyTorch (bf16 weights)", max_difference(bf16_logits, bf16_reference),
                    SEQUENCE_TOLERANCE)
        table.note("1", case, "sealed BF16 vs F32 logits (rounding)", f"{max_difference(bf16_logits, parseval_logits):.2e}")


def part1(parseval: Parseval, table: Table, work: Path, data: Path):
    for block in BLOCKS:
        for name in MIXER_CASES:
            table.guarded("1", f"{name}/{block}", lambda: part1_case(parseval, table, work / "part1", data, name, block))


# ----------------------------------------------------------------------------------------------
# Part 2: nn.TransformerEncoder -> Parseval (Fourier Transformer)


class TorchEncoderClassifier(nn.Module):
    """The classifier docs/checkpoints.md describes for `seal --from torch-encoder`."""

    def __init__(self, vocabulary: int, max_length: int, dim: int, heads: int, hidden: int, depth: int, classes: int):
        super().__init__()
        self.embedding = nn.Embedding(vocabulary, dim, padding_idx=0)
        self.position = nn.Parameter(torch.zeros(max_length, dim))
        layer = nn.TransformerEncoderLayer(dim, heads, hidden, dropout=0.0, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, tokens, use_mask: bool = True):
        """Masked mean pooling over valid tokens; `use_mask=False` lets pads take part in attention
        and pooling (what a model does after a shortening layer)."""
        pads = tokens == 0
        x = self.embedding(tokens) + self.position[: tokens.shape[1]]
        x = self.norm(self.encoder(x, src_key_padding_mask=pads if use_mask else None))
        weights = (~pads if use_mask else torch.ones_like(pads)).to(x.dtype)[..., None]
        return self.head((weights * x).sum(dim=1) / weights.sum(dim=1))


def part2(parseval: Parseval, table: Table, work: Path, padded_data: Path):
    folder = work / "part2"
    # Every validation example fills the sequence: ListOps keeps trees with min < length < max
    # (strict), so min-length LENGTH gives ≥ LENGTH + 1 tokens, which the loader truncates to LENGTH.
    full_data = folder / "listops-full"
    generate_listops(parseval, full_data, train=8, val=32, min_length=LENGTH, max_length=100)
    full_tokens, _, counts = listops_split(full_data / "basic_val.tsv", LENGTH)
    assert min(counts) > LENGTH and (full_tokens != 0).all(), "a validation example is padded"
    padded_tokens, _, _ = listops_split(padded_data / "basic_val.tsv", LENGTH)
    assert (padded_tokens == 0).any()

    generator = torch.Generator().manual_seed(2)
    torch.manual_seed(2)  # nn's own initialisation
    model = TorchEncoderClassifier(TINY["vocabulary_size"], LENGTH, TINY["dim"], TINY["heads"], TINY["mlp_hidden"],
                                   TINY["depth"], TINY["classes"])
    perturb(model, generator, padding_rows={"embedding.weight": 0})
    model = model.double().eval()
    state = model.state_dict()
    weights = write_plain(folder / "encoder.safetensors", state)  # PyTorch's own names and order
    with torch.no_grad():
        masked_full, masked_padded = model(full_tokens), model(padded_tokens)
        unmasked_padded = model(padded_tokens, use_mask=False)

    models = {
        "Fourier Transformer": {"mixer": "attention", "downsample": [{"layer": 0, "ratio": 1.0}]},
        "Transformer": {"mixer": "attention"},
    }
    for case, keys in models.items():
        config = write_config(folder / f"{case.replace(' ', '-')}.yaml", {
            "model": {**TINY, **keys},
            "data": {"task": "listops", "directory": full_data, "sequence_length": LENGTH},
            "training": TRAINING,
        })
        run = folder / case.replace(" ", "-")
        parseval("checkpoint", "seal", "--config", config, "--weights", weights, "--run", run, "--from", "torch-encoder")
        results = {}
        for label, data in (("full", full_data), ("padded", padded_data)):
            parseval("eval", "--run", run, "--set", f"data.directory={data}", "--logits", folder / f"{run.name}-{label}.tsv")
            results[label] = read_logits(folder / f"{run.name}-{label}.tsv")[2]
        table.check("2", case, "no padding: vs PyTorch (masked)", max_difference(results["full"], masked_full),
                    SEQUENCE_TOLERANCE)
        if "downsample" in keys:
            # From a shortening layer on Parseval drops the padding mask (docs/models.md): with pads,
            # it equals PyTorch run without the mask, not with it.
            table.check("2", case, "padded: vs PyTorch without mask", max_difference(results["padded"], unmasked_padded),
                        SEQUENCE_TOLERANCE)
            table.note("2", case, "padded: vs PyTorch (masked)",
                       f"{max_difference(results['padded'], masked_padded):.2e} (expected ≠ 0: mask dropped after shortening)")
        else:
            table.check("2", case, "padded: vs PyTorch (masked)", max_difference(results["padded"], masked_padded),
                        SEQUENCE_TOLERANCE)


# ----------------------------------------------------------------------------------------------
# Part 3: timm ViT -> Parseval


def part3(parseval: Parseval, table: Table, work: Path):
    try:
        import timm
        from timm.models.vision_transformer import VisionTransformer
    except ImportError:
        table.exact("3", "timm ViT", "import timm", False, "timm not installed (pip install timm)")
        return
    for class_token in (False, True):
        part3_variant(parseval, table, work / ("part3-cls" if class_token else "part3"), timm, VisionTransformer, class_token)


def part3_variant(parseval, table, folder: Path, timm, VisionTransformer, class_token: bool):
    """timm's average-pooled ViT (no class token), or its default token-pooled ViT
    (`class_token=True, global_pool="token"`: `cls_token` and a `pos_embed` row for it), which
    Parseval reads as `model.pooling: cls`."""
    patch, dim, depth, heads, mlp_ratio = 4, TINY["dim"], TINY["depth"], TINY["heads"], 2
    patches = (32 // patch) ** 2
    mean, std = [0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616]
    generator = torch.Generator().manual_seed(3)
    batch = write_cifar10(folder / "cifar10", generator)

    torch.manual_seed(3)
    model = VisionTransformer(img_size=32, patch_size=patch, in_chans=3, num_classes=10, embed_dim=dim, depth=depth,
                              num_heads=heads, mlp_ratio=mlp_ratio, class_token=class_token, global_pool="token" if class_token else "avg", fc_norm=False)
    perturb(model, generator, padding_rows={})
    model = model.double().eval()
    weights = write_plain(folder / "vit.safetensors", model.state_dict())
    config = write_config(folder / "vit.yaml", {
        "model": {"mixer": "attention", "patch_size": patch, "max_length": patches, "dim": dim, "depth": depth,
                  "heads": heads, "mlp_hidden": dim * mlp_ratio, "dropout": 0, "classes": 10, "norm_epsilon": 1e-6,
                  "pooling": "cls" if class_token else "mean"},
        "data": {"task": "cifar10", "directory": folder / "cifar10", "mean": mean, "standard_deviation": std},
        "training": TRAINING,
    })
    parseval("checkpoint", "seal", "--config", config, "--weights", weights, "--run", folder / "run", "--from", "timm-vit")
    parseval("eval", "--run", folder / "run", "--logits", folder / "logits.tsv")
    _, labels, parseval_logits = read_logits(folder / "logits.tsv")

    images, true_labels = cifar10_images(batch, mean, std)
    assert labels == true_labels.tolist()
    with torch.no_grad():
        timm_logits = model(images.double())
    case = f"timm {timm.__version__} ViT P={patch}" + (", class token" if class_token else "")
    table.check("3", case, "vs timm (float64)", max_difference(parseval_logits, timm_logits), VISION_TOLERANCE)
    # What the tolerance can see: timm's LayerNorm ε (1e-6) against PyTorch's default 1e-5, the
    # mistake `model.norm_epsilon` exists to avoid, moves these logits by less than it.
    for module in model.modules():
        if isinstance(module, nn.LayerNorm):
            module.eps = 1e-5
    with torch.no_grad():
        moved = max_difference(model(images.double()), timm_logits)
    verdict = "below the tolerance: a wrong ε would pass" if moved <= VISION_TOLERANCE else "a wrong ε would fail"
    table.note("3", case, "timm with LayerNorm ε 1e-5 vs 1e-6", f"{moved:.2e} ({verdict})")


# ----------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parseval", type=Path, default=Path(os.environ.get("PARSEVAL", REPOSITORY / ".build/debug/parseval")),
                        help="parseval binary (default: $PARSEVAL or %(default)s)")
    parser.add_argument("--parts", nargs="+", type=int, choices=(1, 2, 3), default=[1, 2, 3])
    parser.add_argument("--work", type=Path, help="work folder (default: a new temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    if not args.parseval.is_file():
        parser.error(f"no parseval binary at {args.parseval} (swift build, or --parseval)")
    work = args.work or Path(tempfile.mkdtemp(prefix="parseval-round-trip-"))
    work.mkdir(parents=True, exist_ok=True)
    parseval, table, timings = Parseval(args.parseval.resolve()), Table(), []
    torch.set_num_threads(min(torch.get_num_threads(), 8))
    try:
        # ListOps of lengths 6–29, padded to 32: part 1's data and part 2's padded set.
        padded_data = work / "listops"
        generate_listops(parseval, padded_data, train=64, val=32, min_length=5, max_length=30)
        parts = {1: lambda: part1(parseval, table, work, padded_data),
                 2: lambda: table.guarded("2", "torch-encoder", lambda: part2(parseval, table, work, padded_data)),
                 3: lambda: table.guarded("3", "timm ViT", lambda: part3(parseval, table, work))}
        for number in args.parts:
            start, before = time.perf_counter(), parseval.seconds
            parts[number]()
            timings.append(f"part {number}: {time.perf_counter() - start:.1f} s ({parseval.seconds - before:.1f} s in parseval)")
    finally:
        if table.rows:
            table.print()
        print("; ".join(timings))
        if args.keep or args.work:
            print(f"work folder: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    failed = table.failed()
    if failed:
        print(f"FAILED: {len(failed)} check(s): " + "; ".join(f"{row[1]} {row[2]}" for row in failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
