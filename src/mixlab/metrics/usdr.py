"""uSDR (Paper B): song-level SNR per stem (the MDX 2021 "SDR" over the whole song), mean over songs.

cSDR, the other Paper B metric, is museval's median over 1 s frames and then
over songs (metrics/bsseval.py); uSDR has no frames and no filters.

`mode="joint"`: one SNR over both channels (the MDX definition the paper cites);
`mode="channel_mean"`: the mean of the two channels' SNRs with 1e-8 in numerator and
denominator (the authors' evaluation code).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mixlab.data.layout import STEMS
from mixlab.data.tracks import load_stems
from mixlab.metrics.sdx import sdx_sdr


def channel_mean_snr(refs, ests, eps: float = 1e-8) -> np.ndarray:
    """(..., channels, samples) -> mean over channels of 10 log10((|s|^2 + eps) / (|s - s_hat|^2 + eps))."""
    refs, ests = np.asarray(refs, dtype=np.float64), np.asarray(ests, dtype=np.float64)
    snr = 10 * np.log10((np.square(refs).sum(-1) + eps) / (np.square(refs - ests).sum(-1) + eps))
    return snr.mean(-1)


def song_usdr(references: str | Path, estimates: str | Path, sample_rate: int, mode: str = "joint") -> dict[str, float]:
    refs = load_stems(references, sample_rate)
    ests = load_stems(estimates, sample_rate)
    if refs.shape != ests.shape:
        raise ValueError(f"{estimates}: estimates {ests.shape} do not match the references {refs.shape} "
                         f"in {references}; separate the track again")
    if mode not in ("joint", "channel_mean"):
        raise ValueError(f"uSDR mode must be joint or channel_mean, got {mode!r}")
    score = sdx_sdr if mode == "joint" else channel_mean_snr
    values = score(refs.transpose(0, 2, 1), ests.transpose(0, 2, 1))
    return {stem: float(v) for stem, v in zip(STEMS, values)}


def usdr_table(tracks: list[str], references: list, estimates: list, sample_rate: int,
               progress=print, mode: str = "joint") -> pd.DataFrame:
    rows = []
    for i, (name, ref, est) in enumerate(zip(tracks, references, estimates)):
        for stem, v in song_usdr(ref, est, sample_rate, mode).items():
            rows.append({"track": name, "stem": stem, "uSDR": v})
        progress(f"[usdr] {i + 1}/{len(tracks)} {name}")
    return pd.DataFrame(rows)
