#!/usr/bin/env python3
"""Reference-state fixtures for Parseval's sequence classifier, from an independent PyTorch model.

In the manner of llm.c's `test_gpt2`: this script re-implements Parseval's `EncoderClassifier`
(token embedding + learned positions -> encoder blocks -> final LayerNorm -> mean pooling over
valid tokens -> linear head) in PyTorch for every mixer and both block kinds (docs/models.md,
"Paper blocks"), written from Parseval's equations and Swift sources, not from its kernels: the
O(N²) sums where Parseval uses FFT Toeplitz products, cosine matrices where it uses Makhoul's DCT,
torch.fft where it uses FFTW. For each case it draws random parameters and a small batch, and
writes one safetensors file with the parameters, the inputs, the logits and loss, the gradient of
every parameter, and the parameters after three AdamW steps. Tests/TrainingTests/
ReferenceStateTests.swift builds the same model in Parseval, loads the parameters and compares.

Everything is computed in float64 from float32-rounded parameters and inputs (what the fixture
stores, so reloading a fixture reproduces its outputs exactly) and stored as float32.

Run by hand (never in CI); needs only PyTorch (the safetensors format is written here directly):

    python3 scripts/reference/reference_state.py                  # every case, both block kinds
    python3 scripts/reference/reference_state.py --block paper --cases fnet --out /tmp/fixtures

Fixture contract (`Tests/Fixtures/reference/<case>.safetensors`, `<case>-paper.safetensors` for
`--block paper`), all tensors F32 little-endian:
    __metadata__        "config" (Parseval's model keys, snake_case JSON), "optimizer" (AdamW
                        hyper-parameters, JSON), "generator"
    param.<name>        every Parseval parameter, Parseval's names and shapes
    buffer.<name>       kernelized attention's random features Ω, `buffer.blocks.<L>.mixer.features`
    input.tokens        (B, N) token ids; padding id 0 at the end of rows; mask = tokens != 0
    input.labels        (B,)
    output.logits       (B, classes);  output.loss (1,): mean softmax cross-entropy
    grad.<name>         d loss / d parameter
    adamw.losses        (3,): the loss before each of three AdamW steps on the same batch
    adamw.param.<name>  the parameters after those steps
"""

from __future__ import annotations

import argparse
import json
import math
import struct
import sys
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

REPOSITORY = Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = REPOSITORY / "Tests" / "Fixtures" / "reference"

# ----------------------------------------------------------------------------------------------
# Configuration


@dataclass
class ModelConfig:
    """Parseval's `model:` keys that the reference supports (docs/configuration.md)."""

    mixer: str = "attention"  # attention | fnet | fftnet | kernelized_rpe | performer | gfnet | afno
    block: str = "pre_norm"  # pre_norm | paper (docs/models.md "Paper blocks")
    vocabulary_size: int = 12
    max_length: int = 16
    dim: int = 16
    depth: int = 2
    heads: int = 2
    mlp_hidden: int = 32
    classes: int = 4
    pooling: str = "mean"  # mean | cls (a learned class token prepended) | first (the first input token)
    embedding: str = "table"  # table (a row per id) | scalar (the id through a Linear(1, D))
    head: str = "linear"  # linear | mlp (Linear(D, mlp_hidden) → ReLU → Linear, LRA's and the LUMIA code's head)
    padding_index: int = 0
    causal: bool = False
    random_features: int = 8
    downsample: list = field(default_factory=list)  # [{"layer": L, "ratio": p}]
    dropout: float = 0.0

    # Keys of a Parseval checkpoint's config that the reference understands only at these values
    # (`feature_redraw_interval` does not matter here: the model uses the Ω it is given).
    _UNSUPPORTED = {"filter_knots": 0, "patch_size": 0, "norm_epsilon": 0}

    @classmethod
    def from_parseval(cls, model: dict) -> "ModelConfig":
        """The reference config of a Parseval `model` section (a checkpoint's `config` metadata)."""
        for key, supported in cls._UNSUPPORTED.items():
            if model.get(key, supported) != supported:
                raise ValueError(f"model.{key} = {model[key]} is not supported by the reference (only {supported})")
        return cls(**{key: value for key, value in model.items() if key in cls.__dataclass_fields__})

    def to_json(self) -> str:
        return json.dumps(asdict(self))


@dataclass
class OptimizerConfig:
    learning_rate: float = 1e-2
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    weight_decay: float = 0.1  # large enough for decoupled decay to show in three steps


BLOCK_KINDS = ("pre_norm", "paper")
BATCH = 3
LENGTHS = (16, 11, 7)  # valid tokens per row; the rest is padding at the end
ADAMW_STEPS = 3

# Case name -> the config keys that differ from ModelConfig's defaults above.
CASES: dict[str, dict] = {
    "attention": {"mixer": "attention"},
    "attention-causal": {"mixer": "attention", "causal": True},
    "fnet": {"mixer": "fnet"},
    "fftnet": {"mixer": "fftnet"},
    "fourier-transformer": {"mixer": "attention", "downsample": [{"layer": 1, "ratio": 0.5}]},
    "kernelized-rpe": {"mixer": "kernelized_rpe"},
    "kernelized-rpe-causal": {"mixer": "kernelized_rpe", "causal": True},
    "performer": {"mixer": "performer"},
    "gfnet": {"mixer": "gfnet"},
    "afno": {"mixer": "afno"},
    # A learned class token (pooling cls): prepended before the positions, never masked, kept
    # aside by the DCT; FFTNet's with the scalar token embedding of its official LRA model.
    "attention-cls": {"mixer": "attention", "pooling": "cls"},
    "fftnet-cls": {"mixer": "fftnet", "pooling": "cls", "embedding": "scalar"},
    "fourier-transformer-cls": {"mixer": "attention", "pooling": "cls", "downsample": [{"layer": 1, "ratio": 0.5}]},
    "fnet-first": {"mixer": "fnet", "pooling": "first"},
    # LRA's Transformer classifier: the class token and the Dense → ReLU → Dense head.
    "transformer-lra": {"mixer": "attention", "pooling": "cls", "head": "mlp"},
}

# ----------------------------------------------------------------------------------------------
# Layers. Parameter names (module attribute paths) are exactly Parseval's; Linear weights are
# [out, in] in both. Dropout is not modelled: the fixtures use dropout 0.


class MLP(nn.Module):
    """Linear -> GELU -> Linear (Sources/Layers/MLP.swift); GELU exact (erf, PyTorch's default) or
    its tanh approximation (JAX's and Flax's default), as the block design says."""

    def __init__(self, dim: int, hidden: int, tanh_gelu: bool = False):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.approximate = "tanh" if tanh_gelu else "none"

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate=self.approximate))


class SoftmaxAttention(nn.Module):
    """softmax(Q Kᵀ / √d_h + M) V per head (Sources/Layers/SoftmaxAttention.swift).

    `qkv` projects to [Q | K | V] (3D columns), head h owning columns h·d_h ..< (h+1)·d_h of each.
    M masks padded keys and, when causal, keys after the query; a query left with no key gets a
    zero context row (padded queries are computed like any other; pooling ignores them).
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.heads, self.causal = config.heads, config.causal
        self.qkv = nn.Linear(config.dim, 3 * config.dim)
        self.out = nn.Linear(config.dim, config.dim)

    def forward(self, x, mask):
        b, n, d = x.shape
        q, k, v = (t.reshape(b, n, self.heads, -1).transpose(1, 2) for t in self.qkv(x).chunk(3, dim=-1))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // self.heads)  # (B, H, N, N)
        allowed = torch.ones(b, 1, n, n, dtype=torch.bool)
        if mask is not None:
            allowed = allowed & mask[:, None, None, :]
        if self.causal:
            allowed = allowed & torch.ones(n, n, dtype=torch.bool).tril()
        has_key = allowed.any(dim=-1, keepdim=True)
        scores = torch.where(allowed, scores, float("-inf"))
        scores = torch.where(has_key, scores, 0.0)  # rows with no key: finite, zeroed below
        probabilities = torch.softmax(scores, dim=-1) * has_key
        return self.out((probabilities @ v).transpose(1, 2).reshape(b, n, d))


class FNetMixing(nn.Module):
    """y = Re(FFT_seq(FFT_hidden(x))), unnormalised, pads included (Sources/SpectralMixing/FNetMixing.swift)."""

    def forward(self, x, mask):
        return torch.fft.fftn(x, dim=(1, 2)).real


class SpectralFilter(nn.Module):
    """FFTNet's filter W = base + W2 · GELU(W1 · c + b1) + b2, (B, D) -> (B, H, F), one value per bin."""

    def __init__(self, dim: int, heads: int, bins: int):
        super().__init__()
        self.heads, self.bins = heads, bins
        self.fc1 = nn.Linear(dim, dim)
        self.fc2 = nn.Linear(dim, heads * bins)
        self.base = nn.Parameter(torch.ones(heads, bins))

    def forward(self, c):
        delta = self.fc2(F.gelu(self.fc1(c), approximate="none"))
        return self.base + delta.reshape(-1, self.heads, self.bins)


class ModReLU(nn.Module):
    """modReLU's bias (H, F); Parseval initialises it to −0.1 (0 in paper blocks), fixtures draw it."""

    def __init__(self, heads: int, bins: int):
        super().__init__()
        self.bias = nn.Parameter(torch.full((heads, bins), -0.1))


class FFTNetMixing(nn.Module):
    """FFTNet v1's adaptive spectral filter (Sources/SpectralMixing/FFTNetMixing.swift):

        Z  = rfft(x, along N, norm=ortho)              (B, F, D), F = N/2 + 1
        c  = mean of x over valid tokens                (B, D); every token when given no mask
        Z' = Z ⊙ W(c), W (B, H, F) broadcast over each head's d_h contiguous channels
        U  = Z' · ReLU(|Z'| + β) / (|Z'| + 1e-6)        β (H, F)
        y  = irfft(U, n = N, norm=ortho)

    Pad tokens take part in both transforms (the layer is built for one length N); only the
    context mean skips them, and only under pre_norm (the paper block passes no mask).
    `filter_knots` > 0 (the interpolated filter) is not modelled.
    """

    epsilon = 1e-6

    def __init__(self, config: ModelConfig, length: int):
        super().__init__()
        self.heads, self.length, bins = config.heads, length, length // 2 + 1
        self.filter = SpectralFilter(config.dim, config.heads, bins)
        self.modrelu = ModReLU(config.heads, bins)

    def forward(self, x, mask):
        b, n, d = x.shape
        assert n == self.length, f"FFTNet is built for N = {self.length}, got {n}"
        head_dim = d // self.heads
        z = torch.fft.rfft(x, dim=1, norm="ortho")
        weights = torch.ones(b, n, dtype=x.dtype) if mask is None else mask.to(x.dtype)
        context = (weights[..., None] * x).sum(dim=1) / weights.sum(dim=1, keepdim=True)
        # (B, H, F) -> (B, F, D): every channel of head h reads its head's filter.
        w = self.filter(context).repeat_interleave(head_dim, dim=1).transpose(1, 2)
        beta = self.modrelu.bias.repeat_interleave(head_dim, dim=0).transpose(0, 1)  # (F, D)
        filtered = z * w
        magnitude = filtered.abs()
        u = filtered * (F.relu(magnitude + beta) / (magnitude + self.epsilon))
        self.kink_margin = (magnitude + beta).detach().abs().amin()  # diagnostics: distance to ReLU's kink
        return torch.fft.irfft(u, n=n, dim=1, norm="ortho")


class GlobalFilter(nn.Module):
    """GFNet's global filter (Rao et al., NeurIPS 2021), 1-D over the sequence as Parseval builds it
    (Sources/SpectralMixing/GlobalFilterMixing.swift): y = irfft(rfft(x, ortho) ⊙ W, N, ortho) with
    W ∈ ℂ^{F×D} stored as (F, D, 2) = (re, im), the official code's `complex_weight` layout. Pads are
    filtered like any token (no mask); c2r ignores the imaginary parts at DC and Nyquist."""

    def __init__(self, config: ModelConfig, length: int):
        super().__init__()
        self.length = length
        self.filter = nn.Parameter(torch.randn(length // 2 + 1, config.dim, 2) * 0.02)

    def forward(self, x, mask):
        z = torch.fft.rfft(x, dim=1, norm="ortho")
        return torch.fft.irfft(z * torch.view_as_complex(self.filter.contiguous()), n=self.length, dim=1, norm="ortho")


class AdaptiveFourierNeuralOperator(nn.Module):
    """AFNO (Guibas et al., ICLR 2022, eq. 6-8), 1-D over the sequence as Parseval builds it
    (Sources/SpectralMixing/AdaptiveFourierNeuralOperator.swift), written from the paper's equations
    in complex arithmetic: Z = rfft(x, ortho) split into K = heads channel blocks; per block a two-layer
    complex MLP shared by every frequency, O1 = ReLU(Z W1 + b1) with ReLU on the real and imaginary
    parts apart, O2 = O1 W2 + b2; soft-shrinkage S_λ of each part (λ = 0.01); y = x + irfft(S_λ(O2)).
    Weights (2, K, in, out) and biases (2, K, out) hold (re, im) first, the official code's layout.
    Every frequency kept, hidden factor 1; no mask."""

    threshold = 0.01

    def __init__(self, config: ModelConfig):
        super().__init__()
        blocks, size = config.heads, config.dim // config.heads
        self.w1 = nn.Parameter(0.02 * torch.randn(2, blocks, size, size))
        self.b1 = nn.Parameter(0.02 * torch.randn(2, blocks, size))
        self.w2 = nn.Parameter(0.02 * torch.randn(2, blocks, size, size))
        self.b2 = nn.Parameter(0.02 * torch.randn(2, blocks, size))
        self.kink_margin = math.inf

    def forward(self, x, mask):
        batch, n, dim = x.shape
        blocks = self.w1.shape[1]
        z = torch.fft.rfft(x, dim=1, norm="ortho").reshape(batch, n // 2 + 1, blocks, dim // blocks)
        w1, b1 = torch.complex(self.w1[0], self.w1[1]), torch.complex(self.b1[0], self.b1[1])
        w2, b2 = torch.complex(self.w2[0], self.w2[1]), torch.complex(self.b2[0], self.b2[1])
        p = torch.einsum("bfki,kio->bfko", z, w1) + b1
        o1 = torch.complex(F.relu(p.real), F.relu(p.imag))
        o2 = torch.einsum("bfki,kio->bfko", o1, w2) + b2
        s = torch.complex(F.softshrink(o2.real, self.threshold), F.softshrink(o2.imag, self.threshold))
        # diagnostics: the distance of any pre-activation to ReLU's kink, of any output to S_λ's
        parts = torch.cat([p.real.flatten(), p.imag.flatten()]).detach().abs()
        outputs = (torch.cat([o2.real.flatten(), o2.imag.flatten()]).detach().abs() - self.threshold).abs()
        self.kink_margin = min(parts.min().item(), outputs.min().item())
        return x + torch.fft.irfft(s.reshape(batch, n // 2 + 1, dim), n=n, dim=1, norm="ortho")


class RelativePositionBias(nn.Module):
    def __init__(self, heads: int, max_length: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(heads, 2 * max_length - 1))  # offset t at t + max_length - 1


class KernelizedAttention(nn.Module):
    """Kernelized attention with RPE (`kernelized_rpe`) or without (`performer`)
    (Sources/SpectralMixing/KernelizedAttention*.swift), written as the explicit O(N²) sum:

        x' = x / d_h^{1/4};  a(x) = Ω x' − |x'|²/2                     Ω (m, d_h), shared by heads
        φ(q_i) = exp(a(q_i) − s_i) / √m,  s_i = max_r a(q_i)_r            the query's own largest exponent
        φ(k_j) = exp(a(k_j) − S)   / √m,  S = max over valid j, r         per (batch, head); φ = 0 at pads
        A_ij = φ(q_i)·φ(k_j) · C_ij,  C_ij = exp(b_{j−i}) (RPE) or 1;  C_ij = 0 for j > i when causal
        out_i = Σ_j A_ij v_j / max(den_i, ε),  den_i = Σ_j A_ij,  ε = 1e-6

    The stabilisers s and S are held constant in backward (`detach`), as Parseval does, and the
    denominator's gradient is zero where the guard holds (den_i ≤ ε) — docs/models.md,
    "Kernelized attention: stabilisers and the denominator guard". Parseval evaluates the sums
    with FFT Toeplitz products; they equal this sum in exact arithmetic.
    """

    epsilon = 1e-6

    def __init__(self, config: ModelConfig, length: int):
        super().__init__()
        self.heads, self.causal, self.length = config.heads, config.causal, length
        d, head_dim = config.dim, config.dim // config.heads
        self.query, self.key = nn.Linear(d, d), nn.Linear(d, d)
        self.value, self.output = nn.Linear(d, d), nn.Linear(d, d)
        self.rpe = RelativePositionBias(config.heads, length) if config.mixer == "kernelized_rpe" else None
        # Ω is not learned: a buffer, `blocks.L.mixer.features` in fixtures and Parseval's checkpoints.
        self.register_buffer("features", orthogonal_gaussian_features(config.random_features, head_dim))

    def random_features(self, x, valid):
        """φ of (B, H, N, d_h) queries (`valid` None) or keys (`valid` (B, N) bool) -> (B, H, N, m)."""
        head_dim, m = x.shape[-1], self.features.shape[0]
        scaled = x / head_dim**0.25
        exponent = scaled @ self.features.T - 0.5 * (scaled * scaled).sum(dim=-1, keepdim=True)
        if valid is None:
            shift = exponent.amax(dim=-1, keepdim=True)
        else:
            keep = valid[:, None, :, None]
            shift = torch.where(keep, exponent, float("-inf")).amax(dim=(-2, -1), keepdim=True)
            shift = torch.where(torch.isfinite(shift), shift, 0.0)  # a block with no valid key: all zero anyway
        phi = torch.exp(exponent - shift.detach()) / math.sqrt(m)
        return phi if valid is None else phi * keep

    def coefficients(self, n: int, dtype):
        """C (H or 1, N, N): C_ij = exp(b_{j−i}) with RPE, else 1; zero above the diagonal when causal."""
        offsets = torch.arange(n)[None, :] - torch.arange(n)[:, None]  # j − i
        if self.rpe is None:
            c = torch.ones(1, n, n, dtype=dtype)
        else:
            c = torch.exp(self.rpe.bias[:, offsets + self.length - 1])  # inputs shorter than max use the centre
        return c * (offsets <= 0) if self.causal else c

    def forward(self, x, mask):
        b, n, d = x.shape
        q, k, v = (t.reshape(b, n, self.heads, -1).transpose(1, 2) for t in (self.query(x), self.key(x), self.value(x)))
        valid = torch.ones(b, n, dtype=torch.bool) if mask is None else mask
        a = self.random_features(q, None) @ self.random_features(k, valid).transpose(-1, -2)
        a = a * self.coefficients(n, x.dtype)
        numerator, denominator = a @ v, a.sum(dim=-1, keepdim=True)
        guarded = torch.where(denominator > self.epsilon, denominator, torch.full_like(denominator, self.epsilon))
        self.smallest_denominator = denominator.detach().amin()  # diagnostics: the guard acts below ε
        return self.output((numerator / guarded).transpose(1, 2).reshape(b, n, d))


def dct_matrix(n: int, dtype=torch.float64):
    """The orthonormal DCT-II matrix: X = C x, C_kt = s_k cos(πk(2t+1)/2n), s_0 = √(1/n), s_k = √(2/n).
    Its transpose is the orthonormal DCT-III, the inverse (Sources/SpectralMixing/DCT.swift)."""
    k, t = torch.arange(n, dtype=dtype)[:, None], torch.arange(n, dtype=dtype)[None, :]
    scale = torch.full((n, 1), math.sqrt(2 / n), dtype=dtype)
    scale[0] = math.sqrt(1 / n)
    return scale * torch.cos(math.pi * k * (2 * t + 1) / (2 * n))


def downsampled_length(length: int, ratio: float, keeps_first: bool = False) -> int:
    """K = ceil(p·N); keeping token 0 aside (cls or first pooling): 1 + min(K, N − 1), K still
    computed from the full length N."""
    kept = math.ceil(ratio * length)
    return 1 + min(kept, length - 1) if keeps_first else min(kept, length)


def dct_downsample(x, ratio: float, keeps_first: bool = False):
    """The Fourier Transformer's x <- IDCT_K(DCT_N(x)[:K]) along the sequence, each transform
    orthonormal at its own length (Sources/SpectralMixing/DCTDownsampler.swift); no parameters.
    With `keeps_first` token 0 bypasses the transform and the N − 1 others are shortened."""
    if keeps_first:
        rest = x[:, 1:]
        kept = downsampled_length(x.shape[1], ratio, True) - 1
        spectrum = torch.einsum("kt,btd->bkd", dct_matrix(rest.shape[1], x.dtype), rest)[:, :kept]
        return torch.cat([x[:, :1], torch.einsum("kt,bkd->btd", dct_matrix(kept, x.dtype), spectrum)], dim=1)
    n = x.shape[1]
    kept = downsampled_length(n, ratio)
    spectrum = torch.einsum("kt,btd->bkd", dct_matrix(n, x.dtype), x)[:, :kept]
    return torch.einsum("kt,bkd->btd", dct_matrix(kept, x.dtype), spectrum)


def make_mixer(config: ModelConfig, length: int) -> nn.Module:
    """The mixer of a block that sees sequences of `length` tokens (Sources/Models/EncoderTower.swift)."""
    if config.mixer == "attention":
        return SoftmaxAttention(config)
    if config.mixer == "fnet":
        return FNetMixing()
    if config.mixer == "fftnet":
        return FFTNetMixing(config, length)
    if config.mixer in ("kernelized_rpe", "performer"):
        return KernelizedAttention(config, length)
    if config.mixer == "gfnet":
        return GlobalFilter(config, length)
    if config.mixer == "afno":
        return AdaptiveFourierNeuralOperator(config)
    raise ValueError(f"unknown mixer '{config.mixer}'")


@dataclass(frozen=True)
class BlockDesign:
    layout: str  # pre_norm | post_norm | mixer_post_norm | serial (shortening layers of paper models: shortened_residual)
    epsilon: float  # every LayerNorm's ε, the final one's too
    tanh_gelu: bool  # the MLP's GELU form
    final_norm: bool  # a LayerNorm after the last block


def block_design(config: ModelConfig) -> BlockDesign:
    """docs/models.md, "Paper blocks" (`EncoderTower.blockDesign` in Sources/Models/EncoderTower.swift)."""
    if config.block == "pre_norm":
        return BlockDesign("pre_norm", 1e-5, False, True)
    if config.block != "paper":
        raise ValueError(f"unknown block kind '{config.block}'")
    if config.mixer == "fnet":  # google-research f_net/layers.py: post-norm, ε 1e-12, Flax's gelu; no final norm
        return BlockDesign("post_norm", 1e-12, True, False)
    if config.mixer == "fftnet":  # jacobfa/fft fftnet_modules.py at 72d20e1: PyTorch defaults
        return BlockDesign("mixer_post_norm", 1e-5, False, True)
    if config.mixer == "gfnet":  # raoyongming/GFNet gfnet.py Block: filter and MLP under one residual, ε 1e-6
        return BlockDesign("serial", 1e-6, False, True)
    if config.mixer == "afno":  # NVlabs/AFNO-transformer afnonet.py Block (no double skip): as GFNet's, ε 1e-6
        return BlockDesign("serial", 1e-6, False, True)
    if config.mixer == "attention" and config.downsample:  # LUMIA-Group FourierTransformer: PyTorch defaults
        return BlockDesign("pre_norm", 1e-5, False, True)
    return BlockDesign("pre_norm", 1e-6, True, True)  # LRA's Flax TransformerBlock (attention, Performer, RPE)


class EncoderBlock(nn.Module):
    """An encoder block in one of the layouts of docs/models.md "Paper blocks"
    (Sources/Layers/EncoderBlock.swift), M the mixer, S the DCT shortening, D(·) dropout (0 here):

        pre_norm            h = x + M(LN1 x);           y = h + MLP(LN2 h)      Parseval's default
        post_norm           h = LN1(x + M(x));          y = LN2(h + MLP(h))     FNet's paper block
        mixer_post_norm     h = LN1(x + M(x));          y = h + MLP(LN2 h)      FFTNet v1's; M sees no mask
        shortened_residual  s = S(LN1 x); h = s + M(s); y = h + MLP(LN2 h)      a paper model's shortening
                                                                                layer; M sees no mask
        serial              y = x + MLP(LN2(M(LN1 x)))                          GFNet's paper block

    Parameter names are the same in every layout (`norm1`, `mixer`, `norm2`, `mlp`)."""

    def __init__(self, config: ModelConfig, length: int, shortening_ratio: float | None = None):
        super().__init__()
        design = block_design(config)
        self.layout = "shortened_residual" if shortening_ratio is not None else design.layout
        self.shortening_ratio = shortening_ratio
        self.keeps_first = config.pooling != "mean"
        self.norm1 = nn.LayerNorm(config.dim, eps=design.epsilon)
        self.mixer = make_mixer(config, length)
        self.norm2 = nn.LayerNorm(config.dim, eps=design.epsilon)
        self.mlp = MLP(config.dim, config.mlp_hidden, design.tanh_gelu)

    def forward(self, x, mask):
        if self.layout == "pre_norm":
            h = x + self.mixer(self.norm1(x), mask)
            return h + self.mlp(self.norm2(h))
        if self.layout == "post_norm":
            h = self.norm1(x + self.mixer(x, mask))
            return self.norm2(h + self.mlp(h))
        if self.layout == "mixer_post_norm":
            h = self.norm1(x + self.mixer(x, None))
            return h + self.mlp(self.norm2(h))
        if self.layout == "serial":
            return x + self.mlp(self.norm2(self.mixer(self.norm1(x), mask)))
        short = dct_downsample(self.norm1(x), self.shortening_ratio, self.keeps_first)
        h = short + self.mixer(short, None)
        return h + self.mlp(self.norm2(h))


class MLPHead(nn.Module):
    """`model.head: mlp` (Sources/Models/ClassifierHead.swift): fc2(ReLU(fc1(x))), `head.fc1.*`, `head.fc2.*`."""

    def __init__(self, dim: int, hidden: int, classes: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, classes)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class EncoderClassifier(nn.Module):
    """Parseval's `EncoderClassifier` (Sources/Models/EncoderClassifier.swift, EncoderTower.swift):
    embedding (+ a learned class token in front with pooling cls) + learned positions -> blocks ->
    final LayerNorm (not in FNet's paper model) -> mean over valid tokens, or position 0 (cls,
    first) -> linear head. A layer listed in `downsample` shortens the sequence: with
    pre_norm blocks the residual stream itself before the block, with paper blocks inside it
    (`shortened_residual`); from that layer on nothing uses the padding mask, pooling included;
    with cls or first pooling token 0 bypasses the shortening.
    Parameters: `embedding.weight` (table (V, D), or scalar (D, 1) with `embedding.bias`),
    `cls_token` (1, 1, D), `position` (max_length [+ 1 with cls], D),
    `blocks.L.{norm1,mixer,norm2,mlp}.…`, `norm.*`, `head.*`."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        if config.pooling not in ("mean", "cls", "first"):
            raise ValueError(f"unknown pooling '{config.pooling}'")
        self.config = config
        design = block_design(config)
        if config.embedding == "scalar":  # the FFTNet code's TokenEmbed(input_dim=1)
            self.embedding = nn.Linear(1, config.dim)
        else:
            self.embedding = nn.Embedding(config.vocabulary_size, config.dim)
        self.class_token = config.pooling == "cls"
        if self.class_token:
            self.cls_token = nn.Parameter(torch.zeros(1, 1, config.dim))
        length = config.max_length + (1 if self.class_token else 0)
        self.position = nn.Parameter(torch.zeros(length, config.dim))
        self.ratios = {stage["layer"]: stage["ratio"] for stage in config.downsample}
        self.shortens_inside = config.block == "paper"
        keeps_first = config.pooling != "mean"
        blocks = []
        for layer in range(config.depth):
            ratio = self.ratios.get(layer)
            if ratio is not None:
                length = downsampled_length(length, ratio, keeps_first)
            blocks.append(EncoderBlock(config, length, ratio if self.shortens_inside else None))
        self.blocks = nn.ModuleList(blocks)
        self.norm = nn.LayerNorm(config.dim, eps=design.epsilon) if design.final_norm else None
        if config.head == "mlp":
            self.head = MLPHead(config.dim, config.mlp_hidden, config.classes)
        else:
            self.head = nn.Linear(config.dim, config.classes)

    def forward(self, tokens, mask=None):
        """tokens (B, N) int64 -> logits (B, classes). `mask` (B, N) bool, True at real tokens;
        by default tokens != padding_index (all True without a padding index)."""
        pad = self.config.padding_index
        if mask is None:
            mask = tokens != pad if pad >= 0 else torch.ones_like(tokens, dtype=torch.bool)
        if self.config.embedding == "scalar":
            x = self.embedding(tokens.to(self.embedding.weight.dtype)[..., None])  # pads are not special
        else:
            x = self.embedding.weight[tokens]
            if pad >= 0:
                x = x * (tokens != pad)[..., None]  # the padding id embeds to zeros, whatever row pad holds
        if self.class_token:
            x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
            mask = torch.cat([torch.ones_like(mask[:, :1]), mask], dim=1)  # the token is never masked
        x = x + self.position[: x.shape[1]]
        keeps_first = self.config.pooling != "mean"
        for layer, block in enumerate(self.blocks):
            shortens = layer in self.ratios
            if shortens and not self.shortens_inside:
                x, mask = dct_downsample(x, self.ratios[layer], keeps_first), None
            x = block(x, mask)
            if shortens:
                mask = None  # the padding mask no longer applies to the shortened sequence
        if self.norm is not None:
            x = self.norm(x)
        if self.config.pooling != "mean":
            return self.head(x[:, 0])
        weights = torch.ones(x.shape[:2], dtype=x.dtype) if mask is None else mask.to(x.dtype)
        pooled = (weights[..., None] * x).sum(dim=1) / weights.sum(dim=1, keepdim=True)
        return self.head(pooled)


def decayed_parameter_names(model: nn.Module) -> set[str]:
    """Parameters with decoupled weight decay, as Parseval registers them (`weightDecay: true`):
    every Linear weight, GFNet's filter (the official code decays its 4-D `complex_weight`) and AFNO's w1, w2;
    never norms, biases, embeddings, positions, FFTNet's base filter and modReLU bias, or RPE biases."""
    return ({f"{name}.weight" for name, module in model.named_modules() if isinstance(module, nn.Linear)}
            | {f"{name}.filter" for name, module in model.named_modules() if isinstance(module, GlobalFilter)}
            | {f"{name}.{w}" for name, module in model.named_modules() if isinstance(module, AdaptiveFourierNeuralOperator)
               for w in ("w1", "w2")})


# ----------------------------------------------------------------------------------------------
# Random features


def orthogonal_gaussian_features(count: int, dimension: int, generator: torch.Generator | None = None):
    """Ω (count, dimension): blocks of `dimension` orthonormal rows (QR of a Gaussian block), each
    row scaled by the norm of an independent Gaussian vector — the distribution Parseval's
    `orthogonalGaussianFeatures` draws from (its own stream and Gram–Schmidt, so other values)."""
    blocks = []
    for _ in range(math.ceil(count / dimension)):
        gaussian = torch.randn(dimension, dimension, generator=generator, dtype=torch.float64)
        q, r = torch.linalg.qr(gaussian.T)
        blocks.append((q * torch.sign(torch.diagonal(r))).T)  # rows orthonormal; signs fixed by R
    rows = torch.cat(blocks)[:count]
    lengths = torch.randn(count, dimension, generator=generator, dtype=torch.float64).norm(dim=1, keepdim=True)
    return (rows * lengths).float()


class _Philox:
    """Parseval's `RandomStream` (Philox4x32-10, Box–Muller normals), only to recover the Ω a
    Parseval run drew when its checkpoint predates stored features (see `parseval_features`)."""

    MASK = 0xFFFFFFFF

    def __init__(self, seed: int, stream: int = 0):
        self.seed, self.stream, self.position = seed & 0xFFFFFFFFFFFFFFFF, stream, 0

    def block(self, index: int):
        c = [index & self.MASK, index >> 32 & self.MASK, self.stream & self.MASK, self.stream >> 32 & self.MASK]
        k0, k1 = self.seed & self.MASK, self.seed >> 32
        for round_ in range(10):
            if round_ > 0:
                k0, k1 = (k0 + 0x9E3779B9) & self.MASK, (k1 + 0xBB67AE85) & self.MASK
            p0, p1 = 0xD2511F53 * c[0], 0xCD9E8D57 * c[2]
            c = [(p1 >> 32) ^ c[1] ^ k0, p1 & self.MASK, (p0 >> 32) ^ c[3] ^ k1, p0 & self.MASK]
        return c

    def next32(self) -> int:
        value = self.block(self.position >> 2)[self.position & 3]
        self.position += 1
        return value

    def normal(self) -> float:
        u1 = ((((self.next32() << 32) | self.next32()) >> 11) + 1) * 2.0**-53
        u2 = (((self.next32() << 32) | self.next32()) >> 11) * 2.0**-53
        value = math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)
        return struct.unpack("<f", struct.pack("<f", value))[0]  # Swift returns it as a Float


def parseval_features(seed: int, count: int, dimension: int):
    """The Ω a Parseval model built with `seed` draws for a kernelized layer (EncoderTower passes
    `training.seed + layer`), with fixed features (`feature_redraw_interval: 0`): the same stream,
    Gram–Schmidt order and rounding as `KernelizedAttention.orthogonalGaussianFeatures`."""
    stream, rows = _Philox(seed), []
    while len(rows) < count:
        block = [[float(stream.normal()) for _ in range(dimension)] for _ in range(dimension)]
        for r in range(dimension):
            for p in range(r):
                projection = 0.0
                for j in range(dimension):
                    projection += block[r][j] * block[p][j]
                block[r] = [block[r][j] - projection * block[p][j] for j in range(dimension)]
            norm = 0.0
            for j in range(dimension):
                norm += block[r][j] * block[r][j]
            block[r] = [value / math.sqrt(norm) for value in block[r]]
        rows += block[: count - len(rows)]
    for row in rows:
        length = 0.0
        for _ in range(dimension):
            g = stream.normal()
            length += g * g
        row[:] = [value * math.sqrt(length) for value in row]
    return torch.tensor(rows, dtype=torch.float64).float()


# ----------------------------------------------------------------------------------------------
# safetensors, written and read by hand (8-byte little-endian header length, JSON header padded
# with spaces to a multiple of 8 as Parseval pads it, then the tensors back to back; F32 only)


def write_safetensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> int:
    header, chunks, offset = {"__metadata__": metadata}, [], 0
    for name, tensor in tensors.items():
        values = tensor.detach().to(torch.float32).flatten().tolist()
        data = struct.pack(f"<{len(values)}f", *values)
        header[name] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = struct.pack("<Q", len(encoded)) + encoded + b"".join(chunks)
    path.write_bytes(blob)
    return len(blob)


def read_safetensors(path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors (as float32) and metadata of a safetensors file with F32, F16 or BF16 tensors."""
    blob = Path(path).read_bytes()
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + length])
    metadata = header.pop("__metadata__", {})
    dtypes = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
    tensors = {}
    for name, info in header.items():
        begin, end = (8 + length + offset for offset in info["data_offsets"])
        raw = torch.frombuffer(bytearray(blob[begin:end]), dtype=dtypes[info["dtype"]])
        tensors[name] = raw.float().reshape(info["shape"])
    return tensors, metadata


# ----------------------------------------------------------------------------------------------
# Loading parameters


def load_parseval_state(model: EncoderClassifier, tensors: dict[str, torch.Tensor]) -> list[str]:
    """Copies Parseval-named tensors into `model`: every parameter must be present with its shape
    (as Parseval's own loader requires), no unknown names; buffers (Ω) are optional — checkpoints
    written before Parseval stored them lack them. Returns the names of the buffers left as they were."""
    parameters, buffers = dict(model.named_parameters()), dict(model.named_buffers())
    unknown = sorted(set(tensors) - set(parameters) - set(buffers))
    missing = sorted(set(parameters) - set(tensors))
    if unknown or missing:
        raise KeyError(f"unknown tensors {unknown}, missing parameters {missing}")
    with torch.no_grad():
        for name, target in {**parameters, **buffers}.items():
            if name in tensors:
                if tuple(tensors[name].shape) != tuple(target.shape):
                    raise ValueError(f"'{name}' has shape {list(tensors[name].shape)}, "
                                     f"the model needs {list(target.shape)}")
                target.copy_(tensors[name])
    return sorted(set(buffers) - set(tensors))


def fixture_state(tensors: dict[str, torch.Tensor], prefix: str = "param.") -> dict[str, torch.Tensor]:
    """A fixture's parameters (`prefix` param. or adamw.param.) and buffers under Parseval's names."""
    state = {name[len(prefix):]: value for name, value in tensors.items() if name.startswith(prefix)}
    state.update({name[len("buffer."):]: value for name, value in tensors.items() if name.startswith("buffer.")})
    return state


# ----------------------------------------------------------------------------------------------
# The fixture computation


# Cases whose first draw put a float32 implementation at risk of landing on the other side of a
# kink: FFTNet's came within 2.5e-6 of modReLU's (`diagnostics`); draw 7 stays 2.4e-4 away at every
# AdamW step in both block kinds; fftnet-cls's draw 4 stays 1.7e-4 away. AFNO's first draw put
# a ReLU input or a soft-shrinkage output within 4e-6 of its kink; draw 4 stays 3.9e-5 away.
DRAW = {"fftnet": 7, "fftnet-cls": 4, "afno": 4}


def case_seed(name: str) -> int:
    """Stable across runs and case selections; both block kinds of a case share it."""
    return zlib.crc32(f"{name}#{DRAW[name]}".encode()) if name in DRAW else zlib.crc32(name.encode())


def draw_inputs(config: ModelConfig, generator: torch.Generator):
    tokens = torch.randint(1, config.vocabulary_size, (BATCH, config.max_length), generator=generator)
    for row, length in enumerate(LENGTHS):
        tokens[row, length:] = config.padding_index
    labels = torch.randint(0, config.classes, (BATCH,), generator=generator)
    return tokens, labels


def draw_parameters(model: EncoderClassifier, generator: torch.Generator):
    """Non-degenerate random values: normal·0.2 for weights, LayerNorm weights 1 ± 0.1, biases
    0.1·normal, FFTNet's base filter near 1 and modReLU bias near −0.1, RPE biases 0.3·normal; the
    token and position tables at Parseval's own scale, normal·0.02, with the padding row zero —
    small inputs to the first LayerNorm make its ε visible in the logits (the paper blocks differ
    in ε). Ω per kernelized layer. Everything is rounded to float32 (the fixture's values)."""

    def normal(shape, std, mean=0.0):
        return mean + std * torch.randn(shape, generator=generator, dtype=torch.float64)

    norm_weights = {f"{name}.weight" for name, module in model.named_modules() if isinstance(module, nn.LayerNorm)}
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name in norm_weights:
                value = normal(p.shape, 0.1, 1.0)
            elif name.endswith("filter.base"):
                value = normal(p.shape, 0.2, 1.0)
            elif name.endswith("mixer.filter"):  # GFNet's complex filter, of order 1 so the product shows
                value = normal(p.shape, 0.5)
            elif name.endswith("modrelu.bias"):
                value = normal(p.shape, 0.1, -0.1)
            elif name.endswith("rpe.bias"):
                value = normal(p.shape, 0.3)
            elif name.endswith("bias"):
                value = normal(p.shape, 0.1)
            elif name in ("embedding.weight", "position", "cls_token"):
                value = normal(p.shape, 0.02)
            else:
                value = normal(p.shape, 0.2)
            if name == "embedding.weight" and model.config.padding_index >= 0 and model.config.embedding == "table":
                value[model.config.padding_index] = 0
            p.copy_(value.float())
        for name, buffer in model.named_buffers():
            if name.endswith("mixer.features"):
                buffer.copy_(orthogonal_gaussian_features(*buffer.shape, generator=generator))


def loss_and_gradients(model, tokens, labels):
    logits = model(tokens)
    loss = F.cross_entropy(logits, labels)  # mean over the batch, no label smoothing
    gradients = torch.autograd.grad(loss, list(model.parameters()))
    return logits.detach(), loss.detach(), dict(zip([n for n, _ in model.named_parameters()], gradients))


def adamw_steps(model, tokens, labels, optimizer: OptimizerConfig, steps: int):
    """Parseval's AdamW (Sources/Optimizers/AdamW.swift, `pv_adamw` in Sources/CKernels/kernels.c),
    PyTorch's update: with t the step, m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
        p ← p·(1 − lr·λ) − lr · (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε)
    with the decay factor only for `decayed_parameter_names`. No clipping. Returns the losses
    before each step; the model holds the parameters after the last."""
    decayed = decayed_parameter_names(model)
    moments = {name: (torch.zeros_like(p), torch.zeros_like(p)) for name, p in model.named_parameters()}
    b1, b2, eps, lr = optimizer.beta1, optimizer.beta2, optimizer.epsilon, optimizer.learning_rate
    losses = []
    for t in range(1, steps + 1):
        _, loss, gradients = loss_and_gradients(model, tokens, labels)
        losses.append(loss)
        with torch.no_grad():
            for name, p in model.named_parameters():
                m, v = moments[name]
                g = gradients[name]
                m.mul_(b1).add_((1 - b1) * g)
                v.mul_(b2).add_((1 - b2) * g * g)
                decay = 1 - lr * optimizer.weight_decay if name in decayed else 1.0
                p.mul_(decay).sub_(lr * (m / (1 - b1**t)) / (torch.sqrt(v / (1 - b2**t)) + eps))
    return torch.stack(losses)


def build_case(name: str, block: str) -> tuple[ModelConfig, EncoderClassifier, torch.Tensor, torch.Tensor]:
    """The config, the model holding its drawn float32-rounded parameters (in float64), and the inputs."""
    config = ModelConfig(block=block, **CASES[name])
    generator = torch.Generator().manual_seed(case_seed(name))
    tokens, labels = draw_inputs(config, generator)
    model = EncoderClassifier(config)
    draw_parameters(model, generator)
    return config, model.double(), tokens, labels


def fixture_tensors(name: str, block: str, optimizer: OptimizerConfig):
    """Every tensor of a fixture (float64 until written) and its metadata."""
    config, model, tokens, labels = build_case(name, block)
    tensors = {f"param.{n}": p.detach().clone() for n, p in model.named_parameters()}
    tensors.update({f"buffer.{n}": b.clone() for n, b in model.named_buffers()})
    tensors["input.tokens"], tensors["input.labels"] = tokens.double(), labels.double()
    logits, loss, gradients = loss_and_gradients(model, tokens, labels)
    tensors["output.logits"], tensors["output.loss"] = logits, loss.reshape(1)
    tensors.update({f"grad.{n}": g for n, g in gradients.items()})
    tensors["adamw.losses"] = adamw_steps(model, tokens, labels, optimizer, ADAMW_STEPS)
    tensors.update({f"adamw.param.{n}": p.detach().clone() for n, p in model.named_parameters()})
    metadata = {
        "config": config.to_json(),
        "optimizer": json.dumps(asdict(optimizer)),
        "generator": f"scripts/reference/reference_state.py, torch {torch.__version__}",
    }
    return tensors, metadata


def fixture_path(directory: Path, name: str, block: str) -> Path:
    return directory / (f"{name}.safetensors" if block == "pre_norm" else f"{name}-{block}.safetensors")


# ----------------------------------------------------------------------------------------------
# Self-checks of the reference (float64 throughout)


# A float32 implementation follows a float64 one only while these stay clear of their kinks.
MARGINS = {"min den/ε": 10.0, "min ||Z'|+β|": 1e-4, "min AFNO kink distance": 1e-5}


def diagnostics(name: str, block: str) -> dict[str, float]:
    """Margins over the forward passes of all AdamW steps: the smallest kernelized denominator
    relative to ε (the guard acts below 1), and the smallest |(|Z'| + β)|, the distance to FFTNet's
    modReLU kink (float32 rounding must not move an input across it)."""
    _, model, tokens, labels = build_case(name, block)
    margins: dict[str, float] = {}

    def record(label: str, value: float):
        margins[label] = min(margins.get(label, math.inf), value)

    for module in model.modules():
        if isinstance(module, KernelizedAttention):
            module.register_forward_hook(lambda m, *_: record("min den/ε", m.smallest_denominator.item() / m.epsilon))
        elif isinstance(module, FFTNetMixing):
            module.register_forward_hook(lambda m, *_: record("min ||Z'|+β|", m.kink_margin.item()))
        elif isinstance(module, AdaptiveFourierNeuralOperator):
            module.register_forward_hook(lambda m, *_: record("min AFNO kink distance", m.kink_margin))
    adamw_steps(model, tokens, labels, OptimizerConfig(), ADAMW_STEPS)
    return margins


def structurally_zero_gradients(name: str, block: str, threshold: float = 1e-10) -> list[str]:
    """Gradient entries that are zero in exact arithmetic but not exactly zero in floating point
    (below `threshold` × the largest gradient): attention's key bias (softmax ignores a shift common
    to all keys), FNet's first channel under pre_norm (its mixed output is constant across channels,
    which every following LayerNorm removes). A float32 implementation holds rounding noise there,
    which AdamW's steps scale to up to ±lr each."""
    _, model, tokens, labels = build_case(name, block)
    _, _, gradients = loss_and_gradients(model, tokens, labels)
    largest = max(g.abs().max().item() for g in gradients.values())
    found = []
    for parameter, g in gradients.items():
        tiny = (g != 0) & (g.abs() < threshold * largest)
        if tiny.any():
            found.append(f"{parameter}[{', '.join(str(i) for i in tiny.flatten().nonzero().flatten().tolist())}]")
    return found


def check_gradients(name: str, block: str, directions: int = 3, step: float = 1e-6) -> float:
    """Autograd against central finite differences of the loss along random unit directions in
    the space of all parameters. The step stays well inside the margins `diagnostics` reports
    (FFTNet's modReLU is only piecewise smooth). Returns the largest relative error."""
    _, model, tokens, labels = build_case(name, block)
    _, _, gradients = loss_and_gradients(model, tokens, labels)
    generator = torch.Generator().manual_seed(1)
    worst = 0.0
    for _ in range(directions):
        direction = {n: torch.randn(p.shape, generator=generator, dtype=p.dtype) for n, p in model.named_parameters()}
        if model.config.padding_index >= 0 and model.config.embedding == "table":
            direction["embedding.weight"][model.config.padding_index] = 0
        norm = math.sqrt(sum((d * d).sum().item() for d in direction.values()))
        direction = {n: d / norm for n, d in direction.items()}  # unit length: the step is `step` exactly
        analytic = sum((gradients[n] * direction[n]).sum() for n in direction).item()
        values = []
        with torch.no_grad():
            for sign in (1, -1):
                for n, p in model.named_parameters():
                    p.add_(sign * step * direction[n])
                values.append(F.cross_entropy(model(tokens), labels).item())
                for n, p in model.named_parameters():
                    p.sub_(sign * step * direction[n])
        numeric = (values[0] - values[1]) / (2 * step)
        worst = max(worst, abs(numeric - analytic) / max(abs(analytic), 1e-8))
    return worst


def check_fourier_transformer_identity() -> float:
    """With ratio 1.0 the DCT downsampling is the identity, so on unpadded inputs the Fourier
    Transformer's logits equal the Transformer's (Tests/TrainingTests/WeightInheritanceTests).
    With padding they differ: the downsampled blocks drop the mask."""
    _, plain, tokens, _ = build_case("attention", "pre_norm")
    tokens = torch.randint(1, plain.config.vocabulary_size, tokens.shape, generator=torch.Generator().manual_seed(2))
    identity = EncoderClassifier(ModelConfig(mixer="attention", downsample=[{"layer": 1, "ratio": 1.0}])).double()
    identity.load_state_dict(plain.state_dict())
    with torch.no_grad():
        return (identity(tokens) - plain(tokens)).abs().max().item()


def check_dct() -> float:
    """The DCT matrix is orthonormal, and a constant sequence a comes back as a·√(N/K)."""
    error = (dct_matrix(16) @ dct_matrix(16).T - torch.eye(16, dtype=torch.float64)).abs().max().item()
    constant = dct_downsample(torch.full((1, 16, 1), 3.0, dtype=torch.float64), 0.25)
    return max(error, (constant - 3.0 * math.sqrt(16 / 4)).abs().max().item())


def check_adamw(name: str = "fftnet") -> float:
    """The hand-written AdamW against torch.optim.AdamW with decay / no-decay parameter groups."""
    optimizer = OptimizerConfig()
    _, mine, tokens, labels = build_case(name, "pre_norm")
    _, theirs, _, _ = build_case(name, "pre_norm")
    adamw_steps(mine, tokens, labels, optimizer, ADAMW_STEPS)
    decayed = decayed_parameter_names(theirs)
    named = list(theirs.named_parameters())
    groups = [{"params": [p for n, p in named if n in decayed], "weight_decay": optimizer.weight_decay},
              {"params": [p for n, p in named if n not in decayed], "weight_decay": 0.0}]
    torch_adamw = torch.optim.AdamW(groups, lr=optimizer.learning_rate, betas=(optimizer.beta1, optimizer.beta2),
                                    eps=optimizer.epsilon)
    for _ in range(ADAMW_STEPS):
        torch_adamw.zero_grad()
        F.cross_entropy(theirs(tokens), labels).backward()
        torch_adamw.step()
    return max((a - b).abs().max().item() for a, b in zip(mine.parameters(), theirs.parameters()))


def check_fixture_round_trip(path: Path) -> float:
    """Loads a written fixture with `load_parseval_state` (the loader load_checkpoint.py uses) and
    recomputes its logits; they must equal the stored ones to float32 rounding."""
    tensors, metadata = read_safetensors(path)
    model = EncoderClassifier(ModelConfig(**json.loads(metadata["config"]))).double()
    assert load_parseval_state(model, fixture_state(tensors)) == [], "a fixture holds every buffer"
    with torch.no_grad():
        logits = model(tensors["input.tokens"].long())
    return ((logits - tensors["output.logits"].double()).abs() / (1e-6 + logits.abs())).max().item()


# ----------------------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUTPUT, help="fixture folder (default: %(default)s)")
    parser.add_argument("--block", choices=[*BLOCK_KINDS, "all"], default="all",
                        help="encoder block kind (default: both, the set the Swift test expects)")
    parser.add_argument("--cases", nargs="+", choices=sorted(CASES), default=list(CASES), help="cases to write")
    parser.add_argument("--skip-checks", action="store_true", help="write the fixtures without the self-checks")
    args = parser.parse_args(argv)
    blocks = BLOCK_KINDS if args.block == "all" else (args.block,)
    runs = [(name, block) for block in blocks for name in args.cases]

    written = []
    for name, block in runs:
        tensors, metadata = fixture_tensors(name, block, OptimizerConfig())
        path = fixture_path(args.out, name, block)
        size = write_safetensors(path, tensors, metadata)
        written.append(path)
        losses = ", ".join(f"{value:.6f}" for value in tensors["adamw.losses"].tolist())
        shown = path.relative_to(REPOSITORY) if path.is_relative_to(REPOSITORY) else path
        print(f"{shown}: {size} bytes; losses {losses}")
    if args.skip_checks:
        return 0
    failures = []

    def report(label, error, tolerance):
        print(f"check {label}: {error:.2e} (tolerance {tolerance:.0e})")
        if not error <= tolerance:
            failures.append(label)

    for name, block in runs:
        for label, value in diagnostics(name, block).items():
            print(f"check {label}, {name} ({block}): {value:.3g} (at least {MARGINS[label]:g})")
            if not value >= MARGINS[label]:
                failures.append(f"{label}, {name} ({block})")
        zeros = structurally_zero_gradients(name, block)
        if zeros:
            print(f"note {name} ({block}): gradients zero in exact arithmetic: {'; '.join(zeros)}")

    for name, block in runs:
        report(f"finite differences, {name} ({block})", check_gradients(name, block), 1e-6)
    report("fixtures reloaded through load_parseval_state", max(map(check_fixture_round_trip, written)), 1e-6)
    report("hand-written AdamW vs torch.optim.AdamW", check_adamw(), 1e-12)
    report("Fourier Transformer at ratio 1.0 vs Transformer", check_fourier_transformer_identity(), 1e-12)
    report("DCT orthonormality and constant scaling", check_dct(), 1e-12)
    if failures:
        print("FAILED: " + "; ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
