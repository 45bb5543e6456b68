"""How far a run's numbers move when only the float path changes, beside how far they move between seeds.

Two runs of the same specs -- trained with another thread count, on another CPU, with another kernel --
score the same models with other floats: each summation order rounds differently, and thousands of
training steps carry the difference into the weights. Same machine, same threads, same spec gives the same
bytes (tested); anything else does not. This compares two runs' per-model scores on the test set
(`results/<run>/scores/test/<experiment>/<model>.csv`, the mean over stems of the median over tracks, as
every figure) and writes, model by model, both scores and their difference; then, per experiment (figure
or table), the float path's spread beside the seed spread (std over training seeds, pooled over the models
that have several: `<id>`, `<id>_s<seed>`); then both runs' verdicts on every effect, side by side.

The float path's spread per model is the std of the differences over sqrt(2): each run carries its own
perturbation, so a difference holds two. If another float path acts like another training seed -- training
is chaotic, and a rounding difference in the first step grows like any other -- that number equals the seed
std, and the seed intervals already cover a rerun elsewhere: its effects are a fresh draw from the same
spread. A ratio well above 1 means the float path adds spread that the intervals do not hold. The std is
taken around the mean difference: an offset common to every model of an experiment cancels in its effects.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from mixlab.papers.verdicts import CONTRADICTED, MARKS, SHOWN, pooled_sd, read_effects

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


def by_experiment(both: pd.DataFrame, scores_a: pd.DataFrame) -> pd.DataFrame:
    """Per experiment: models compared, mean difference, the float path's std per model (std of the
    differences / sqrt 2), the largest |difference|, and run A's seed std (pooled) with its df."""
    rows = []
    for exp, g in both.groupby("exp", sort=True):
        sd_seed, df_seed = seed_spread(scores_a[scores_a["exp"] == exp])
        rows.append({"exp": exp, "models": len(g), "mean": float(g["diff"].mean()),
                     "sd_float": float(g["diff"].std(ddof=1)) / np.sqrt(2) if len(g) > 1 else float("nan"),
                     "largest": float(g["diff"].abs().max()), "sd_seed": sd_seed, "df_seed": df_seed})
    return pd.DataFrame(rows)


EFFECTS = ("effects_a.md", "mixit/effects.md")


def verdicts(run_a: str | Path, run_b: str | Path) -> pd.DataFrame:
    """Both runs' effect tables joined by effect: measured and verdict of each (empty where neither run
    has written one)."""
    a, b = Path(run_a), Path(run_b)
    tables = [read_effects(a / f).merge(read_effects(b / f), on="effect", suffixes=("_a", "_b"))
              for f in EFFECTS if (a / f).exists() and (b / f).exists()]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(
        columns=["effect", "measured_a", "verdict_a", "measured_b", "verdict_b"])


def _f(x: float, fmt: str = ".2f") -> str:
    return "—" if not np.isfinite(x) else format(x, fmt)


def report(run_a: str | Path, run_b: str | Path, testset: str = "test") -> str:
    na, nb = Path(run_a).name, Path(run_b).name
    scores_a = model_scores(run_a, testset)
    t = compare(run_a, run_b, testset)
    lines = [f"| experiment | model | {na} | {nb} | difference |", "|---|---|---|---|---|"]
    lines += [f"| {r.exp} | {r.model} | {r.avg_a:.2f} | {r.avg_b:.2f} | {r.diff:+.2f} |" for r in t.itertuples()]

    lines += ["", f"Per experiment (avg SDR, {testset} set; float path per model: std of the differences / √2; "
                  f"seed: std over training seeds in {na}, pooled):", "",
              "| experiment | models | mean difference | float path std | largest abs. difference | seed std (df) "
              "| float / seed |", "|---|---|---|---|---|---|---|"]
    per = by_experiment(t, scores_a)
    for r in per.itertuples():
        ratio = r.sd_float / r.sd_seed if r.df_seed and r.sd_seed > 0 else float("nan")
        seed = f"{r.sd_seed:.2f} ({r.df_seed})" if r.df_seed else "—"
        lines.append(f"| {r.exp} | {r.models} | {r.mean:+.2f} | {_f(r.sd_float)} | {r.largest:.2f} | {seed} "
                     f"| {_f(ratio, '.1f')} |")
    sd_float = float(t["diff"].std(ddof=1)) / np.sqrt(2) if len(t) > 1 else float("nan")
    sd_seed, df_seed = seed_spread(scores_a)
    total = (f"All: {len(t)} models, differences {t['diff'].mean():+.2f} dB on average, float path std "
             f"{_f(sd_float)} dB per model, largest |difference| {t['diff'].abs().max():.2f} dB")
    if df_seed:
        total += f"; seed std {sd_seed:.2f} dB (pooled, {df_seed} df)"
        if np.isfinite(sd_float) and sd_seed > 0:
            total += f"; the float path's std is {sd_float / sd_seed:.1f}x the seed std"
    lines += ["", total + "."]

    v = verdicts(run_a, run_b)
    if len(v):
        mark = lambda x: MARKS.get(x, "n/a")                                      # noqa: E731
        lines += ["", f"| effect | {na} | {nb} | same verdict |", "|---|---|---|---|"]
        lines += [f"| {r.effect} | {r.measured_a} {mark(r.verdict_a)} | {r.measured_b} {mark(r.verdict_b)} | "
                  f"{'yes' if mark(r.verdict_a) == mark(r.verdict_b) else 'no'} |" for r in v.itertuples()]
        same = int((v["verdict_a"].fillna("n/a") == v["verdict_b"].fillna("n/a")).sum())
        flips = sum({a, b} == {SHOWN, CONTRADICTED} for a, b in zip(v["verdict_a"], v["verdict_b"]))
        lines += ["", f"Verdicts: {same} of {len(v)} the same in both runs; {flips} turned from shown to "
                      "contradicted or back."]
    return "\n".join(lines) + "\n"
