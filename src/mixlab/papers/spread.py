"""How a spread over repeats (training seeds, song subsets, test-set seeds) is written in both papers'
figures, tables and verdicts: always with its n, and with one repeat no spread at all, since "± 0.00"
would claim a precision nobody measured."""
from __future__ import annotations

import numpy as np
import pandas as pd


def count(n, noun: str, plural: str | None = None) -> str:
    """'1 training seed', '3 training seeds'; several n (rows that differ): '1–3 training seeds'."""
    ns = sorted({int(x) for x in np.atleast_1d(n)})
    lo, hi = ns[0], ns[-1]
    return f"{lo if lo == hi else f'{lo}–{hi}'} {noun if hi == 1 else plural or noun + 's'}"


def pm(mean: float, spread: float | None, digits: int = 2) -> str:
    """'7.00 ± 0.71', or the mean alone where there is no spread (NaN or None: one repeat)."""
    if spread is None or pd.isna(spread):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {spread:.{digits}f}"
