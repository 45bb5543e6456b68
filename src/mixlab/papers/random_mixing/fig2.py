"""Paper A, Fig. 2: average SDX SDR improvement along training, random (solid) and original (dashed) mixes."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from mixlab.errors import read_csv  # noqa: E402
from mixlab.plots.save import save_figure  # noqa: E402


def fig2_table(p_values: list[float], curve_csvs: list[str | Path]) -> pd.DataFrame:
    """Long table: p, step, split, kind, sdr_improvement averaged over the stems."""
    parts = []
    for p, csv in zip(p_values, curve_csvs):
        c = read_csv(csv, "a Fig. 2 curve table", "it is written by `mixlab curve`",
                     columns=("step", "split", "kind", "sdr_improvement"))
        avg = c.groupby(["step", "split", "kind"], as_index=False)["sdr_improvement"].mean()
        parts.append(avg.assign(p=float(p)))
    return pd.concat(parts, ignore_index=True)[["p", "step", "split", "kind", "sdr_improvement"]]


def plot_fig2(table: pd.DataFrame, out: str | Path, caption: str = "") -> None:
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.0), sharey=True)
    for ax, split, title in zip(axes, ("train", "valid"), ("(a) training data", "(b) validation data")):
        for c, p in enumerate(sorted(table["p"].unique(), reverse=True)):
            for kind, ls in (("random", "-"), ("original", "--")):
                d = table[(table["p"] == p) & (table["split"] == split) & (table["kind"] == kind)].sort_values("step")
                ax.plot(d["step"], d["sdr_improvement"], ls, color=f"C{c}", marker="o", markersize=2.5,
                        label=f"p={p:g}, {kind} mixes")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("SDX SDR improvement [dB]")
    axes[1].legend(fontsize=6, loc="best")
    save_figure(fig, out, caption)
