"""What a figure or table of either paper is to the workflow: a name, the inputs and settings its spec
carries, the files it writes, and the function that makes it.

Each paper's room registers its own (`papers/<paper>/figures.py`, `FIGURES`); `mixlab figure --spec`
makes any of them, so a figure made by hand is the workflow's figure. A spec:

    {"figure": "random_mixing.fig1", "caption": "...", "p": [0.0, 1.0], "seeds": [0, 0],
     "inputs": {"tables": ["results/demo/scores/test/fig1/p0.00.csv", ...]}}
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from mixlab.config import ConfigError
from mixlab.errors import InputError

# what --out names and what goes beside it
WRITES = {
    "figure": ("PDF", ".pdf", "the PNG, the CSV of the plotted numbers and the caption (.md) beside it"),
    "table": ("Markdown table", ".md", "the .csv (and .tex) beside it"),
    "verdicts": ("Markdown verdict table", ".md", "nothing else"),
}


@dataclass(frozen=True)
class Figure:
    kind: str                                 # figure | table | verdicts (WRITES)
    make: Callable                            # make(spec, out) -> text for the log
    inputs: tuple[str, ...]                   # keys of spec["inputs"]: each a list of files
    params: tuple[str, ...] = ()              # settings the spec must carry
    optional: dict = field(default_factory=dict)   # settings it may carry, with their defaults
    help: str = ""
    optional_inputs: bool = False             # an absent input is "not measured" (the verdict tables)


def check(name: str, fig: Figure, spec: dict, out: str | Path) -> dict:
    """The spec with defaults filled in, or a ConfigError/InputError naming the key or file; before any work."""
    known = {"figure", "caption", "inputs", *fig.params, *fig.optional}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ConfigError(f"figure {name}: unknown spec key(s) {', '.join(unknown)}; it takes "
                          f"{', '.join(sorted(known - {'figure'}))}")
    missing = [k for k in fig.params if k not in spec]
    if missing:
        raise ConfigError(f"figure {name}: the spec lacks {', '.join(missing)}")
    inputs = spec.get("inputs") or {}
    if not isinstance(inputs, dict):
        raise ConfigError(f"figure {name}: spec key 'inputs' must map {', '.join(fig.inputs)} to lists of files")
    extra = sorted(set(inputs) - set(fig.inputs))
    if extra:
        raise ConfigError(f"figure {name}: unknown input(s) {', '.join(extra)}; it reads {', '.join(fig.inputs)}")
    files = {}
    for key in fig.inputs:
        given = inputs.get(key)
        if given is None and not fig.optional_inputs:
            raise ConfigError(f"figure {name}: the spec's inputs lack {key!r}")
        if given is None:
            continue
        paths = [given] if isinstance(given, str) else list(given)
        for p in paths:
            if not Path(p).is_file():
                raise InputError(f"{p}: no such file (input {key!r} of figure {name}); "
                                 "check the path, or build it with the workflow")
        files[key] = given
    what, suffix, beside = WRITES[fig.kind]
    if Path(out).suffix != suffix:
        raise ConfigError(f"--out {out}: figure {name} writes a {what} with {beside}; give a {suffix} path, "
                          f"e.g. {Path(out).with_suffix(suffix)}")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    return {**fig.optional, **spec, "caption": spec.get("caption", ""), "inputs": files}


def same_length(name: str, **lists) -> None:
    """Paired lists must pair up, one entry per input table."""
    sizes = {k: len(v) for k, v in lists.items() if v is not None}
    if len(set(sizes.values())) > 1:
        raise ConfigError(f"figure {name}: {', '.join(sizes)} must pair up, one entry per table; got "
                          + ", ".join(f"{n} {k}" for k, n in sizes.items()))
