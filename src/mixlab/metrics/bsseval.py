"""Per-track BSS Eval v4 scores and their aggregation.

Paper A's protocol: museval v4, 1 s window and hop, stereo stems as images;
per track the median over frames, then the median over tracks. Two scorers
give the same numbers: `museval` itself and `fast` (metrics/fast_bsseval.py).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from mixlab.data.layout import STEMS
from mixlab.data.tracks import TrackError, load_stems, wav_info

METRICS = ("SDR", "SIR", "ISR", "SAR")
SCORERS = ("museval", "fast")


def _pad_or_truncate(references: np.ndarray, estimates: np.ndarray) -> np.ndarray:
    """Estimates cut or zero-padded to the references' length, as museval.evaluate does."""
    T = references.shape[1]
    if estimates.shape[1] >= T:
        return estimates[:, :T]
    return np.pad(estimates, [(0, 0), (0, T - estimates.shape[1]), (0, 0)])


def bss_eval(references: np.ndarray, estimates: np.ndarray, sample_rate: int, scorer: str = "museval",
             win_s: float = 1.0, hop_s: float = 1.0, device: str = "cpu"):
    """(S, T, C) arrays -> SDR, ISR, SIR, SAR arrays (S, n_frames) by the chosen scorer."""
    win, hop = int(win_s * sample_rate), int(hop_s * sample_rate)
    estimates = _pad_or_truncate(references, estimates)
    if scorer == "museval":
        import museval

        # float64 as musdb hands museval its audio; museval computes in the input dtype.
        return museval.evaluate(references.astype(np.float64), estimates.astype(np.float64),
                                win=win, hop=hop, mode="v4", padding=False)
    if scorer == "fast":
        from mixlab.metrics.fast_bsseval import bss_eval_v4

        return bss_eval_v4(references, estimates, win, hop, device=device)
    raise ValueError(f"unknown scorer {scorer!r}; choose one of {SCORERS}")


def to_museval_json(metrics, stems=STEMS, win_s: float = 1.0, hop_s: float = 1.0) -> str:
    """museval's per-track JSON (TrackStore format) from (SDR, ISR, SIR, SAR)."""
    import museval

    sdr, isr, sir, sar = metrics
    store = museval.TrackStore(win=win_s, hop=hop_s, track_name="")
    for i, stem in enumerate(stems):
        store.add_target(target_name=stem, values={"SDR": sdr[i].tolist(), "SIR": sir[i].tolist(),
                                                   "ISR": isr[i].tolist(), "SAR": sar[i].tolist()})
    return store.json


def score_dirs(references: str | Path, estimates: str | Path, sample_rate: int | None = None,
               scorer: str = "museval", device: str = "cpu") -> str:
    """Score the stems in `estimates` against those in `references` (folders of <stem>.wav)."""
    references, estimates = Path(references), Path(estimates)
    if sample_rate is None:
        path = references / f"{STEMS[0]}.wav"
        if not path.exists():
            raise TrackError(f"{path}: missing stem '{STEMS[0]}' of the reference track")
        sample_rate = wav_info(path, None).samplerate
    refs = load_stems(references, sample_rate)
    ests = load_stems(estimates, sample_rate)
    return to_museval_json(bss_eval(refs, ests, sample_rate, scorer, device=device))


def frames_array(json_text: str) -> np.ndarray:
    """museval JSON -> array (4 metrics SDR/ISR/SIR/SAR, S, n_frames) in STEMS order."""
    data = json.loads(json_text)
    by_name = {t["name"]: t for t in data["targets"]}
    return np.array([[[f["metrics"][m] for f in by_name[s]["frames"]] for s in STEMS]
                     for m in ("SDR", "ISR", "SIR", "SAR")], dtype=float)


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
