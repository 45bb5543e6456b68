"""Helpers every `mixlab` subcommand shares: progress lines, run specs, CPU threads."""
from __future__ import annotations

import ctypes
import json
import os
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


def native_threads(n: int | None) -> None:
    """Threads of the BLAS under numpy/scipy, for commands that never import torch.

    OpenBLAS reads the variable when it loads: call this before importing scipy.
    """
    if n:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(n)


def keep_freed_memory() -> None:
    """glibc: serve large arrays from the heap and keep freed memory for reuse.

    By default every array over 32 MB is a fresh mmap whose pages fault in one
    by one; scoring allocates dozens of 50-150 MB temporaries, and on VMs those
    page faults cost more than the FFTs (measured: 7.5 -> 6.0 s for a 240 s track).
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:      # not glibc: nothing to tune
        return
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    libc.mallopt(M_MMAP_THRESHOLD, ctypes.c_int(1 << 30))
    libc.mallopt(M_TRIM_THRESHOLD, ctypes.c_int((1 << 31) - 1))


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
