"""uSDR (Paper B): song-level SNR per stem (the MDX 2021 "SDR" over the whole song), mean over songs.

cSDR, the other Paper B metric, is museval's median over 1 s frames and then
over songs (metrics/bsseval.py); uSDR has no frames and no filters.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from mixlab.data.layout import STEMS
from mixlab.data.tracks import load_stems
from mixlab.metrics.sdx import sdx_sdr


def song_usdr(references: str | Path, estimates: str | Path, sample_rate: int) -> dict[str, float]:
    refs = load_stems(references, sample_rate)
    ests = load_stems(estimates, sample_rate)
    if refs.shape != ests.shape:
        raise ValueError(f"{estimates}: estimates {ests.shape} do not match the references {refs.shape} "
                         f"in {references}; separate the track again")
    values = sdx_sdr(refs.transpose(0, 2, 1), ests.transpose(0, 2, 1))
    return {stem: float(v) for stem, v in zip(STEMS, values)}


def usdr_table(tracks: list[str], references: list, estimates: list, sample_rate: int,
               progress=print) -> pd.DataFrame:
    rows = []
    for i, (name, ref, est) in enumerate(zip(tracks, references, estimates)):
        for stem, v in song_usdr(ref, est, sample_rate).items():
            rows.append({"track": name, "stem": stem, "uSDR": v})
        progress(f"[usdr] {i + 1}/{len(tracks)} {name}")
    return pd.DataFrame(rows)
