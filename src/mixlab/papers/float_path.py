"""How far a run's numbers move when only the float path changes, beside how far they move between seeds.

Two runs of the same specs -- trained with another thread count, on another CPU, with another kernel --
score the same models with other floats: each summation order rounds differently, and thousands of
training steps carry the difference into the weights. Same machine, same threads, same spec gives the same
bytes (tested); anything else does not. This compares two runs' per-model scores on the test set
(`results/<run>/scores/test/<experiment>/<model>.csv`, the mean over stems of the median over tracks, as
every figure) and writes, model by model, both scores and their difference, then the float-path spread
(std of the differences) next to the seed spread (std over training seeds, pooled over the models that
have several: `<id>`, `<id>_s<seed>`).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from mixlab.papers.verdicts import pooled_sd

SEED = re.compile(r"_s\d+$")


def model_scores(run: str | Path, testset: str = "test") -> pd.DataFrame:
    """exp, model, avg (SDR, mean of the stems' medians over tracks) of every scored model of a run."""
    from mixlab.metrics.bsseval import median_over_tracks, read_per_track

    root = Path(run) / "scores" / testset
    rows = [{"exp": csv.parent.name, "model": csv.stem, "avg": float(median_over_tracks(read_per_track(csv))["avg"])}
            for csv in sorted(root.glob("*/*.csv"))]
    if not rows:
        raise FileNotFoundError(f"{root}: no scored models (scores/{testset}/<experiment>/<model>.csv); "
                                "give the results folder of a run that has scored some")
    return pd.DataFrame(rows)


def seed_spread(scores: pd.DataFrame) -> tuple[float, int]:
    """The std over training seeds pooled over every model id with several seeds, and its df."""
    groups = scores.assign(base=scores["model"].str.replace(SEED, "", regex=True)).groupby(["exp", "base"])["avg"]
    return pooled_sd(g for _, g in groups)


def compare(run_a: str | Path, run_b: str | Path, testset: str = "test") -> pd.DataFrame:
    a, b = model_scores(run_a, testset), model_scores(run_b, testset)
    both = a.merge(b, on=["exp", "model"], suffixes=("_a", "_b"))
    if both.empty:
        raise ValueError(f"{run_a} and {run_b} have no scored model in common: run the same targets in both")
    return both.assign(diff=both["avg_b"] - both["avg_a"])


def report(run_a: str | Path, run_b: str | Path, testset: str = "test") -> str:
    t = compare(run_a, run_b, testset)
    sd_seed, df_seed = seed_spread(model_scores(run_a, testset))
    lines = [f"| experiment | model | {Path(run_a).name} | {Path(run_b).name} | difference |", "|---|---|---|---|---|"]
    lines += [f"| {r.exp} | {r.model} | {r.avg_a:.2f} | {r.avg_b:.2f} | {r.diff:+.2f} |" for r in t.itertuples()]
    sd_float = float(t["diff"].std(ddof=1)) if len(t) > 1 else float("nan")
    lines += ["", f"Float path: {len(t)} models, differences {t['diff'].mean():+.2f} dB on average, std "
                  f"{sd_float:.2f} dB, largest |difference| {t['diff'].abs().max():.2f} dB (avg SDR, test set)."]
    if df_seed:
        seed = f"Seed spread of {Path(run_a).name}: std {sd_seed:.2f} dB over training seeds (pooled, {df_seed} df)"
        ratio = f"; the float path's std is {sd_float / sd_seed:.1f}x that" if np.isfinite(sd_float) and sd_seed > 0 else ""
        lines.append(seed + ratio + ".")
    return "\n".join(lines) + "\n"
