"""Paper A, Fig. 3: test SDR against the number of fixed random mixes, (a) all songs, (b) about half."""
from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from mixlab.metrics.bsseval import median_over_tracks  # noqa: E402
from mixlab.plots.save import save_figure  # noqa: E402

_ID = re.compile(r"^(full|half(?P<seed>\d+))_r(?P<frac>[0-9.e+-]+)$")


def fig3_table(model_ids: list[str], per_track_csvs: list[str | Path]) -> pd.DataFrame:
    """One row per model: set (full/half), subset seed, fraction, per-stem and average SDR."""
    rows = []
    for mid, csv in zip(model_ids, per_track_csvs):
        m = _ID.match(mid)
        if not m:
            raise ValueError(f"{mid}: not a Fig. 3 model id (full_r<fraction> or half<seed>_r<fraction>)")
        sdr = median_over_tracks(pd.read_csv(csv))
        rows.append({"model": mid, "set": "full" if m["seed"] is None else "half",
                     "seed": -1 if m["seed"] is None else int(m["seed"]), "fraction": float(m["frac"]),
                     **sdr.to_dict()})
    return pd.DataFrame(rows).sort_values(["set", "seed", "fraction"]).reset_index(drop=True)


def plot_fig3(table: pd.DataFrame, out: str | Path, caption: str = "") -> None:
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.0), sharey=True)
    full = table[table["set"] == "full"].sort_values("fraction")
    axes[0].plot(full["fraction"] * 100, full["avg"], marker="o", color="C0")
    axes[0].set_title("(a) all training songs", fontsize=9)
    half = table[table["set"] == "half"].groupby("fraction")["avg"].agg(["mean", "std", "count"]).fillna(0.0)
    axes[1].plot(half.index * 100, half["mean"], marker="o", color="C1")
    axes[1].fill_between(half.index * 100, half["mean"] - half["std"], half["mean"] + half["std"],
                         color="C1", alpha=0.25, linewidth=0)
    n_seeds = int(half["count"].max()) if len(half) else 0
    axes[1].set_title(f"(b) ~half of the songs (mean ± std, {n_seeds} seeds)", fontsize=9)
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("fixed random mixes R [% of steps x batch]")
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("test SDR, average of stems [dB]")
    save_figure(fig, out, caption)
