"""Paper A Table 1: per-stem test SDR, mean ± std over seeds, as Markdown, CSV and LaTeX.

std is the sample standard deviation over seeds (ddof = 1), as in Figs. 3 and 4; with one seed it is
NaN (an empty CSV cell) and a cell shows the mean alone.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from mixlab.metrics.bsseval import median_over_tracks, read_per_track
from mixlab.papers.spread import count, pm

LABELS = {"original": "Original (consistent beat and tonality)", "random": "Random (song-level random mixes)"}


def table1(model_ids: list[str], per_track_csvs: list[str | Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """-> (per-model SDRs, summary with one row per data kind: mean and std over seeds per stem)."""
    rows = []
    for mid, csv in zip(model_ids, per_track_csvs):
        kind, _, seed = mid.partition("_s")
        rows.append({"model": mid, "data": kind, "seed": int(seed), **median_over_tracks(read_per_track(csv)).to_dict()})
    per_model = pd.DataFrame(rows)
    stems = [c for c in per_model.columns if c not in ("model", "data", "seed")]
    g = per_model.groupby("data")[stems]
    summary = g.mean().add_suffix("_mean").join(g.std(ddof=1).add_suffix("_std")).join(g.size().rename("seeds"))
    return per_model, summary


def write_table1(summary: pd.DataFrame, stem: str | Path, caption: str = "") -> list[Path]:
    stems = [c[:-5] for c in summary.columns if c.endswith("_mean")]
    cells = {d: [pm(summary.loc[d, s + '_mean'], summary.loc[d, s + '_std']) for s in stems] for d in summary.index}
    seeds = summary["seeds"]
    if seeds.max() == 1:
        note = "Test SDR [dB], n = 1 training seed per row: no spread."
    else:
        note = (f"Test SDR [dB], mean ± std over n = {count(seeds, 'training seed')}"
                + (" (a row of 1 seed: its value alone)." if seeds.min() == 1 else "."))
    md = ["| training data | " + " | ".join(stems) + " |", "|---" * (len(stems) + 1) + "|"]
    md += [f"| {LABELS.get(d, d)} | " + " | ".join(cells[d]) + " |" for d in summary.index]
    md += ["", f"{note} {caption}".strip()]
    tex = [f"% {note}", "\\begin{tabular}{l" + "c" * len(stems) + "}", "\\toprule",
           "Training data & " + " & ".join(stems) + " \\\\", "\\midrule"]
    tex += [f"{d.capitalize()} & " + " & ".join(c.replace("±", "$\\pm$") for c in cells[d]) + " \\\\"
            for d in summary.index]
    tex += ["\\bottomrule", "\\end{tabular}"]
    stem = Path(stem)
    paths = [stem.with_suffix(".md"), stem.with_suffix(".csv"), stem.with_suffix(".tex")]
    paths[0].write_text("\n".join(md) + "\n")
    summary.round(4).to_csv(paths[1])
    paths[2].write_text("\n".join(tex) + "\n")
    return paths
