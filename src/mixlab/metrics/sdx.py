"""The SDX / MDX challenge "SDR" (Paper A's Fig. 2): one number per chunk and stem, no filters.

SDR = 10 log10((sum s^2 + delta) / (sum (s - s_hat)^2 + delta)), summed over
channels and samples, delta = 1e-7 as in the MDX 2021 challenge's definition.
"""
from __future__ import annotations

import numpy as np

DELTA = 1e-7


def sdx_sdr(references, estimates, delta: float = DELTA) -> np.ndarray:
    """references, estimates (..., channels, samples) -> SDR in dB (...), computed in float64."""
    ref = np.asarray(references, dtype=np.float64)
    est = np.asarray(estimates, dtype=np.float64)
    if ref.shape != est.shape:
        raise ValueError(f"references {ref.shape} and estimates {est.shape} differ in shape")
    num = np.square(ref).sum((-2, -1)) + delta
    den = np.square(ref - est).sum((-2, -1)) + delta
    return 10.0 * np.log10(num / den)
