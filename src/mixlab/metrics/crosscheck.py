"""Check the fast scorer's JSON of a track against museval itself.

A frame passes when |fast - museval| <= tolerance (dB) for SDR, ISR, SIR and
SAR, NaN matching NaN and inf matching inf. Where a frame differs, museval is
rerun on references perturbed by a relative 1e-12: if museval's own value then
moves by more than the tolerance, the frame is numerically ill-posed (e.g. an
exactly mono stem makes the filter fit singular) and is reported, not failed.
"""
from __future__ import annotations

import numpy as np

from mixlab.metrics.bsseval import bss_eval

METRIC_NAMES = ("SDR", "ISR", "SIR", "SAR")


def frame_differences(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a - b| with NaN~NaN and equal infinities counted as 0, any other NaN/inf mismatch as inf."""
    same = (np.isnan(a) & np.isnan(b)) | (np.isinf(a) & (a == b))
    diff = np.abs(a - b)
    diff[np.isnan(diff)] = np.inf
    diff[same] = 0.0
    return diff


def crosscheck(references: np.ndarray, estimates: np.ndarray, fast: np.ndarray, sample_rate: int,
               tolerance: float = 1e-3, perturbation: float = 1e-12, seed: int = 0) -> dict:
    """fast: (4, S, n_frames) as metrics.bsseval.frames_array gives. Returns a JSON-able report."""
    ref = np.array(bss_eval(references, estimates, sample_rate, "museval"))
    diff = frame_differences(fast, ref)
    over = diff > tolerance
    unstable = np.zeros_like(over)
    if over.any():
        rng = np.random.default_rng(seed)
        noisy = references * (1 + perturbation * rng.standard_normal(references.shape))
        again = np.array(bss_eval(noisy, estimates, sample_rate, "museval"))
        unstable = frame_differences(again, ref) > tolerance
    failed = over & ~unstable
    finite = np.where(np.isfinite(diff), diff, np.nan)
    return {
        "tolerance_db": tolerance,
        "frames": int(ref.shape[-1]),
        "max_abs_diff_db": {m: float(np.nanmax(finite[i], initial=0.0)) for i, m in enumerate(METRIC_NAMES)},
        "ill_posed_frames": {m: int(unstable[i].sum()) for i, m in enumerate(METRIC_NAMES)},
        "failed_frames": {m: int(failed[i].sum()) for i, m in enumerate(METRIC_NAMES)},
        "ok": bool(not failed.any()),
    }
