"""Every model's training curve (the engine's <model>.history.csv), one panel per experiment."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from mixlab.errors import read_csv  # noqa: E402
from mixlab.plots.save import save_figure  # noqa: E402


def history_table(labels: list[str], csvs: list[str | Path]) -> pd.DataFrame:
    """All histories stacked, with `model` (the label) and `group` (the label up to its last '/')."""
    frames = []
    for label, path in zip(labels, csvs):
        h = read_csv(path, "a training history", "`mixlab train` writes it beside its model (<model>.history.csv)",
                     columns=("step", "loss"))
        frames.append(h.assign(model=label, group=label.rsplit("/", 1)[0] if "/" in label else label))
    return pd.concat(frames, ignore_index=True)


def plot_histories(table: pd.DataFrame, out: str | Path, caption: str = "") -> None:
    groups = list(dict.fromkeys(table["group"]))
    cols = min(3, len(groups))
    rows = -(-len(groups) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.6 * rows), squeeze=False)
    for ax, group in zip(axes.flat, groups):
        for model, h in table[table["group"] == group].groupby("model", sort=False):
            h = h.dropna(subset=["loss"])
            line, = ax.plot(h["step"], h["loss"], linewidth=1.0, label=model.rsplit("/", 1)[-1])
            v = table[(table["model"] == model)].dropna(subset=["valid_loss"])
            if len(v):
                ax.plot(v["step"], v["valid_loss"], linestyle="--", color=line.get_color(), linewidth=1.0)
        ax.set_title(group, fontsize=8)
        ax.set_xlabel("step", fontsize=7)
        ax.set_ylabel("training loss", fontsize=7)
        ax.tick_params(labelsize=6)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=5, ncol=2, frameon=False)
    for ax in list(axes.flat)[len(groups):]:
        ax.axis("off")
    save_figure(fig, out, caption)
