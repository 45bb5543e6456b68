"""Paper B Tables 1-3: cSDR and uSDR per stem and their average, as Markdown, CSV and LaTeX.

cSDR: museval SDR, median over 1 s frames per song, then median over songs.
uSDR: song-level SNR, mean over songs. "Average" is the mean of the four stems.
With several fine-tuning seeds a row is the mean over its seeds' models, with the standard
error of the averages over seeds and each seed's averages beside it (no seed hidden); with one seed
there are no SE columns and a cell is the score alone.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mixlab.data.layout import STEMS
from mixlab.errors import read_csv
from mixlab.metrics.bsseval import read_per_track
from mixlab.papers.spread import count, pm

# the papers' column order
TABLE_STEMS = ("vocals", "bass", "drums", "other")


def scores_row(per_track_csv: str | Path, usdr_csv: str | Path) -> dict[str, float]:
    """One model's cSDR and uSDR per stem and their averages."""
    per_track = read_per_track(per_track_csv)
    usdr = read_csv(usdr_csv, "a uSDR table", "it is written by `mixlab usdr`", columns=("stem", "uSDR"))
    row = {}
    for stem in TABLE_STEMS:
        row[f"{stem}_cSDR"] = float(per_track.loc[per_track["stem"] == stem, "SDR"].median())
        row[f"{stem}_uSDR"] = float(usdr.loc[usdr["stem"] == stem, "uSDR"].mean())
    for m in ("cSDR", "uSDR"):
        row[f"average_{m}"] = sum(row[f"{s}_{m}"] for s in TABLE_STEMS) / len(TABLE_STEMS)
    return row


def build_table(labels: list[dict], per_track_csvs: list, usdr_csvs: list, seeds: list[int] | None = None) -> pd.DataFrame:
    """labels: one dict of label columns per row (e.g. {"ID": "S1", "Model": ..., "Pretrain": ...}).
    seeds: the fine-tuning seeds; the CSVs are then row-major, len(seeds) per row (row 0's seeds first)."""
    seeds = list(seeds or [None])
    n = len(seeds)
    if not len(per_track_csvs) == len(usdr_csvs) == n * len(labels):
        raise ValueError(f"{len(labels)} rows x {n} seeds need as many cSDR and uSDR tables "
                         f"(got {len(per_track_csvs)} and {len(usdr_csvs)})")
    rows = []
    for i, lab in enumerate(labels):
        per_seed = pd.DataFrame([scores_row(c, u) for c, u in
                                 zip(per_track_csvs[i * n:(i + 1) * n], usdr_csvs[i * n:(i + 1) * n])])
        row = {**lab, **per_seed.mean().to_dict()}
        if n > 1:
            for m in ("cSDR", "uSDR"):
                row[f"average_{m}_se"] = float(per_seed[f"average_{m}"].std(ddof=1) / np.sqrt(n))
            row["n_seeds"] = n
            for seed, (_, r) in zip(seeds, per_seed.iterrows()):
                for m in ("cSDR", "uSDR"):
                    row[f"average_{m}_seed{seed}"] = float(r[f"average_{m}"])
        rows.append(row)
    return pd.DataFrame(rows)


def _cell(r, v: str) -> str:
    return pm(r[v], r.get(f"{v}_se"))


def write_table(table: pd.DataFrame, label_cols: list[str], stem: str | Path, caption: str = "") -> list[Path]:
    groups = list(TABLE_STEMS) + ["average"]
    values = [f"{g}_{m}" for g in groups for m in ("cSDR", "uSDR")]
    head1 = "| " + " | ".join(label_cols) + " | " + " | ".join(f"{g.capitalize()} {m}" for g in groups
                                                                for m in ("cSDR", "uSDR")) + " |"
    md = [head1, "|---" * (len(label_cols) + len(values)) + "|"]
    for _, r in table.iterrows():
        md.append("| " + " | ".join(str(r[c]) for c in label_cols) + " | "
                  + " | ".join(_cell(r, v) for v in values) + " |")
    if "n_seeds" in table:
        note = (f"Averages: mean ± standard error over n = {count(table['n_seeds'], 'fine-tuning seed')}; "
                "each seed's averages are in the CSV.")
    else:
        note = "n = 1 fine-tuning seed per row: no spread."
    md += ["", note] + (["", caption] if caption else [])
    tex = [f"% {note}", "\\begin{tabular}{" + "l" * len(label_cols) + "c" * len(values) + "}", "\\toprule",
           " & " * len(label_cols) + " & ".join(f"\\multicolumn{{2}}{{c}}{{{g.capitalize()}}}" for g in groups)
           + " \\\\",
           " & ".join(label_cols) + " & " + " & ".join(["cSDR & uSDR"] * len(groups)) + " \\\\", "\\midrule"]
    for _, r in table.iterrows():
        tex.append(" & ".join(str(r[c]) for c in label_cols) + " & "
                   + " & ".join(_cell(r, v).replace("±", "$\\pm$") for v in values) + " \\\\")
    tex += ["\\bottomrule", "\\end{tabular}"]
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".md"), stem.with_suffix(".csv"), stem.with_suffix(".tex")]
    paths[0].write_text("\n".join(md) + "\n")
    table.round(4).to_csv(paths[1], index=False)
    paths[2].write_text("\n".join(tex) + "\n")
    return paths


assert set(TABLE_STEMS) == set(STEMS)
