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


def job_spec(a, allowed, flags=()) -> dict:
    """A job's settings: `--spec` (inline JSON or a JSON/YAML file; the workflow passes the config's
    section whole), then any of `flags` given by hand. Nothing here has a default: what is left out
    takes the library's default, named in `allowed` (a dataclass or the keys a call takes)."""
    from dataclasses import fields, is_dataclass

    from mixlab.config import ConfigError

    spec = dict(read_spec(a.spec)) if getattr(a, "spec", None) else {}
    spec.update({f: getattr(a, f) for f in flags if getattr(a, f) is not None})
    names = [f.name for f in fields(allowed)] if is_dataclass(allowed) else list(allowed)
    unknown = sorted(set(spec) - set(names))
    if unknown:
        raise ConfigError(f"--spec: unknown key(s) {', '.join(map(repr, unknown))}; "
                          f"`mixlab {a.command}` takes {', '.join(names)}")
    return spec
