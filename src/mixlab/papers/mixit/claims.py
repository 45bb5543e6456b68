"""Paper B's headline effects, each with its sign and whether this run shows it beyond seed noise.

Reads the Tables 1-3 CSVs (mixlab.papers.mixit.tables) and applies one fixed criterion per
effect, written next to it in the output, so the verdicts in the README and docs/results.md are computed, not typed.
Every difference is between rows fine-tuned with the same seeds from independent runs: Welch's 95 %
t-interval over the fine-tuning seeds, and the outcomes of mixlab.papers.verdicts (shown, contradicted,
not resolved); with one seed there is no verdict.

- Table 1, per size: MixIT-pre-trained minus from-scratch full fine-tuning, average cSDR and
  average uSDR (shown when both are).
- Table 2, per size: the frozen MixIT-pre-trained separator minus a frozen random one, average
  cSDR and uSDR.
- Table 3: every pre-training subset minus no pre-training (average cSDR), shown when every subset is;
  and the largest subset not below the smallest.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mixlab.errors import read_csv
from mixlab.papers.verdicts import COLUMNS, CRITERION, SHOWN, UNRESOLVED, Interval, combined, outcome, welch

# the paper's numbers (Table 1, Table 2, Table 3: average cSDR / uSDR in dB, MUSDB18-HQ test set)
PAPER = {
    "table1": "MixIT minus scratch: S +0.40/+0.31, M +0.42/+0.55, L +0.32/+0.51 dB (cSDR/uSDR)",
    "table2": "frozen MixIT minus frozen random: S +3.46/+3.05, M +4.02/+3.59, L +3.66/+3.28 dB (cSDR/uSDR)",
    "table3": "cSDR: none 9.04, small 9.30, medium 9.40, large 9.46, full 9.51 dB",
}
METRICS = ("cSDR", "uSDR")


def _diff(a: pd.Series, b: pd.Series, m: str) -> tuple[float, Interval | None]:
    """a - b in average m, and its interval over the fine-tuning seeds (None with one seed)."""
    d = float(a[f"average_{m}"] - b[f"average_{m}"])
    se, n = f"average_{m}_se", "n_seeds"
    if se not in a.index or pd.isna(a[se]) or pd.isna(b.get(se)):
        return d, None
    na, nb = int(a[n]), int(b[n])
    return d, welch(a[f"average_{m}"], a[se] * np.sqrt(na), na, b[f"average_{m}"], b[se] * np.sqrt(nb), nb)


def _verdict(name: str, paper: str, a: pd.Series, b: pd.Series, what: str) -> tuple:
    parts, outcomes = [], []
    for m in METRICS:
        d, iv = _diff(a, b, m)
        parts.append(f"{m} " + (f"{d:+.2f} dB" if iv is None else iv.text()))
        outcomes.append(outcome(iv))
    n = int(a["n_seeds"]) if "n_seeds" in a.index else 1
    measured = f"{what}: " + ", ".join(parts) + (f" (Welch, {n} seeds)" if n > 1 else " (1 seed)")
    if n < 2:
        return name, paper, measured, None, "needs >= 2 fine-tuning seeds"
    return name, paper, measured, combined(outcomes), "cSDR and uSDR each: " + CRITERION


def _size(label: str) -> str:
    """"BS-Locoformer (Small)" (Table 1) or "Small" (Table 2) -> "Small"."""
    return label.removeprefix("BS-Locoformer (").rstrip(")")


def _pretraining_effects(table: pd.DataFrame, group: str, name: str, paper: str, what: str) -> list[tuple]:
    """Per model size (rows grouped by `group`): the MixIT-pre-trained row minus the "-" row."""
    rows = []
    for size, d in table.groupby(group, sort=False):
        by = d.set_index("Pretrain")
        if {"-", "MixIT"} <= set(by.index):
            rows.append(_verdict(f"{name} ({_size(size)})", paper, by.loc["MixIT"], by.loc["-"], what))
    return rows


def table1_effects(t1: pd.DataFrame) -> list[tuple]:
    return _pretraining_effects(t1, "Model", "Table 1: MixIT pre-training helps fine-tuning", PAPER["table1"],
                                "MixIT minus scratch")


def table2_effects(t2: pd.DataFrame) -> list[tuple]:
    return _pretraining_effects(t2, "Model size", "Table 2: a frozen MixIT separator beats a frozen random one",
                                PAPER["table2"], "frozen MixIT minus frozen random")


def table3_effect(t3: pd.DataFrame) -> list[tuple]:
    by = t3.set_index("Data scale")
    name = "Table 3: more unlabeled data, better fine-tuning"
    subsets = [s for s in by.index if s != "-"]
    if "-" not in by.index or not subsets:
        return [(name, PAPER["table3"], None, None, "needs no pre-training and >= 1 subset")]
    gains = [(s, *_diff(by.loc[s], by.loc["-"], "cSDR")) for s in subsets]
    measured = "cSDR vs none: " + ", ".join(f"{s} " + (f"{d:+.2f} dB" if iv is None else iv.text())
                                            for s, d, iv in gains)
    if any(iv is None for _, _, iv in gains):
        return [(name, PAPER["table3"], measured + " (one seed)", None, "needs >= 2 fine-tuning seeds")]
    verdict = combined(outcome(iv) for _, _, iv in gains)
    if verdict == SHOWN and gains[-1][1] < gains[0][1]:
        verdict = UNRESOLVED                        # every subset helps, but more data did not help more
    return [(name, PAPER["table3"], measured + f" (Welch, {int(by.loc['-', 'n_seeds'])} seeds)", verdict,
             "each subset vs none (cSDR): " + CRITERION + "; shown also needs largest subset ≥ smallest")]


def effects_table(csvs: dict[str, str | Path]) -> pd.DataFrame:
    """One row per effect from the tables' CSVs by name (table1 ... table3; a missing one: not measured)."""
    rows = []
    for key, fn in (("table1", table1_effects), ("table2", table2_effects), ("table3", table3_effect)):
        path = csvs.get(key)
        if path:
            rows += fn(read_csv(path, f"Paper B's Table {key[-1]} CSV", "`mixlab figure` writes it (figure mixit.table)",
                                dtype={"Pretrain": str, "Data scale": str}))
        else:
            rows.append((f"Table {key[-1]}", PAPER[key], None, None, "not run"))
    return pd.DataFrame(rows, columns=COLUMNS)
