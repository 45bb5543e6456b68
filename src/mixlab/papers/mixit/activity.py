"""Source activity detection on training stems (BSRNN Sec. IV-A, as Paper B's reference applies it).

Each stem is peak-normalised and cut into L-sample segments with 50 % hop;
each segment into `n_chunks` equal chunks whose power (sum of squares over
channels and samples / samples) is measured. The threshold is the 15th
percentile of all chunk powers of the stem, floored at `min_threshold`
(1e-3 after peak normalisation); a segment is kept when at least half its
chunks lie above it. Fine-tuning draws its per-stem segments from the kept
ones, so dynamic mixing rarely pairs a mixture with a silent target.
Reference settings: L = 8 s, 16 chunks (0.5 s each).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mixlab.data.stem_store import StemStore


def active_segments(audio: np.ndarray, segment: int, n_chunks: int, min_power: float = 1e-5,
                    min_threshold: float = 1e-3, quantile: float = 15.0) -> tuple[list[int], int]:
    """audio (channels, samples) -> (starts of the kept segments, number of segments examined)."""
    peak = float(np.abs(audio).max())
    if peak == 0.0:
        starts = list(range(0, audio.shape[-1] - segment + 1, segment // 2))
        return [], len(starts)
    x = audio.astype(np.float64) / peak
    starts = list(range(0, x.shape[-1] - segment + 1, segment // 2))
    if not starts:
        return [], 0
    chunk = segment // n_chunks
    power = np.empty((len(starts), n_chunks))
    for i, s in enumerate(starts):
        seg = x[:, s:s + chunk * n_chunks].reshape(x.shape[0], n_chunks, chunk)
        power[i] = (seg ** 2).sum((0, 2)) / chunk
    power[power == 0] = min_power
    threshold = max(float(np.percentile(power, quantile)), min_threshold)
    keep = (power > threshold).sum(1) >= n_chunks // 2
    return [s for s, k in zip(starts, keep) if k], len(starts)


def detect_store(store_path: str | Path, out: str | Path, segment_seconds: float = 8.0, n_chunks: int = 16,
                 progress=print) -> dict:
    """Kept segments of every stem of every song of a stem store -> JSON {stem: [[song index, start], ...]}."""
    store = StemStore(store_path)
    segment = int(round(segment_seconds * store.sample_rate))
    kept = {stem: [] for stem in store.stems}
    examined = {stem: 0 for stem in store.stems}
    for t, name in enumerate(store.names):
        if store.lengths[t] < segment:
            progress(f"[activity] {name}: shorter than one {segment_seconds:g} s segment, skipped")
            continue
        for s, stem in enumerate(store.stems):
            starts, n = active_segments(store.raw(t)[s], segment, n_chunks)
            kept[stem].extend([t, st] for st in starts)
            examined[stem] += n
        progress(f"[activity] {t + 1}/{len(store)} {name}")
    for stem in store.stems:
        if not kept[stem]:
            raise ValueError(f"{store_path}: no active {segment_seconds:g} s segment of '{stem}' in any song; "
                             "shorten activity.segment_seconds or check the stems")
        progress(f"[activity] {stem}: kept {len(kept[stem])} of {examined[stem]} segments")
    result = {"store": str(store_path), "sample_rate": store.sample_rate, "segment_samples": segment,
              "n_chunks": n_chunks, "examined": examined, "segments": kept}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(result))
    return result
