"""Paper A, Fig. 3: test SDR against the number of fixed random mixes R, all training songs and about half
of them (the paper's panels (a) and (b)) on one axes, so the two sets compare at a glance."""
from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import NullLocator  # noqa: E402

from mixlab.metrics.bsseval import median_over_tracks, read_per_track  # noqa: E402
from mixlab.papers.random_mixing.experiments import fixed_mix_count  # noqa: E402
from mixlab.papers.spread import count  # noqa: E402
from mixlab.plots.save import save_figure  # noqa: E402

_ID = re.compile(r"^(full|half(?P<seed>\d+))_r(?P<frac>[0-9.e+-]+)$")


def fig3_table(model_ids: list[str], per_track_csvs: list[str | Path], examples: int | None = None) -> pd.DataFrame:
    """One row per model: set (full/half), subset seed, fraction, per-stem and average SDR; with `examples`
    (training steps x batch size) also `mixes`, the R each model trained on."""
    rows = []
    for mid, csv in zip(model_ids, per_track_csvs):
        m = _ID.match(mid)
        if not m:
            raise ValueError(f"{mid}: not a Fig. 3 model id (full_r<fraction> or half<seed>_r<fraction>)")
        sdr = median_over_tracks(read_per_track(csv))
        rows.append({"model": mid, "set": "full" if m["seed"] is None else "half",
                     "seed": -1 if m["seed"] is None else int(m["seed"]), "fraction": float(m["frac"]),
                     **sdr.to_dict()})
    table = pd.DataFrame(rows).sort_values(["set", "seed", "fraction"]).reset_index(drop=True)
    if examples is not None:
        table.insert(table.columns.get_loc("fraction") + 1, "mixes",
                     [fixed_mix_count(f, examples, 1) for f in table["fraction"]])
    return table


def plot_fig3(table: pd.DataFrame, out: str | Path, caption: str = "", examples: int | None = None,
              songs: int | None = None) -> None:
    """R as % of steps x batch on a log axis; with `examples` (steps x batch; else the table's `mixes`, if
    any) the number of mixes on a top axis. `songs`: how many training songs "all" is."""
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    handles, labels = [], []
    full = table[table["set"] == "full"].sort_values("fraction")
    if len(full):
        line, = ax.plot(full["fraction"] * 100, full["avg"], marker="o", markersize=3.5, color="C0")
        handles.append(line)
        labels.append(f"all {songs} training songs" if songs else "all training songs")
    half = table[table["set"] == "half"].groupby("fraction")["avg"].agg(["mean", "std", "count"])
    if len(half):
        x = half.index * 100
        line, = ax.plot(x, half["mean"], marker="o", markersize=3.5, color="C1")
        n = count(half["count"], "song subset")
        if half["std"].notna().any():
            # std is NaN where a fraction has one subset: the band leaves it out rather than drawing 0
            band = ax.fill_between(x, half["mean"] - half["std"], half["mean"] + half["std"], color="C1",
                                   alpha=0.25, linewidth=0)
            handles.append((band, line))
            labels.append(f"~half of the songs, mean ± std over n = {n}")
        else:
            handles.append(line)
            labels.append(f"~half of the songs (n = {n}, no spread)")
    fractions = sorted(set(table["fraction"]))
    pct = [f * 100 for f in fractions]
    ax.set_xscale("log")
    # ticks at the measured R only: the log axis' own ticks (10^0, 10^1) say nothing about the runs
    ax.set_xticks(pct, [f"{p:g} %" for p in pct], fontsize=7)
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel(f"fixed random mixes R [% of steps x batch{f' = {examples:,}' if examples else ''}]")
    if examples is not None:
        mixes = [fixed_mix_count(f, examples, 1) for f in fractions]
    elif "mixes" in table:
        mixes = [int(table.loc[table["fraction"] == f, "mixes"].iloc[0]) for f in fractions]
    else:
        mixes = None
    if mixes is not None:
        top = ax.secondary_xaxis("top")
        top.set_xticks(pct, [f"{m:,}" for m in mixes], fontsize=7)
        top.xaxis.set_minor_locator(NullLocator())
        top.set_xlabel("fixed random mixes R [number of mixes]")
    ax.set_ylabel("test SDR, average of stems [dB]")
    ax.grid(alpha=0.3)
    ax.legend(handles, labels, fontsize=7, loc="best")
    save_figure(fig, out, caption)
