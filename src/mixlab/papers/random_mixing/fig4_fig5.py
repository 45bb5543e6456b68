"""Paper A Figs. 4 and 5: test SDR against per-stem timing or pitch shifts.

Fig. 4 shifts the test set (models of Fig. 1 with p = 0 and p = 1, mean ± std
over the seeds of the shifted sets); Fig. 5 shifts the training data (models
trained on original mixes with the shift, scored on the unmodified test set).
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from mixlab.metrics.bsseval import median_over_tracks, read_per_track  # noqa: E402
from mixlab.papers.spread import count  # noqa: E402
from mixlab.plots.save import save_figure  # noqa: E402


def shift_table(rows: list[dict], per_track_csvs: list[str | Path]) -> pd.DataFrame:
    """rows: dicts of labels (e.g. model, kind, value, seed) -> the same rows with per-stem and avg SDR."""
    out = []
    for row, csv in zip(rows, per_track_csvs):
        out.append({**row, **median_over_tracks(read_per_track(csv)).to_dict()})
    return pd.DataFrame(out)


def _x(values):
    """inf (within-song random mixing) is drawn one step right of the largest finite value."""
    v = np.asarray(values, dtype=float)
    finite = v[np.isfinite(v)]
    right = (finite.max() * 3 if finite.size and finite.max() > 0 else 1.0)
    return np.where(np.isinf(v), right, v)


def fig4_spread(table: pd.DataFrame) -> str:
    """What Fig. 4's band is over: the shifted sets' seeds, times the training seeds where there are several."""
    shifted = table[table["value"] != 0.0]
    n_test = shifted["seed"].nunique() if len(shifted) else 1
    n_train = table["train_seed"].nunique() if "train_seed" in table else 1
    if n_test * n_train == 1:
        return "no spread: 1 test-set seed, 1 training seed"
    if n_train == 1:
        return f"mean ± std over n = {count(n_test, 'test-set seed')}"
    return (f"mean ± std over n = {n_test * n_train} ({count(n_test, 'test-set seed')} x "
            f"{count(n_train, 'training seed')};\nunshifted: the {n_train} training seeds)")


def plot_fig4(table: pd.DataFrame, out: str | Path, caption: str = "") -> None:
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.0), sharey=True)
    for ax, kind, xlabel, title in zip(axes, ("time", "pitch"), ("t_s [s]", "max pitch shift K [semitones]"),
                                       ("(a) per-stem timing shift", "(b) per-stem pitch shift")):
        d = table[table["kind"] == kind]
        for c, model in enumerate(sorted(d["model"].unique())):
            # std is NaN at a value with one set (e.g. the unshifted set of one training seed): no band there
            g = d[d["model"] == model].groupby("value")["avg"].agg(["mean", "std"]).sort_index()
            ax.plot(g.index, g["mean"], marker="o", markersize=3, color=f"C{c}", label=model)
            ax.fill_between(g.index, g["mean"] - g["std"], g["mean"] + g["std"], color=f"C{c}", alpha=0.25,
                            linewidth=0)
        if kind == "time":
            ax.set_xscale("symlog", linthresh=0.01)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test SDR, average of stems [dB]")
    axes[0].legend(fontsize=7, title=fig4_spread(table), title_fontsize=6)
    save_figure(fig, out, caption)


def plot_fig5(table: pd.DataFrame, out: str | Path, caption: str = "") -> None:
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.0), sharey=True)
    d = table[table["kind"] == "time"].copy()
    if len(d):
        d["x"] = _x(d["value"])
        d = d.sort_values("x")
        axes[0].plot(d["x"], d["avg"], marker="o", color="C0")
        axes[0].set_xscale("symlog", linthresh=0.01)
        axes[0].set_xticks(d["x"], [("inf" if np.isinf(v) else f"{v:g}") for v in d["value"]], fontsize=7)
    axes[0].set_title("(a) per-stem timing shift in training", fontsize=9)
    axes[0].set_xlabel("t_s [s]")
    for c, mode in enumerate(("consistent", "inconsistent")):
        d = table[(table["kind"] == "pitch") & (table["mode"] == mode)] if "mode" in table else table.iloc[:0]
        if len(d):
            d = d.sort_values("value")
            axes[1].plot(d["value"], d["avg"], marker="o", color=f"C{c + 1}", label=mode)
    axes[1].set_title("(b) per-stem pitch shift in training", fontsize=9)
    axes[1].set_xlabel("max pitch shift K [semitones]")
    if axes[1].lines:
        axes[1].legend(fontsize=7)
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test SDR, average of stems [dB]")
    save_figure(fig, out, caption)
