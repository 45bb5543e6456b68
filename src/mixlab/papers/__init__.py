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


def _training_histories(spec, out):
    from mixlab.plots.figure import same_length
    from mixlab.plots.histories import history_table, plot_histories

    histories = spec["inputs"]["histories"]
    same_length("training", histories=histories, labels=spec["labels"])
    table = history_table(spec["labels"], histories)
    table.to_csv(Path(out).with_suffix(".csv"), index=False)
    plot_histories(table, out, spec["caption"])
    return f"{len(histories)} models"


def figures() -> dict:
    """Every figure and table `mixlab figure` makes: "<paper>.<name>" from each paper's registry, plus
    "training" (both papers' training histories)."""
    from mixlab.papers.mixit.figures import FIGURES as B
    from mixlab.papers.random_mixing.figures import FIGURES as A
    from mixlab.plots.figure import Figure

    out = {f"random_mixing.{k}": v for k, v in A.items()} | {f"mixit.{k}": v for k, v in B.items()}
    out["training"] = Figure("figure", _training_histories, ("histories",), ("labels",),
                             help="every model's training loss (<model>.history.csv); `labels` like fig1/p0.50, "
                                  "one panel per part before the last /")
    return out


def figure(spec: dict, out: str | Path, log=print) -> None:
    """Make the figure or table `spec["figure"]` names from its spec's inputs; write it to `out` (and beside)."""
    from mixlab.config import ConfigError
    from mixlab.plots.figure import check

    registry = figures()
    name = spec.get("figure")
    if name not in registry:
        raise ConfigError(f"spec key 'figure': {name!r} is not a figure; choose one of {', '.join(registry)}")
    fig = registry[name]
    spec = check(name, fig, spec, out)
    log(f"[figure] {name} -> {out}\n{fig.make(spec, out)}")
