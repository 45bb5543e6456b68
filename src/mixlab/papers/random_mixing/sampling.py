"""Training-batch sampler: original mixes with probability p, random mixes otherwise.

Paper A, eq. (2): a random mix picks, for every stem n, a song m_n and an
offset t_n independently; an original mix uses one song and one offset for all
stems. Each batch is a pure function of (seed, step), so a resumed training run
sees exactly the batches an uninterrupted one would.

The variations the paper's Sections 3-4 train with:

- `fixed_mixes=R` (Fig. 3): R random mixes drawn once and repeated, each epoch
  over them in a fresh seeded order, instead of a new mix per example;
- `time_shift_s` (Fig. 5a): original mixes whose stems are moved against each
  other by U(-t_s, t_s); `inf` draws every stem's offset anywhere in the song
  (within-song random mixing);
- pitch-shifted copies of the songs (the offline augmentation bank): entries of
  the store that share a song and differ in `semitones`. An original mix takes
  one shift for all stems (consistent, the paper's standard augmentation) or,
  with `pitch_consistent=False` (Fig. 5b), one per stem; a random mix takes any
  song at any allowed shift per stem. `pitch_max` bounds the shifts used.
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
                 target_lufs: float | None = -14.0, fixed_mixes: int | None = None,
                 time_shift_s: float | None = None, pitch_max: int | None = None,
                 pitch_consistent: bool = True):
        if not 0.0 <= p_original <= 1.0:
            raise ValueError(f"p_original must lie in [0, 1], got {p_original}")
        if fixed_mixes is not None and fixed_mixes < 1:
            raise ValueError(f"fixed_mixes must be a positive number of mixes, got {fixed_mixes}")
        if time_shift_s is not None and time_shift_s < 0:
            raise ValueError(f"time_shift_s must be >= 0 (or inf), got {time_shift_s}")
        too_short = [n for n, L in zip(store.names, store.lengths) if L < chunk]
        if too_short:
            raise ValueError(f"tracks shorter than the {chunk}-sample chunk: {too_short}")
        self.store, self.chunk, self.p, self.seed = store, chunk, p_original, seed
        self.fixed_mixes, self.time_shift_s = fixed_mixes, time_shift_s
        self.pitch_consistent = pitch_consistent
        self.n_stems = len(store.stems)
        # entries by (song, semitones): the songs are the groups, the shifts their copies
        semis = np.asarray(store.semitones)
        allowed = np.abs(semis) <= (np.inf if pitch_max is None else pitch_max)
        songs = sorted({g for g, ok in zip(store.songs, allowed) if ok})
        self.shifts = sorted({int(k) for k, ok in zip(semis, allowed) if ok})
        if not songs:
            raise ValueError(f"{store.path}: no entries with |semitones| <= {pitch_max}")
        self.entry = np.full((len(songs), len(self.shifts)), -1, dtype=np.int64)
        for e, (g, k, ok) in enumerate(zip(store.songs, semis, allowed)):
            if ok:
                self.entry[songs.index(g), self.shifts.index(int(k))] = e
        if (self.entry < 0).any():
            g, k = np.argwhere(self.entry < 0)[0]
            raise ValueError(f"{store.path}: song {songs[g]!r} has no copy at {self.shifts[k]:+d} semitones; "
                             "every song needs every shift of the bank")
        self.allowed_entries = self.entry.reshape(-1)
        self._perm_cache = (None, None)
        self.normalizer = None
        if target_lufs is not None:
            self.normalizer = LoudnessNormalizer(store.sample_rate, target_lufs)
            block = self.normalizer.meter.block_size * store.sample_rate
            if chunk <= block:
                raise ValueError(f"chunks of {chunk} samples are shorter than BS.1770's {block:.0f}-sample "
                                 "gating block: use longer chunks or set train.target_lufs to null")

    def draw(self, rng: np.random.Generator, batch_size: int, p_original: float | None = None):
        """Store entries and offsets (B, n_stems) and the original/random flags, without reading audio."""
        S = self.n_stems
        p = self.p if p_original is None else p_original
        original = rng.random(batch_size) < p
        # random mixes: any entry (song at an allowed shift) per stem
        songs = self.allowed_entries[rng.integers(len(self.allowed_entries), size=(batch_size, S))]
        # original mixes: one song, one shift (or one per stem when inconsistent)
        g = rng.integers(self.entry.shape[0], size=batch_size)
        k = rng.integers(len(self.shifts), size=(batch_size, 1 if self.pitch_consistent else S))
        songs[original] = np.broadcast_to(self.entry[g[:, None], k], (batch_size, S))[original]
        room = self.store.lengths[songs] - self.chunk + 1
        offsets = (rng.random((batch_size, S)) * room).astype(np.int64)
        offsets[original] = offsets[original, :1]        # one offset (copies share a length)
        if self.time_shift_s is not None and original.any():
            offsets[original] = self._shifted(rng, offsets[original], room[original])
        return original, songs, offsets

    def _shifted(self, rng, offsets, room):
        """Per-stem timing shifts of original mixes: U(-t_s, t_s) around the common offset, inf: anywhere."""
        if np.isinf(self.time_shift_s):
            return (rng.random(offsets.shape) * room).astype(np.int64)
        t = int(round(self.time_shift_s * self.store.sample_rate))
        # the common offset keeps t samples from either end where the song allows, so shifts
        # are not clipped (which would pile stems up at the song's start and end)
        margin = np.minimum(t, (room - 1) // 2)
        base = margin + (rng.random(offsets.shape[:1])[:, None] * (room - 2 * margin)).astype(np.int64)
        shift = rng.integers(-t, t + 1, size=offsets.shape)
        return np.clip(base + shift, 0, room - 1)

    def fixed_mix(self, k: int):
        """The k-th of the R fixed random mixes: (songs, offsets) of shape (n_stems,), drawn once from its seed."""
        rng = np.random.default_rng([self.seed, 1, k])
        _, songs, offsets = self.draw(rng, 1, p_original=0.0)
        return songs[0], offsets[0]

    def _fixed_index(self, g: int) -> int:
        """Example g of training -> which fixed mix: epochs over the R mixes, each in a seeded order."""
        epoch, pos = divmod(g, self.fixed_mixes)
        if self._perm_cache[0] != epoch:
            self._perm_cache = (epoch, np.random.default_rng([self.seed, 2, epoch]).permutation(self.fixed_mixes))
        return int(self._perm_cache[1][pos])

    def batch(self, step: int, batch_size: int, rows: slice = slice(None)) -> Batch:
        """The step's batch of `batch_size` examples, or its `rows` (one GPU process's share).

        The whole batch is drawn (no audio read) and only `rows` are read, so the
        shares of N processes are exactly the rows of the one-process batch.
        """
        if self.fixed_mixes is not None:
            picks = [self.fixed_mix(self._fixed_index(step * batch_size + b)) for b in range(batch_size)[rows]]
            songs, offsets = (np.stack(x) for x in zip(*picks))
            original = np.zeros(len(songs), dtype=bool)
        else:
            rng = np.random.default_rng([self.seed, step])
            original, songs, offsets = (x[rows] for x in self.draw(rng, batch_size))
        batch_size = len(songs)
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
