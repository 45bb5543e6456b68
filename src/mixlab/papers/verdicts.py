"""The verdicts both papers' effects are reported with, and the table they are written in.

An effect is a difference in dB with the paper's sign (positive: the paper's claim). Its uncertainty is
a 95 % confidence interval from the t distribution over the runs that differ only by seed (training or
fine-tuning seeds): a few seeds give few degrees of freedom, and the t quantile widens the interval
accordingly, where "2 standard errors" would pretend to a normal distribution that three seeds do not
have. Three outcomes, fixed here and tested on made-up numbers:

- **shown**: the whole interval is above 0 (the paper's sign, beyond seed noise);
- **contradicted**: the whole interval is below 0 (the opposite sign, beyond seed noise);
- **not resolved**: the interval holds 0 -- more seeds (or a larger effect) would be needed to tell.

A verdict over several differences (cSDR and uSDR; every subset of Table 3) is shown when every one is
shown, contradicted when any is contradicted, else not resolved. With one seed there is no interval and
no verdict (n/a). The seed spread is the only spread these intervals hold: another CPU or thread count
takes another float path and moves each model's score by its own amount, which `mixlab compare-runs`
(mixlab.papers.float_path) measures separately.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

COLUMNS = ["effect", "paper", "measured", "verdict", "criterion"]
LEVEL = 0.95
SHOWN, CONTRADICTED, UNRESOLVED = "shown", "contradicted", "not resolved"
MARKS = {SHOWN: "✓ shown", CONTRADICTED: "✗ contradicted", UNRESOLVED: "? not resolved"}
CRITERION = "95 % t-interval over seeds: shown if above 0, contradicted if below 0, else not resolved"


@dataclass(frozen=True)
class Interval:
    """A difference and its two-sided confidence interval; df: the t distribution's degrees of freedom."""
    diff: float
    lo: float
    hi: float
    df: float

    def text(self, unit: str = " dB") -> str:
        return f"{self.diff:+.2f}{unit} [{self.lo:+.2f}, {self.hi:+.2f}]"


def _t(df: float, level: float) -> float:
    from scipy.stats import t

    return float(t.ppf(0.5 + level / 2, df))


def welch(mean_a: float, sd_a: float, n_a: int, mean_b: float, sd_b: float, n_b: int,
          level: float = LEVEL) -> Interval | None:
    """mean_a - mean_b of two independent groups of runs (sample std sd, n runs each), Welch's interval.
    None when either group has fewer than 2 runs or no spread (NaN)."""
    if min(n_a, n_b) < 2 or any(pd.isna(x) for x in (sd_a, sd_b)):
        return None
    va, vb = sd_a ** 2 / n_a, sd_b ** 2 / n_b
    # Welch-Satterthwaite; with no spread at all (identical runs), the pooled df
    df = (va + vb) ** 2 / (va ** 2 / (n_a - 1) + vb ** 2 / (n_b - 1)) if va + vb > 0 else n_a + n_b - 2
    half = _t(df, level) * math.sqrt(va + vb)
    d = float(mean_a - mean_b)
    return Interval(d, d - half, d + half, float(df))


def with_known_spread(diff: float, sd: float, df: float, n_a: int = 1, n_b: int = 1,
                      level: float = LEVEL) -> Interval | None:
    """A difference of means of n_a and n_b runs whose per-run seed std `sd` (with `df` degrees of
    freedom) was estimated on other runs of the same kind -- for models trained with one seed each."""
    if df < 1 or pd.isna(sd):
        return None
    half = _t(df, level) * sd * math.sqrt(1 / n_a + 1 / n_b)
    return Interval(float(diff), float(diff - half), float(diff + half), float(df))


def mean_of(values, level: float = LEVEL) -> Interval | None:
    """The mean of several independent measurements of a difference (one-sample t interval)."""
    v = pd.Series(values, dtype=float).dropna()
    if len(v) < 2:
        return None
    half = _t(len(v) - 1, level) * float(v.std(ddof=1)) / math.sqrt(len(v))
    m = float(v.mean())
    return Interval(m, m - half, m + half, float(len(v) - 1))


def pooled_sd(groups) -> tuple[float, int]:
    """The seed std pooled over groups of runs (each a list of one model's per-seed scores) and its df."""
    ss, df = 0.0, 0
    for g in groups:
        g = pd.Series(g, dtype=float).dropna()
        if len(g) > 1:
            ss += float(((g - g.mean()) ** 2).sum())
            df += len(g) - 1
    return (math.sqrt(ss / df) if df else float("nan")), df


def outcome(interval: Interval | None) -> str | None:
    if interval is None:
        return None
    if interval.lo > 0:
        return SHOWN
    if interval.hi < 0:
        return CONTRADICTED
    return UNRESOLVED


def combined(outcomes) -> str | None:
    """Every part shown: shown; any part contradicted: contradicted; a part without a verdict: none."""
    outcomes = list(outcomes)
    if not outcomes or any(o is None for o in outcomes):
        return None
    if all(o == SHOWN for o in outcomes):
        return SHOWN
    return CONTRADICTED if CONTRADICTED in outcomes else UNRESOLVED


HEADER = "| effect | paper | measured | verdict | criterion |"


def write_effects(table: pd.DataFrame, out: str | Path, caption: str = "") -> None:
    lines = [HEADER, "|---|---|---|---|---|"]
    for _, e in table.iterrows():
        verdict = MARKS.get(e["verdict"], "n/a")                      # None/NaN: no verdict
        measured = "not measured" if pd.isna(e["measured"]) else e["measured"]
        cells = [str(e["effect"]), str(e["paper"]), str(measured), verdict, str(e["criterion"])]
        if any(" | " in c for c in cells):                            # read_effects splits on it
            raise ValueError(f"effect {e['effect']!r}: a cell holds ' | ', which would split it: {cells}")
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"Intervals: {LEVEL:.0%} confidence, t distribution over seeds ({CRITERION.split(': ', 1)[1]})."]
    if caption:
        lines += ["", caption]
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text("\n".join(lines) + "\n")


def read_effects(path: str | Path) -> pd.DataFrame:
    """effect, measured, verdict (a key of MARKS, or None for n/a) of a table `write_effects` wrote.
    Cells are split on " | " only: a criterion may hold "|x|" (an absolute value) but never a spaced bar."""
    path = Path(path)
    lines = path.read_text().splitlines()
    if not lines or lines[0] != HEADER:
        raise ValueError(f"{path}: not an effect table of this version (its header is not {HEADER!r}); "
                         "remake it from the run's figure tables: snakemake --forcerun effects_a effects_b with that run's "
                         "--config")
    of_mark = {m: v for v, m in MARKS.items()} | {"n/a": None}
    rows = []
    for n, line in enumerate(lines[2:], start=3):
        if not line.startswith("| "):
            break
        cells = line[2:].removesuffix(" |").split(" | ")
        if len(cells) != 5 or cells[3] not in of_mark:
            raise ValueError(f"{path}, line {n}: expected 5 cells with a verdict in {sorted(of_mark, key=str)}; "
                             f"got {line[:120]!r}")
        rows.append({"effect": cells[0], "measured": cells[2], "verdict": of_mark[cells[3]]})
    return pd.DataFrame(rows, columns=["effect", "measured", "verdict"])
