"""Helpers every `mixlab` subcommand shares: progress lines, run specs, CPU threads."""
from __future__ import annotations

import json
from pathlib import Path

import yaml


def log(msg: str) -> None:
    print(msg, flush=True)


def read_spec(arg: str) -> dict:
    """A run spec given inline as JSON or as a path to a JSON/YAML file."""
    if arg.lstrip().startswith("{"):
        return json.loads(arg)
    return yaml.safe_load(Path(arg).read_text())


def threads(n: int | None) -> None:
    if n:
        import torch

        torch.set_num_threads(n)
