"""Paper A, Fig. 1: test SDR against the probability p of original mixes."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from mixlab.data.layout import STEMS  # noqa: E402

from mixlab.metrics.bsseval import median_over_tracks, read_per_track  # noqa: E402
from mixlab.papers.spread import count  # noqa: E402
from mixlab.plots.save import save_figure  # noqa: E402


def fig1_table(p_values: list[float], per_track_csvs: list[str | Path], seeds: list[int] | None = None) -> pd.DataFrame:
    """Rows p, columns vocals/drums/bass/other/avg: median over tracks of per-track median SDR, averaged over
    training seeds; with several seeds also avg_se (standard error of the mean over seeds), n_seeds and each
    seed's avg (avg_seed<k>), so no seed is hidden behind the mean."""
    seeds = [0] * len(p_values) if seeds is None else list(seeds)
    if not len(p_values) == len(per_track_csvs) == len(seeds):
        raise ValueError("fig1: one p and one seed per table")
    per = pd.DataFrame([{"p": float(p), "seed": int(s), **median_over_tracks(read_per_track(csv))}
                        for p, s, csv in zip(p_values, seeds, per_track_csvs)])
    stems = [c for c in per.columns if c not in ("p", "seed")]
    groups = per.groupby("p")
    table = groups[stems].mean().sort_index()
    if per.groupby("p").size().max() > 1:
        table["avg_se"] = groups["avg"].std(ddof=1) / np.sqrt(groups.size())
        table["n_seeds"] = groups.size()
        for seed, rows in per.groupby("seed"):
            table[f"avg_seed{seed}"] = rows.set_index("p")["avg"]
    table.index.name = "p"
    return table


def plot_fig1(table: pd.DataFrame, out: str | Path, caption: str = "") -> None:
    fig, ax = plt.subplots(figsize=(5.0, 3.4))
    for stem in [c for c in table.columns if c in (*STEMS, "avg")]:
        style = dict(color="black", linewidth=2.2) if stem == "avg" else dict(linewidth=1.2)
        ax.plot(table.index, table[stem], marker="o", markersize=3, label=stem, **style)
    if "avg_se" in table:
        # a p with one seed has SE NaN: no bar there rather than a bar of 0
        ax.errorbar(table.index, table["avg"], yerr=2 * table["avg_se"], fmt="none", ecolor="black", capsize=3,
                    linewidth=1.0, label=f"avg ± 2 SE, n = {count(table['n_seeds'], 'training seed')}")
    ax.set_xlabel("p (probability of an original mix)")
    ax.set_ylabel("test SDR [dB]")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=3 if "avg_se" in table else 5, loc="lower center", bbox_to_anchor=(0.5, 1.0),
              frameon=False)
    save_figure(fig, out, caption)
