"""Paper A's headline effects, each with its sign and whether this run shows it beyond seed noise.

Reads the CSVs the figure and table rules wrote and applies one fixed criterion per effect
(written next to it in the output), so the verdicts in the README and docs/results.md are computed, not typed.
Outcomes and intervals as in mixlab.papers.verdicts (95 % t-intervals over seeds; shown, contradicted,
not resolved):

- Fig. 1: avg SDR(p = 0) - avg SDR(p = 1), Welch's interval over the training seeds of each.
- Fig. 2: the p = 1 model's validation curve (original and random chunks averaged) ends more
  than 0.1 dB below its best while its train-original curve still rises after that best; the
  p = 0 model's validation curve does not (ends within 0.1 dB of its best). One training seed: shown or
  not resolved.
- Fig. 3: 1 % of fixed mixes is worse than 10 %, 10 % is within 0.3 dB of 100 %, and half the
  songs is worse than all songs at every R. One training seed per point: shown or not resolved.
- Fig. 4: per model and shift kind, the mean over test-set seeds rises monotonically from the
  unshifted set, and the largest shift's gain (per test set, over its own training seed's unshifted
  score) has an interval above 0.
- Fig. 5: inconsistent minus consistent pitch shift, and within-song random mixing (t_s = inf)
  minus original mixes: one training seed per model, so the interval takes the seed std pooled over
  Fig. 1's p = 0 and p = 1 seeds.
- Table 1: original minus song-level random, Welch's interval over the training seeds of each.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mixlab.errors import read_csv
from mixlab.papers.spread import count
from mixlab.papers.verdicts import (COLUMNS, CRITERION, SHOWN, UNRESOLVED, mean_of, outcome, pooled_sd, welch,
                                    with_known_spread)

# the paper's numbers, as it states them (Jeon et al., Secs. 3-4, Table 1)
PAPER = {
    "fig1": "p=0 minus p=1: +2.1 dB",
    "fig2": "p = 1: train-original rises, validation falls late in training; p = 0 does not",
    "fig3": "10 % of fixed mixes ~ 100 %; 1 % worse; half the songs worse",
    "fig4": "up to +0.9 dB (time, t_s = 1 s), +1.0 dB (pitch)",
    "fig5": "inconsistent pitch and within-song random mixing help (6.8 dB at t_s = inf vs 6.2 dB)",
    "table1": "original 6.1 vs song-level random 0.7 dB",
}


def fig1_effect(fig1: pd.DataFrame):
    t = fig1.set_index("p")
    if not {0.0, 1.0} <= set(t.index):
        return None, None, "needs p = 0 and p = 1"
    d = t.loc[0.0, "avg"] - t.loc[1.0, "avg"]
    n = t.loc[[0.0, 1.0], "n_seeds"] if "n_seeds" in t else pd.Series([1, 1])
    if n.min() < 2:
        # one seed at p = 0 or p = 1 has no spread (NaN): no verdict, rather than one from comparing with NaN
        return f"{d:+.2f} dB (no spread: {count(n.min(), 'training seed')})", None, "needs >= 2 training seeds"
    sd = t["avg_se"] * np.sqrt(t["n_seeds"])
    iv = welch(t.loc[0.0, "avg"], sd[0.0], int(n[0.0]), t.loc[1.0, "avg"], sd[1.0], int(n[1.0]))
    seeds = ", ".join(f"{t.loc[p, c]:.2f}" for p in (0.0, 1.0) for c in t.columns if c.startswith("avg_seed"))
    return (f"{iv.text()} (Welch, n = {count(n, 'training seed')}; p=0 then p=1 per seed: {seeds})",
            outcome(iv), CRITERION)


def fig2_effect(fig2: pd.DataFrame, drop_db: float = 0.1):
    def curves(p):
        d = fig2[fig2["p"] == p]
        valid = d[d["split"] == "valid"].groupby("step")["sdr_improvement"].mean().sort_index()
        train = d[(d["split"] == "train") & (d["kind"] == "original")].set_index("step")["sdr_improvement"].sort_index()
        return valid, train

    if not {0.0, 1.0} <= set(fig2["p"]):
        return None, None, "needs p = 0 and p = 1"
    v1, t1 = curves(1.0)
    v0, _ = curves(0.0)
    best1 = v1.idxmax()
    fall1, fall0 = v1.max() - v1.iloc[-1], v0.max() - v0.iloc[-1]
    rise1 = t1.iloc[-1] - t1.loc[best1]
    shown = bool(fall1 > drop_db and rise1 > 0 and fall0 <= drop_db)
    return (f"p=1: valid best {v1.max():.2f} dB at step {best1}, last {v1.iloc[-1]:.2f} (−{fall1:.2f}); "
            f"train-original +{rise1:.2f} dB after that; p=0: valid last {fall0:.2f} dB below its best",
            SHOWN if shown else UNRESOLVED,
            f"p=1 valid ends > {drop_db} dB below its best while train-original rises; p=0 within {drop_db} dB "
            "(one training seed: shown or not resolved)")


def fig3_effect(fig3: pd.DataFrame, near_db: float = 0.3):
    full = fig3[fig3["set"] == "full"].set_index("fraction")["avg"].sort_index()
    halves = fig3[fig3["set"] == "half"].groupby("fraction")["avg"]
    half = halves.mean()
    if not {0.01, 0.1, 1.0} <= set(full.index):
        return None, None, "needs R = 1 %, 10 %, 100 %"
    ok = full[0.01] < full[0.1] and abs(full[0.1] - full[1.0]) <= near_db
    ok = ok and all(half[f] < full[f] for f in half.index if f in full.index) and len(half) > 0
    return (f"all songs: 1 % {full[0.01]:.2f}, 10 % {full[0.1]:.2f}, 100 % {full[1.0]:.2f} dB; half"
            + (f" (mean of n = {count(halves.size(), 'song subset')}): "
               + ", ".join(f"{f:g}: {half[f]:.2f}" for f in half.index) if len(half) else ": not run"),
            SHOWN if ok else UNRESOLVED,
            f"1 % < 10 %, 10 % within {near_db} dB of 100 %, half < all at each R (one training seed per point: "
            "shown or not resolved)")


def fig4_effects(fig4: pd.DataFrame):
    rows = []
    for (model, kind), d in fig4.groupby(["model", "kind"], sort=True):
        unshifted = d[d["value"] == 0.0]
        base = unshifted["avg"].mean()
        g = d[d["value"] > 0].groupby("value")["avg"].agg(["mean", "count"]).sort_index()
        if g.empty:
            continue
        means = [base] + list(g["mean"])
        monotone = all(b >= a for a, b in zip(means, means[1:]))
        grid = ", ".join(f"{v:g}: {m - base:+.2f}" for v, m in zip(g.index, g["mean"]))
        n, largest = int(g["count"].iloc[-1]), d[d["value"] == g.index[-1]]
        n_train = largest["train_seed"].nunique() if "train_seed" in largest else 1
        sets = count(largest["seed"].nunique(), "test-set seed")
        if n_train > 1:
            # each shifted set's gain over its own model's unshifted score; the unit of the interval is the
            # training seed (its sets share that model and its unshifted score)
            gains = (largest["avg"] - largest["train_seed"].map(unshifted.groupby("train_seed")["avg"].mean())) \
                .groupby(largest["train_seed"]).mean()
            sets = f"{count(n_train, 'training seed')} (each the mean of {sets})"
        else:
            gains = largest["avg"] - base
        name = f"Fig. 4: {model}, {kind} shift"
        iv = mean_of(gains)
        if iv is None:
            rows.append((name, f"{grid} dB vs unshifted {base:.2f} (no spread: {sets})", None, "needs >= 2 seeds"))
            continue
        verdict = outcome(iv)
        if verdict == SHOWN and not monotone:
            verdict = UNRESOLVED
        rows.append((name, f"{grid} dB vs unshifted {base:.2f}; largest shift {iv.text()} over n = {sets}",
                     verdict, "monotone rise and the largest shift's gain: " + CRITERION))
    return rows


def fig5_effects(fig5: pd.DataFrame, fig1: pd.DataFrame):
    t = fig1.set_index("p")
    seed_cols = [c for c in t.columns if c.startswith("avg_seed")]
    # one training seed per Fig. 5 model: the seed std comes from Fig. 1's models (a seed missing at a p is
    # NaN in its column and left out)
    sd, df = pooled_sd([t.loc[p, seed_cols].astype(float) for p in (0.0, 1.0) if p in t.index]) if seed_cols \
        else (float("nan"), 0)
    base = fig5[(fig5["kind"] == "time") & (fig5["value"] == 0.0)]["avg"]
    rows = []

    def row(name, diff):
        iv = with_known_spread(diff, sd, df)
        if iv is None:
            return (name, f"{diff:+.2f} dB (no spread: {count(len(seed_cols) or 1, 'Fig. 1 training seed')})", None,
                    "needs >= 2 Fig. 1 seeds")
        return (name, f"{iv.text()} (one training seed per model; seed std {sd:.2f} pooled over Fig. 1's p = 0 "
                      f"and p = 1, {df} df)", outcome(iv), CRITERION)

    inf = fig5[(fig5["kind"] == "time") & np.isinf(fig5["value"].astype(float))]["avg"]
    if len(inf) and len(base):
        rows.append(row("Fig. 5: within-song random mixing (t_s = inf) vs original mixes", inf.mean() - base.mean()))
    pitch = fig5[fig5["kind"] == "pitch"]
    for k, d in pitch.groupby("value"):
        modes = d.set_index("mode")["avg"]
        if {"consistent", "inconsistent"} <= set(modes.index):
            rows.append(row(f"Fig. 5: inconsistent vs consistent pitch shift (±{k:g})",
                            modes["inconsistent"] - modes["consistent"]))
    return rows


def table1_effect(table1: pd.DataFrame):
    t = table1.set_index("data")
    if not {"original", "random"} <= set(t.index):
        return None, None, "needs both training sets"
    d = t.loc["original", "avg_mean"] - t.loc["random", "avg_mean"]
    seeds = t.loc[["original", "random"], "seeds"]
    n = int(seeds.min())
    if n < 2:
        # avg_std is NaN (one seed): no spread to compare with
        return f"{d:+.2f} dB (no spread: {count(n, 'training seed')})", None, "needs >= 2 seeds"
    o, r = t.loc["original"], t.loc["random"]
    iv = welch(o["avg_mean"], o["avg_std"], int(o["seeds"]), r["avg_mean"], r["avg_std"], int(r["seeds"]))
    return (f"original {o['avg_mean']:.2f}, random {r['avg_mean']:.2f}: {iv.text()} "
            f"(Welch, n = {count(seeds, 'training seed')})", outcome(iv), CRITERION)


def effects_table(csvs: dict[str, str | Path]) -> pd.DataFrame:
    """One row per effect from the figure/table CSVs by name (fig1 ... fig5, table1; a missing one: not measured)."""
    def read(name):
        if not csvs.get(name):
            return None
        return read_csv(csvs[name], f"the {name} CSV of a run", f"it is written beside results/<run>/{name}.pdf (or .md)")

    fig1, fig2, fig3 = read("fig1"), read("fig2"), read("fig3")
    fig4, fig5, table1 = read("fig4"), read("fig5"), read("table1")
    rows = []   # (paper key, effect, measured, shown, criterion), in the paper's order

    def one(key, name, frame, fn):
        rows.append((key, name, *(fn(frame) if frame is not None else (None, None, "not run"))))

    one("fig1", "Fig. 1: random mixes beat original mixes", fig1, fig1_effect)
    one("fig2", "Fig. 2: p = 1 overfits", fig2, fig2_effect)
    one("fig3", "Fig. 3: 10 % of fixed mixes ≈ 100 %, fewer songs worse", fig3, fig3_effect)
    if fig4 is not None:
        rows += [("fig4", *r) for r in fig4_effects(fig4)]
    if fig5 is not None and fig1 is not None:
        rows += [("fig5", *r) for r in fig5_effects(fig5, fig1)]
    one("table1", "Table 1: song-level random songs hurt", table1, table1_effect)
    out = pd.DataFrame(rows, columns=["key", "effect", "measured", "verdict", "criterion"])
    out.insert(2, "paper", out["key"].map(PAPER))
    return out.drop(columns="key")[COLUMNS]
