"""Per-track BSS Eval v4 scores (museval) and their aggregation.

Paper A's protocol: museval v4, 1 s window and hop, stereo stems as images;
per track the median over frames, then the median over tracks.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from mixlab.data.synth import STEMS
from mixlab.data.tracks import load_stems

METRICS = ("SDR", "SIR", "ISR", "SAR")


def score_track(references: np.ndarray, estimates: np.ndarray, sample_rate: int, track_name: str,
                stems=STEMS, win_s: float = 1.0, hop_s: float = 1.0) -> str:
    """references, estimates (S, T, C) -> museval's per-track JSON string."""
    import museval

    win, hop = int(win_s * sample_rate), int(hop_s * sample_rate)
    sdr, isr, sir, sar = museval.evaluate(references, estimates, win=win, hop=hop, mode="v4")
    store = museval.TrackStore(win=win_s, hop=hop_s, track_name=track_name)
    for i, stem in enumerate(stems):
        store.add_target(target_name=stem, values={"SDR": sdr[i].tolist(), "SIR": sir[i].tolist(),
                                                   "ISR": isr[i].tolist(), "SAR": sar[i].tolist()})
    return store.json


def score_dirs(references: str | Path, estimates: str | Path, sample_rate: int | None = None,
               track_name: str | None = None) -> str:
    """Score the stems in `estimates` against those in `references` (folders of <stem>.wav)."""
    import soundfile as sf

    references, estimates = Path(references), Path(estimates)
    if sample_rate is None:
        sample_rate = sf.info(str(references / f"{STEMS[0]}.wav")).samplerate
    refs = load_stems(references, sample_rate)
    ests = load_stems(estimates, sample_rate)
    return score_track(refs, ests, sample_rate, track_name or references.name)


def track_medians(json_files: list[str | Path]) -> pd.DataFrame:
    """One row per (track, stem): the median over frames of each metric (NaN frames ignored)."""
    rows = []
    for path in json_files:
        data = json.loads(Path(path).read_text())
        for target in data["targets"]:
            # museval names a track's JSON after the track; the JSON itself holds no name.
            row = {"track": Path(path).stem, "stem": target["name"]}
            for m in METRICS:
                values = np.array([f["metrics"][m] for f in target["frames"]], dtype=float)
                row[m] = float(np.nanmedian(values)) if np.isfinite(values).any() else np.nan
            rows.append(row)
    return pd.DataFrame(rows)


def median_over_tracks(per_track: pd.DataFrame, metric: str = "SDR") -> pd.Series:
    """Per stem median over tracks, plus 'avg' = mean of the four stems (as in the papers)."""
    per_stem = per_track.groupby("stem")[metric].median().reindex(list(STEMS))
    return pd.concat([per_stem, pd.Series({"avg": per_stem.mean()})])
