"""Paper A Fig. 2's fixed evaluation sets: {train, valid} x {original, random} mixes of training-size chunks.

A set is a recipe, not audio: per chunk the song and offset of every stem
(song names, so the recipe survives a rebuilt store), written once by a rule
and read back from the stem store whenever a checkpoint is scored. At paper
scale the audio would be tens of GB; the recipe is a small CSV.

- original mixes: every song cut into consecutive non-overlapping chunks;
- random mixes: for each evaluated stem and each of the seeds, as many random
  mixes as there are original chunks (the paper's "twelve times as many
  chunks" for 4 stems x 3 seeds); stem n is scored only on its own mixes.
`max_chunks` caps the original chunks (a seeded subset) to keep small-scale
runs cheap; null keeps them all.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from mixlab.papers.random_mixing.sampling import LoudnessNormalizer
from mixlab.data.stem_store import StemStore


def build_eval_set(store: StemStore, chunk: int, seeds: list[int], max_chunks: int | None = None) -> pd.DataFrame:
    S = len(store.stems)
    base = [(i, t) for i, L in enumerate(store.lengths) for t in range(0, int(L) - chunk + 1, chunk)]
    if not base:
        raise ValueError(f"{store.path}: no song is as long as one {chunk}-sample chunk")
    if max_chunks is not None and len(base) > max_chunks:
        keep = np.sort(np.random.default_rng([0, 4]).choice(len(base), size=max_chunks, replace=False))
        base = [base[k] for k in keep]
    rows = [{"kind": "original", "eval_stem": "all", "seed": -1,
             **{f"song_{s}": store.names[i] for s in store.stems}, **{f"offset_{s}": t for s in store.stems}}
            for i, t in base]
    for n, stem in enumerate(store.stems):
        for seed in seeds:
            rng = np.random.default_rng([seed, 5, n])
            songs = rng.integers(len(store), size=(len(base), S))
            room = store.lengths[songs] - chunk + 1
            offsets = (rng.random((len(base), S)) * room).astype(np.int64)
            rows += [{"kind": "random", "eval_stem": stem, "seed": seed,
                      **{f"song_{s}": store.names[songs[k, j]] for j, s in enumerate(store.stems)},
                      **{f"offset_{s}": int(offsets[k, j]) for j, s in enumerate(store.stems)}}
                     for k in range(len(base))]
    return pd.DataFrame(rows)


def load_chunks(store: StemStore, recipe: pd.DataFrame, chunk: int, target_lufs: float | None = -14.0):
    """Mixtures (N, C, chunk) and targets (N, S, C, chunk) of recipe rows, loudness-normalised as in training."""
    index = {name: i for i, name in enumerate(store.names)}
    missing = sorted({recipe[f"song_{s}"].iloc[k] for s in store.stems for k in range(len(recipe))} - set(index))
    if missing:
        raise KeyError(f"{store.path}: evaluation set refers to songs not in the store: {missing[:5]}")
    targets = np.empty((len(recipe), len(store.stems), 2, chunk), dtype=np.float32)
    for k, row in enumerate(recipe.itertuples(index=False)):
        row = row._asdict()
        for j, s in enumerate(store.stems):
            store.read_into(targets[k, j], index[row[f"song_{s}"]], j, int(row[f"offset_{s}"]))
    mixture = targets.sum(1)
    if target_lufs is not None:
        norm = LoudnessNormalizer(store.sample_rate, target_lufs)
        for k in range(len(recipe)):
            g = np.float32(norm.gain(mixture[k]))
            mixture[k] *= g
            targets[k] *= g
    return mixture, targets
