"""One room per paper: its experiment grid and run specs, its training recipe, its figures and tables.

Everything both papers use -- data layout and corpora, stem stores, samplers, models, losses, the
training engine, separation, metrics -- lives by stage under `mixlab/`; a paper's room only says
what that paper does with it.

- `random_mixing`: Paper A, random-mixing augmentation ("cacophony") with TFC-TDF-UNet v3.
- `mixit`: Paper B, MixIT pre-training on unlabeled music (FMA) with BS-Locoformer.

The one way into training: a run spec names its recipe (`RECIPES`) and its inputs, and `train` runs it.
"""
from __future__ import annotations

import importlib
from pathlib import Path

# recipe name -> (module with DEFAULTS, module and function that builds the recipe)
RECIPES = {
    "random_mixing": ("mixlab.papers.random_mixing.defaults", "mixlab.papers.random_mixing.recipe", "recipe"),
    "mixit.pretrain": ("mixlab.papers.mixit.defaults", "mixlab.papers.mixit.recipe", "pretrain"),
    "mixit.finetune": ("mixlab.papers.mixit.defaults", "mixlab.papers.mixit.recipe", "finetune"),
}


def defaults(recipe: str) -> dict:
    """The train settings a spec of this recipe may leave out (no torch import)."""
    from mixlab.config import ConfigError

    if recipe not in RECIPES:
        raise ConfigError(f"spec key 'recipe': {recipe!r} is not a recipe; choose one of {', '.join(RECIPES)}")
    return importlib.import_module(RECIPES[recipe][0]).DEFAULTS


def train(spec: dict, out: str | Path, resume_dir: str | Path, device: str = "cpu", log=print,
          snapshots: str | Path | None = None) -> Path:
    """Train the run `spec` ({"recipe", "inputs", "model", "train", ...}); write its model file to `out`.

    Rerun with the same spec and resume_dir after a kill: it resumes from the last resume checkpoint.
    `snapshots`: a folder receiving the weights every train.snapshot_every steps (Paper A's Fig. 2)."""
    from mixlab.train import engine

    name = spec.get("recipe")
    fixed = defaults(name)
    _, module, function = RECIPES[name]
    build = getattr(importlib.import_module(module), function)
    return engine.train(spec, fixed, build, out, resume_dir, device, log, snapshots)
