"""Separation models: one file per architecture, the registry, the model file.

`load(path)` is the public way to use any mixlab model file from Python -- one the workflow trained
or one `mixlab import-checkpoint` made from the authors' released weights:

    >>> import mixlab.models
    >>> net = mixlab.models.load("results/paper/models/mixit/medium_fma-large_full.pt")
    >>> y = net(x)            # x: (B, 2, T) mixture waveforms at net.cfg.sample_rate -> (B, N, 2, T)
"""
from __future__ import annotations

from mixlab.models.registry import MODELS, build_model, model_chunk  # noqa: F401


def load(path, device="cpu"):
    """The model of a mixlab model file, in eval mode on `device` (input scaling and every switch the
    file's spec sets included)."""
    from mixlab.models.io import load_model

    return load_model(path, device)[0]
