#!/usr/bin/env python3
"""Loads a Parseval checkpoint into the PyTorch reference model and prints its logits.

    python3 scripts/reference/load_checkpoint.py RUN/checkpoints/step-00000200 [ID ...]

The argument is a step folder or its model.safetensors. ID ...: one sequence of token ids (0 =
padding, at the end); default: 1, 2, 3, … over max_length tokens. Sequence classifiers only
(EncoderClassifier). reference_state.py loads its own fixtures with the same `load_parseval_state`.
"""
import json
import sys
from pathlib import Path

import torch

from reference_state import EncoderClassifier, ModelConfig, load_parseval_state, parseval_features, read_safetensors

path = Path(sys.argv[1])
tensors, metadata = read_safetensors(path / "model.safetensors" if path.is_dir() else path)
settings = json.loads(metadata["config"])  # every checkpoint holds its run's resolved config
config = ModelConfig.from_parseval(settings["model"])
model = EncoderClassifier(config).double()

# Names and shapes are Parseval's (Linear weights [out, in]). Kernelized mixers' Ω is the buffer
# `blocks.L.mixer.features`; a checkpoint from before buffers were stored lacks it, and the run
# drew it from training.seed + L (fixed features only): draw the same.
for name in load_parseval_state(model, tensors):
    assert settings["model"].get("feature_redraw_interval", 0) == 0, "redrawn Ω: not reproduced here"
    seed = settings["training"]["seed"] + int(name.split(".")[1])  # name: blocks.L.mixer.features
    model.get_buffer(name).copy_(parseval_features(seed, *model.get_buffer(name).shape))

if len(sys.argv) > 2:
    tokens = torch.tensor([[int(token) for token in sys.argv[2:]]])
else:  # ids 1, 2, … over max_length tokens (FFTNet needs exactly max_length)
    tokens = torch.arange(config.max_length)[None] % (config.vocabulary_size - 1) + 1
with torch.no_grad():
    print(model(tokens))  # the mask is tokens != padding_index
