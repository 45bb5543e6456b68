"""Mixtures of mixtures for MixIT pre-training (Paper B Sec. 3).

Each example takes two clips of two different FMA files, a random window of
the chunk length from each, and gives the model their sum; the two windows are
the MixIT references. With `snr_db = (lo, hi)` the first is rescaled so that its power
over the second's is U(lo, hi) dB (the paper is silent; the authors' code draws U(-5, 5)).
Batches are a pure function of (seed, step).
"""
from __future__ import annotations

import numpy as np

from mixlab.papers.mixit.fma import ClipStore


class MixITPairSampler:
    def __init__(self, clips: ClipStore, chunk: int, seed: int, snr_db: tuple[float, float] | None = None,
                 files: set[int] | None = None):
        """`files`: draw only clips of these files (a held-out validation set, or the rest); None: all."""
        if chunk > clips.clip_samples:
            raise ValueError(f"training chunk ({chunk} samples) is longer than a prepared clip "
                             f"({clips.clip_samples}); shorten the chunk or re-prepare with longer clips")
        self.pool = [i for i in range(len(clips)) if files is None or clips.file_of(i) in files]
        used = {clips.file_of(i) for i in self.pool}
        if len(used) < 2:
            raise ValueError("MixIT needs clips of at least two different files; the prepared subset has "
                             f"{len(used)} here (see its rejects.tsv, and mixit.pretrain.valid_files)")
        if snr_db is not None and not snr_db[0] <= snr_db[1]:
            raise ValueError(f"mom_snr_db {list(snr_db)}: expected [lo, hi] with lo <= hi")
        self.clips, self.chunk, self.seed, self.snr_db = clips, chunk, seed, snr_db

    def batch(self, step: int, batch_size: int, rows: slice = slice(None)) -> np.ndarray:
        """-> (B, 2, C, L) float32: the two mixtures of each example.

        Example b of a step has its own generator, so `rows` (one GPU process's
        share of the global batch) draws exactly those examples of it.
        """
        picked = range(batch_size)[rows]
        out = np.empty((len(picked), 2, 2, self.chunk), dtype=np.float32)
        n, pool = len(self.pool), self.pool
        for row, b in enumerate(picked):
            rng = np.random.default_rng([self.seed, step, b])
            i = pool[int(rng.integers(n))]
            j = pool[int(rng.integers(n))]
            while self.clips.file_of(j) == self.clips.file_of(i):
                j = pool[int(rng.integers(n))]
            for k, c in enumerate((i, j)):
                offset = int(rng.integers(self.clips.clip_samples - self.chunk + 1))
                out[row, k] = self.clips.read(c, offset, self.chunk)
            if self.snr_db is not None:          # drawn after the windows: without it the windows are the same
                snr = rng.uniform(*self.snr_db)
                p1, p2 = (float(np.mean(np.square(x, dtype=np.float64))) for x in out[row])
                if p1 > 0:
                    out[row, 0] *= np.float32(np.sqrt(p2 / p1 * 10 ** (snr / 10)))
        return out


def split_files(clips: ClipStore, n_valid: int) -> tuple[set[int], set[int]]:
    """(training files, validation files): the last `n_valid` files of the prepared subset held out."""
    files = sorted({clips.file_of(i) for i in range(len(clips))})
    if n_valid and len(files) - n_valid < 2:
        raise ValueError(f"mixit.pretrain.valid_files = {n_valid} leaves {len(files) - n_valid} of {len(files)} "
                         "files to train on; MixIT needs at least 2")
    cut = len(files) - n_valid
    return set(files[:cut]), set(files[cut:])
