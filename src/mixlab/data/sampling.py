"""Training-batch sampler: original mixes with probability p, random mixes otherwise.

Paper A, eq. (2): a random mix picks, for every stem n, a song m_n and an
offset t_n independently; an original mix uses one song and one offset for all
stems. Each batch is a pure function of (seed, step), so a resumed training run
sees exactly the batches an uninterrupted one would.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyloudnorm

from mixlab.data.stem_store import StemStore


@dataclass
class Batch:
    mixture: np.ndarray   # (B, channels, T)
    targets: np.ndarray   # (B, n_stems, channels, T)
    original: np.ndarray  # (B,) bool: original mix or random mix
    songs: np.ndarray     # (B, n_stems) song index per stem
    offsets: np.ndarray   # (B, n_stems) start sample per stem


class LoudnessNormalizer:
    """One gain for mixture and targets so the mixture sits at `target_lufs` (BS.1770)."""

    def __init__(self, sample_rate: int, target_lufs: float = -14.0):
        self.meter = pyloudnorm.Meter(sample_rate)
        self.target_lufs = target_lufs

    def gain(self, mixture: np.ndarray) -> float:
        """mixture: (channels, T). Silent mixtures (loudness -inf) keep gain 1."""
        loudness = self.meter.integrated_loudness(mixture.T.astype(np.float64))
        if not np.isfinite(loudness):
            return 1.0
        return float(10.0 ** ((self.target_lufs - loudness) / 20.0))


class MixSampler:
    def __init__(self, store: StemStore, chunk: int, p_original: float, seed: int = 0,
                 target_lufs: float | None = -14.0):
        if not 0.0 <= p_original <= 1.0:
            raise ValueError(f"p_original must lie in [0, 1], got {p_original}")
        too_short = [n for n, L in zip(store.names, store.lengths) if L < chunk]
        if too_short:
            raise ValueError(f"tracks shorter than the {chunk}-sample chunk: {too_short}")
        self.store, self.chunk, self.p, self.seed = store, chunk, p_original, seed
        self.n_stems = len(store.stems)
        self.normalizer = None
        if target_lufs is not None:
            self.normalizer = LoudnessNormalizer(store.sample_rate, target_lufs)
            block = self.normalizer.meter.block_size * store.sample_rate
            if chunk <= block:
                raise ValueError(f"chunks of {chunk} samples are shorter than BS.1770's {block:.0f}-sample "
                                 "gating block: use longer chunks or set train.target_lufs to null")

    def draw(self, rng: np.random.Generator, batch_size: int):
        """Songs and offsets (B, n_stems) and the original/random flags, without reading audio."""
        n_songs, S = len(self.store), self.n_stems
        original = rng.random(batch_size) < self.p
        songs = rng.integers(n_songs, size=(batch_size, S))
        songs[original] = songs[original, :1]            # one song for all stems
        room = self.store.lengths[songs] - self.chunk + 1
        offsets = (rng.random((batch_size, S)) * room).astype(np.int64)
        offsets[original] = offsets[original, :1]        # and one offset
        return original, songs, offsets

    def batch(self, step: int, batch_size: int) -> Batch:
        rng = np.random.default_rng([self.seed, step])
        original, songs, offsets = self.draw(rng, batch_size)
        targets = np.empty((batch_size, self.n_stems, 2, self.chunk), dtype=np.float32)
        for b in range(batch_size):
            for s in range(self.n_stems):
                self.store.read_into(targets[b, s], songs[b, s], s, offsets[b, s])
        mixture = targets.sum(axis=1)
        if self.normalizer is not None:
            for b in range(batch_size):
                g = np.float32(self.normalizer.gain(mixture[b]))
                mixture[b] *= g
                targets[b] *= g
        return Batch(mixture, targets, original, songs, offsets)
