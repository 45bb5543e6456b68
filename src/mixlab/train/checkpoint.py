"""Atomic checkpoint files and the final model file.

Resume checkpoints live outside Snakemake's declared outputs (which it deletes
when a job fails), are written to a temporary file and renamed so a kill
mid-write never leaves a torn checkpoint, and are loaded with weights_only=True.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from mixlab.models import build_model


def atomic_save(obj, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load(path: str | Path, map_location="cpu"):
    return torch.load(path, map_location=map_location, weights_only=True)


def save_model(path: str | Path, spec: dict, state_dict: dict, step: int) -> None:
    atomic_save({"spec": json.dumps(spec, sort_keys=True), "state_dict": state_dict, "step": step}, path)


def load_model(path: str | Path, device="cpu"):
    """The trained (EMA) model of a model file and the run spec it was trained with."""
    blob = load(path, map_location=device)
    spec = json.loads(blob["spec"])
    model = build_model(spec["model"])
    model.load_state_dict(blob["state_dict"])
    return model.to(device).eval(), spec
