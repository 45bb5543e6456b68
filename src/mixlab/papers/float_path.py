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

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from mixlab.papers.verdicts import CONTRADICTED, LEVEL, MARKS, SHOWN, pooled_sd, read_effects

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


def seed_spread(scores: pd.DataFrame, cols=("avg",)) -> tuple[float, int]:
    """The std over training seeds pooled over every model id with several seeds (in each score column of
    `cols`: one run's, or both runs' side by side), and its df."""
    base = scores["model"].str.replace(SEED, "", regex=True)
    groups = scores.groupby([scores["exp"], base])
    return pooled_sd(g[c] for c in cols for _, g in groups)


def compare(run_a: str | Path, run_b: str | Path, testset: str = "test") -> pd.DataFrame:
    a, b = model_scores(run_a, testset), model_scores(run_b, testset)
    both = a.merge(b, on=["exp", "model"], suffixes=("_a", "_b"))
    if both.empty:
        raise ValueError(f"{run_a} and {run_b} have no scored model in common: run the same targets in both")
    return both.assign(diff=both["avg_b"] - both["avg_a"])


def spreads(both: pd.DataFrame) -> dict:
    """The float path's std per model (the differences' std around their experiment's mean, pooled over
    experiments, / sqrt 2) and the seed std (pooled over the seed groups of both runs), each with its df,
    and the ratio float / seed with its 95 % interval (an F interval: both are pooled sample variances)."""
    sd_diff, df_float = pooled_sd(g for _, g in both.groupby("exp")["diff"])
    sd_seed, df_seed = seed_spread(both, ("avg_a", "avg_b"))
    out = {"sd_float": sd_diff / math.sqrt(2), "df_float": df_float, "sd_seed": sd_seed, "df_seed": df_seed,
           "ratio": float("nan"), "ratio_lo": float("nan"), "ratio_hi": float("nan")}
    if df_float and df_seed and sd_seed > 0:
        from scipy.stats import f

        r = out["sd_float"] / sd_seed
        out.update(ratio=r, ratio_lo=r / math.sqrt(f.ppf(1 - (1 - LEVEL) / 2, df_float, df_seed)),
                   ratio_hi=r / math.sqrt(f.ppf((1 - LEVEL) / 2, df_float, df_seed)))
    return out


def by_experiment(both: pd.DataFrame) -> pd.DataFrame:
    """spreads() per experiment (figure or table), with the models compared, their mean difference and
    the largest |difference|."""
    rows = [{"exp": exp, "models": len(g), "mean": float(g["diff"].mean()), "largest": float(g["diff"].abs().max()),
             **spreads(g)} for exp, g in both.groupby("exp", sort=True)]
    return pd.DataFrame(rows)


EFFECTS = ("effects_a.md", "mixit/effects.md")
ABSENT = "absent"


def verdicts(run_a: str | Path, run_b: str | Path) -> tuple[pd.DataFrame, list[str]]:
    """Both runs' effect tables joined by effect (an effect only one run has: ABSENT on the other side),
    and a line for each effect table only one run has written."""
    a, b = Path(run_a), Path(run_b)
    tables, notes = [], []
    for f in EFFECTS:
        if (a / f).exists() and (b / f).exists():
            t = read_effects(a / f).merge(read_effects(b / f), on="effect", how="outer", suffixes=("_a", "_b"),
                                          indicator=True, sort=False)
            for side, other in (("a", "right_only"), ("b", "left_only")):
                t.loc[t["_merge"] == other, f"verdict_{side}"] = ABSENT
                t.loc[t["_merge"] == other, f"measured_{side}"] = ""
            tables.append(t.drop(columns="_merge"))
        elif (a / f).exists() or (b / f).exists():
            notes.append(f"{f}: only in {(a if (a / f).exists() else b)}; not compared")
    cols = ["effect", "measured_a", "verdict_a", "measured_b", "verdict_b"]
    return (pd.concat(tables, ignore_index=True)[cols] if tables else pd.DataFrame(columns=cols)), notes


def _f(x: float, fmt: str = ".2f") -> str:
    return "—" if not np.isfinite(x) else format(x, fmt)


def _ratio(s: dict) -> str:
    return "—" if not np.isfinite(s["ratio"]) else f"{s['ratio']:.1f} [{s['ratio_lo']:.1f}, {s['ratio_hi']:.1f}]"


def _short(measured: str) -> str:
    """The measured text without its parenthesis on seeds (the interval and the numbers stay)."""
    return re.sub(r" \([^()]*seed[^()]*\)", "", measured)


def report(run_a: str | Path, run_b: str | Path, testset: str = "test") -> str:
    na, nb = Path(run_a).name, Path(run_b).name
    t = compare(run_a, run_b, testset)
    lines = [f"| experiment | model | {na} | {nb} | difference |", "|---|---|---|---|---|"]
    lines += [f"| {r.exp} | {r.model} | {r.avg_a:.2f} | {r.avg_b:.2f} | {r.diff:+.2f} |" for r in t.itertuples()]

    lines += ["", f"Per experiment (avg SDR, {testset} set, dB). Float path per model: the differences' std / √2 "
                  "(each run carries its own perturbation). Seed: std over training seeds, pooled over both runs. "
                  "Ratio float / seed with its 95 % interval: 1 in it, another float path acts like another "
                  "seed (which the verdicts' intervals hold); above it, the float path adds spread they do not "
                  "hold; below it, it moves scores less than a seed does.", "",
              "| experiment | models | mean difference | largest abs. difference | float path std (df) "
              "| seed std (df) | float / seed |", "|---|---|---|---|---|---|---|"]
    for r in by_experiment(t).to_dict("records"):
        lines.append(f"| {r['exp']} | {r['models']} | {r['mean']:+.2f} | {r['largest']:.2f} | "
                     f"{_f(r['sd_float'])} ({r['df_float']}) | {_f(r['sd_seed'])} ({r['df_seed']}) | {_ratio(r)} |")
    s = spreads(t)
    lines += ["", f"All: {len(t)} models, differences {t['diff'].mean():+.2f} dB on average, largest "
                  f"|difference| {t['diff'].abs().max():.2f} dB; float path std {_f(s['sd_float'])} dB per model "
                  f"({s['df_float']} df, around each experiment's mean), seed std {_f(s['sd_seed'])} dB "
                  f"({s['df_seed']} df); float / seed {_ratio(s)}."]

    v, notes = verdicts(run_a, run_b)
    if notes:
        lines += [""] + notes
    if len(v):
        mark = lambda x: "n/a" if pd.isna(x) else MARKS.get(x, x)                # noqa: E731
        lines += ["", f"| effect | {na} | {nb} | same verdict |", "|---|---|---|---|"]
        judged = v["verdict_a"].isin(list(MARKS)) & v["verdict_b"].isin(list(MARKS))
        for r, j in zip(v.itertuples(), judged):
            same = ("yes" if r.verdict_a == r.verdict_b else "no") if j else "—"
            lines.append(f"| {r.effect} | {_short(r.measured_a)} {mark(r.verdict_a)} | "
                         f"{_short(r.measured_b)} {mark(r.verdict_b)} | {same} |")
        same = int((v["verdict_a"] == v["verdict_b"])[judged].sum())
        flips = sum({x, y} == {SHOWN, CONTRADICTED} for x, y in zip(v["verdict_a"], v["verdict_b"]))
        lines += ["", f"Verdicts: {same} of {int(judged.sum())} effects judged in both runs the same; {flips} "
                      f"turned from shown to contradicted or back; {len(v) - int(judged.sum())} without a "
                      "verdict in one run or both."]
    return "\n".join(lines) + "\n"
