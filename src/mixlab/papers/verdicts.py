"""The verdict table both papers' effects are reported in: one row per effect with the paper's
number, what this run measured, ✓/✗ (or n/a when the run cannot decide) and the fixed criterion."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

COLUMNS = ["effect", "paper", "measured", "shown", "criterion"]


def write_effects(table: pd.DataFrame, out: str | Path, caption: str = "") -> None:
    lines = ["| effect | paper | measured | shown | criterion |", "|---|---|---|---|---|"]
    for _, e in table.iterrows():
        shown = {True: "✓", False: "✗"}.get(e["shown"], "n/a")        # None/NaN: no verdict
        measured = "not measured" if pd.isna(e["measured"]) else e["measured"]
        lines.append(f"| {e['effect']} | {e['paper']} | {measured} | {shown} | {e['criterion']} |")
    if caption:
        lines += ["", caption]
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text("\n".join(lines) + "\n")
