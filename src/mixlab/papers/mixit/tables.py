"""Paper B Tables 1-3: cSDR and uSDR per stem and their average, as Markdown, CSV and LaTeX.

cSDR: museval SDR, median over 1 s frames per song, then median over songs.
uSDR: song-level SNR, mean over songs. "Average" is the mean of the four stems.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from mixlab.data.layout import STEMS

# the papers' column order
TABLE_STEMS = ("vocals", "bass", "drums", "other")


def scores_row(per_track_csv: str | Path, usdr_csv: str | Path) -> dict[str, float]:
    """One model's cSDR and uSDR per stem and their averages."""
    per_track = pd.read_csv(per_track_csv)
    usdr = pd.read_csv(usdr_csv)
    row = {}
    for stem in TABLE_STEMS:
        row[f"{stem}_cSDR"] = float(per_track.loc[per_track["stem"] == stem, "SDR"].median())
        row[f"{stem}_uSDR"] = float(usdr.loc[usdr["stem"] == stem, "uSDR"].mean())
    for m in ("cSDR", "uSDR"):
        row[f"average_{m}"] = sum(row[f"{s}_{m}"] for s in TABLE_STEMS) / len(TABLE_STEMS)
    return row


def build_table(labels: list[dict], per_track_csvs: list, usdr_csvs: list) -> pd.DataFrame:
    """labels: one dict of label columns per row (e.g. {"ID": "S1", "Model": ..., "Pretrain": ...})."""
    return pd.DataFrame([{**lab, **scores_row(c, u)} for lab, c, u in zip(labels, per_track_csvs, usdr_csvs)])


def write_table(table: pd.DataFrame, label_cols: list[str], stem: str | Path, caption: str = "") -> list[Path]:
    groups = list(TABLE_STEMS) + ["average"]
    values = [f"{g}_{m}" for g in groups for m in ("cSDR", "uSDR")]
    head1 = "| " + " | ".join(label_cols) + " | " + " | ".join(f"{g.capitalize()} {m}" for g in groups
                                                                for m in ("cSDR", "uSDR")) + " |"
    md = [head1, "|---" * (len(label_cols) + len(values)) + "|"]
    for _, r in table.iterrows():
        md.append("| " + " | ".join(str(r[c]) for c in label_cols) + " | "
                  + " | ".join(f"{r[v]:.2f}" for v in values) + " |")
    if caption:
        md += ["", caption]
    tex = ["\\begin{tabular}{" + "l" * len(label_cols) + "c" * len(values) + "}", "\\toprule",
           " & " * len(label_cols) + " & ".join(f"\\multicolumn{{2}}{{c}}{{{g.capitalize()}}}" for g in groups)
           + " \\\\",
           " & ".join(label_cols) + " & " + " & ".join(["cSDR & uSDR"] * len(groups)) + " \\\\", "\\midrule"]
    for _, r in table.iterrows():
        tex.append(" & ".join(str(r[c]) for c in label_cols) + " & " + " & ".join(f"{r[v]:.2f}" for v in values)
                   + " \\\\")
    tex += ["\\bottomrule", "\\end{tabular}"]
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".md"), stem.with_suffix(".csv"), stem.with_suffix(".tex")]
    paths[0].write_text("\n".join(md) + "\n")
    table.round(4).to_csv(paths[1], index=False)
    paths[2].write_text("\n".join(tex) + "\n")
    return paths


assert set(TABLE_STEMS) == set(STEMS)
