"""Per-track BSS Eval v4 scores and their aggregation.

Paper A's protocol: museval v4, 1 s window and hop, stereo stems as images;
per track the median over frames, then the median over tracks. Two scorers
give the same numbers: `museval` itself and `fast` (metrics/fast_bsseval.py).
"""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np

from mixlab.data.layout import STEMS
from mixlab.data.tracks import TrackError, load_stems, wav_info
from mixlab.errors import read_json

METRICS = ("SDR", "SIR", "ISR", "SAR")
SCORERS = ("museval", "fast")


def _pad_or_truncate(references: np.ndarray, estimates: np.ndarray) -> np.ndarray:
    """Estimates cut or zero-padded to the references' length, as museval.evaluate does."""
    T = references.shape[1]
    if estimates.shape[1] >= T:
        return estimates[:, :T]
    return np.pad(estimates, [(0, 0), (0, T - estimates.shape[1]), (0, 0)])


def _scorer_module(scorer: str, device: str):
    if scorer == "museval":
        import museval

        return museval
    if scorer == "fast":
        if device == "cpu":      # numpy/scipy: no torch import, scipy's threaded FFTs
            from mixlab.metrics import fast_bsseval

            return fast_bsseval
        from mixlab.metrics import fast_bsseval_torch

        return fast_bsseval_torch
    raise ValueError(f"unknown scorer {scorer!r}; choose one of {SCORERS}")


def preload(scorer: str, device: str = "cpu") -> None:
    """Import the scorer now, so that a command's per-track times leave out its one-off import."""
    _scorer_module(scorer, device)


def bss_eval(references: np.ndarray, estimates: np.ndarray, sample_rate: int, scorer: str = "museval",
             win_s: float = 1.0, hop_s: float = 1.0, device: str = "cpu", threads: int | None = None):
    """(S, T, C) arrays -> SDR, ISR, SIR, SAR arrays (S, n_frames) by the chosen scorer.

    The fast scorer runs in numpy/scipy on the CPU (`threads` FFT workers and
    threads; default all this process may use) and in torch on any other device.
    """
    win, hop = int(win_s * sample_rate), int(hop_s * sample_rate)
    estimates = _pad_or_truncate(references, estimates)
    module = _scorer_module(scorer, device)
    if scorer == "museval":
        # float64 as musdb hands museval its audio; museval computes in the input dtype.
        return module.evaluate(references.astype(np.float64), estimates.astype(np.float64),
                               win=win, hop=hop, mode="v4", padding=False)
    if device == "cpu":
        return module.bss_eval_v4(references, estimates, win, hop, workers=threads)
    return module.bss_eval_v4(references, estimates, win, hop, device=device)


def _museval_number(x: float) -> str:
    """museval's TrackStore._q as simplejson writes it: exact decimal value rounded half-even to 5 places; inf -> NaN."""
    if not np.isfinite(x):
        return "NaN"
    return str(Decimal(float(x)).quantize(_FIVE_PLACES))


_FIVE_PLACES = Decimal(".00001")


def to_museval_json(metrics, stems=STEMS, win_s: float = 1.0, hop_s: float = 1.0) -> str:
    """museval's per-track JSON (TrackStore(win, hop).json) from (SDR, ISR, SIR, SAR), byte for byte.

    Written here rather than through museval.TrackStore, whose import (pandas,
    jsonschema, its own musdb) costs more than scoring a short track. The
    equality with museval's own output is tested.
    """
    sdr, isr, sir, sar = (np.asarray(m, dtype=float) for m in metrics)
    pad = " " * 12
    targets = []
    for i, stem in enumerate(stems):
        frames = []
        for f in range(sdr.shape[1]):
            values = ((m, _museval_number(v[i, f])) for m, v in (("SDR", sdr), ("SIR", sir), ("SAR", sar), ("ISR", isr)))
            body = ",\n".join(f'{pad}"{m}": {v}' for m, v in values)
            frames.append(f'        {{\n{pad[:-2]}"time": {f * hop_s!r},\n{pad[:-2]}"duration": {win_s!r},\n'
                          f'{pad[:-2]}"metrics": {{\n{body}\n{pad[:-2]}}}\n        }}')
        inner = ",\n".join(frames)
        targets.append(f'    {{\n      "name": {json.dumps(stem)},\n      "frames": [\n{inner}\n      ]\n    }}')
    return ('{\n  "targets": [\n' + ",\n".join(targets) + '\n  ],\n  "museval_version": '
            + json.dumps(_museval_version()) + "\n}")


def _museval_version() -> str:
    from importlib.metadata import version

    return version("museval")


def score_dirs(references: str | Path, estimates: str | Path, sample_rate: int | None = None,
               scorer: str = "museval", device: str = "cpu", threads: int | None = None) -> str:
    """Score the stems in `estimates` against those in `references` (folders of <stem>.wav)."""
    references, estimates = Path(references), Path(estimates)
    if sample_rate is None:
        path = references / f"{STEMS[0]}.wav"
        if not path.exists():
            raise TrackError(f"{path}: missing stem '{STEMS[0]}' of the reference track")
        sample_rate = wav_info(path, None).samplerate
    refs = load_stems(references, sample_rate)
    ests = load_stems(estimates, sample_rate)
    return to_museval_json(bss_eval(refs, ests, sample_rate, scorer, device=device, threads=threads))


def frames_array(json_text: str) -> np.ndarray:
    """museval JSON -> array (4 metrics SDR/ISR/SIR/SAR, S, n_frames) in STEMS order."""
    data = json.loads(json_text)
    by_name = {t["name"]: t for t in data["targets"]}
    return np.array([[[f["metrics"][m] for f in by_name[s]["frames"]] for s in STEMS]
                     for m in ("SDR", "ISR", "SIR", "SAR")], dtype=float)


def track_medians(json_files: list[str | Path]):
    """One row per (track, stem): the median over frames of each metric (NaN frames ignored): a DataFrame."""
    import pandas as pd      # here, not at the top: `mixlab score` never needs it

    rows = []
    for path in json_files:
        data = read_json(path, "a museval per-track JSON", "score the track with `mixlab score`", keys=("targets",))
        for target in data["targets"]:
            # museval names a track's JSON after the track; the JSON itself holds no name.
            row = {"track": Path(path).stem, "stem": target["name"]}
            for m in METRICS:
                values = np.array([f["metrics"][m] for f in target["frames"]], dtype=float)
                row[m] = float(np.nanmedian(values)) if np.isfinite(values).any() else np.nan
            rows.append(row)
    return pd.DataFrame(rows)


def read_per_track(path):
    """A per-track score table (`mixlab aggregate`: track, stem, SDR, ...), checked; a DataFrame."""
    from mixlab.errors import read_csv

    return read_csv(path, "a per-track score table", "it is written by `mixlab aggregate`",
                    columns=("track", "stem", "SDR"))


def median_over_tracks(per_track, metric: str = "SDR"):
    """Per stem median over tracks, plus 'avg' = mean of the four stems (as in the papers): a Series."""
    import pandas as pd

    per_stem = per_track.groupby("stem")[metric].median().reindex(list(STEMS))
    return pd.concat([per_stem, pd.Series({"avg": per_stem.mean()})])
