"""The model file: a trained model's weights and the run spec that says what it is.

One format for both papers: `{"spec": JSON of the run spec, "state_dict": weights, "step": N}`,
written atomically (a temporary file renamed over the target, so a kill mid-write never leaves a
torn file) and read with `weights_only=True` (no pickled code runs on load). The spec's `model`
section rebuilds the architecture, so a model file is all `separate`, the Fig. 2 curves and
channel selection need.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from mixlab.errors import InputError, reading
from mixlab.models.registry import build_model


def atomic_save(obj, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


MODEL_FIX = "a model file is written by `mixlab train` or `mixlab import-checkpoint`"


def load(path: str | Path, map_location="cpu"):
    with reading(path, "a mixlab model file", MODEL_FIX):
        return torch.load(path, map_location=map_location, weights_only=True)


def save_model(path: str | Path, spec: dict, state_dict: dict, step: int) -> None:
    atomic_save({"spec": json.dumps(spec, sort_keys=True), "state_dict": state_dict, "step": step}, path)


def load_model(path: str | Path, device="cpu"):
    """The trained (EMA) model of a model file and the run spec it was trained with."""
    blob = load(path, map_location=device)
    if not isinstance(blob, dict) or not {"spec", "state_dict"} <= set(blob):
        raise InputError(f"{path}: not a mixlab model file (no spec and weights: a resume checkpoint or another "
                         f"program's file?); {MODEL_FIX}")
    spec = json.loads(blob["spec"])
    model = build_model(spec["model"])
    model.load_state_dict(blob["state_dict"])
    return model.to(device).eval(), spec
