"""Paper A, Fig. 1: test SDR against the probability p of original mixes."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from mixlab.metrics.bsseval import median_over_tracks  # noqa: E402
from mixlab.plots.save import save_figure  # noqa: E402


def fig1_table(p_values: list[float], per_track_csvs: list[str | Path]) -> pd.DataFrame:
    """Rows p, columns vocals/drums/bass/other/avg: median over tracks of per-track median SDR."""
    rows = {}
    for p, csv in zip(p_values, per_track_csvs):
        rows[float(p)] = median_over_tracks(pd.read_csv(csv))
    table = pd.DataFrame(rows).T.sort_index()
    table.index.name = "p"
    return table


def plot_fig1(table: pd.DataFrame, out: str | Path, caption: str = "") -> None:
    fig, ax = plt.subplots(figsize=(5.0, 3.4))
    for stem in table.columns:
        style = dict(color="black", linewidth=2.2) if stem == "avg" else dict(linewidth=1.2)
        ax.plot(table.index, table[stem], marker="o", markersize=3, label=stem, **style)
    ax.set_xlabel("p (probability of an original mix)")
    ax.set_ylabel("test SDR [dB]")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=5, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    save_figure(fig, out, caption, bottom=0.03)
