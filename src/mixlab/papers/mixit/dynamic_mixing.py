"""Dynamic mixing for supervised fine-tuning (Paper B Sec. 4.3).

At every step and for every stem, a segment is drawn from that stem's active
segments (source activity detection) of any training song, a random window of
the chunk length is cut from it, RMS-normalised (the paper; `gain_norm="mean_abs"`
divides by the mean absolute value instead, as the authors' code does), scaled by a gain drawn from
U[-gain_db, gain_db] dB and dropped (zeroed) with probability `p_drop` so the
model also sees mixtures whose target is silent; the mixture is the sum.
Batches are a pure function of (seed, step), so a resumed run draws the same
data as an uninterrupted one.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mixlab.data.stem_store import StemStore
from mixlab.errors import read_json

TARGET_RMS = 0.1   # -20 dBFS before the random gain: keeps mixtures of four stems mostly below full scale


@dataclass
class Batch:
    mixture: np.ndarray    # (B, C, L) float32
    targets: np.ndarray    # (B, S, C, L) float32


class DynamicMixSampler:
    def __init__(self, store: StemStore, activity: str | Path | dict, chunk: int, seed: int,
                 gain_db: float = 10.0, p_drop: float = 0.05, gain_norm: str = "rms"):
        if gain_norm not in ("rms", "mean_abs"):
            raise ValueError(f"gain_norm must be rms or mean_abs, got {gain_norm!r}")
        self.gain_norm = gain_norm
        act = activity if isinstance(activity, dict) else read_json(
            activity, "a source activity file", "it is written by `mixlab activity`")
        if act["sample_rate"] != store.sample_rate:
            raise ValueError(f"activity segments are at {act['sample_rate']} Hz, the stem store at {store.sample_rate} Hz")
        self.segment = int(act["segment_samples"])
        if chunk > self.segment:
            raise ValueError(f"training chunk ({chunk} samples) is longer than an activity segment "
                             f"({self.segment}); lengthen activity.segment_seconds")
        self.store, self.chunk, self.seed = store, chunk, seed
        self.gain_db, self.p_drop = gain_db, p_drop
        self.segments = [np.asarray(act["segments"][stem], dtype=np.int64).reshape(-1, 2) for stem in store.stems]
        for stem, seg in zip(store.stems, self.segments):
            if len(seg) == 0:
                raise ValueError(f"no active segment of '{stem}' to draw from")
            if seg[:, 0].max() >= len(store):
                raise ValueError("activity segments refer to songs the stem store does not hold; rebuild them")

    def batch(self, step: int, batch_size: int, rows: slice = slice(None)) -> Batch:
        """Example b of a step has its own generator: `rows` (one GPU process's share) draws exactly those."""
        picked = range(batch_size)[rows]
        S, C = len(self.store.stems), 2
        targets = np.zeros((len(picked), S, C, self.chunk), dtype=np.float32)
        for row, b in enumerate(picked):
            rng = np.random.default_rng([self.seed, step, b])
            for s in range(S):
                song, start = self.segments[s][rng.integers(len(self.segments[s]))]
                offset = int(start + rng.integers(self.segment - self.chunk + 1))
                gain = 10 ** (rng.uniform(-self.gain_db, self.gain_db) / 20)
                drop = rng.random() < self.p_drop
                if drop:
                    continue
                x = self.store.read_into(targets[row, s], int(song), s, offset)
                x64 = x.astype(np.float64)
                level = float(np.sqrt(np.mean(x64 ** 2)) if self.gain_norm == "rms" else np.mean(np.abs(x64)))
                if level > 1e-8:
                    x *= np.float32(TARGET_RMS * gain / level)
        return Batch(targets.sum(1), targets)
