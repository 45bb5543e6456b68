"""Paper A Table 1: training sets of song-level random mixes vs trimmed original songs.

- random: each of `n_songs` songs takes its four stems from four different
  training songs (a different song per stem), all from the start, trimmed to
  the shortest of the four; beat and tonality are inconsistent for the whole song.
- original: random excerpts of the original songs with the same lengths as the
  random songs (the sorted lengths paired with the sorted song lengths), so
  both sets hold the same amount of audio.
Models then train on original mixes (p = 1) of either set: random mixing then
happens only at the song level, not per 6 s chunk.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mixlab.data.stem_store import STORE_MANIFEST, StemStore


def song_level_plan(lengths: np.ndarray, n_songs: int, seed: int, n_stems: int = 4):
    """-> random: list of (source song per stem, length); original: list of (song, offset, length)."""
    lengths = np.asarray(lengths)
    if len(lengths) < n_stems:
        raise ValueError(f"song-level random mixes need at least {n_stems} training songs, got {len(lengths)}")
    rng = np.random.default_rng([seed, 7])
    random = []
    for _ in range(n_songs):
        songs = rng.choice(len(lengths), size=n_stems, replace=False)
        random.append(([int(m) for m in songs], int(lengths[songs].min())))
    # the same lengths cut from original songs: shortest with shortest, so every cut fits where possible
    order_len = np.argsort([L for _, L in random], kind="stable")
    picks = rng.permutation(len(lengths))
    picks = np.resize(picks, n_songs)                      # n_songs may exceed the song count
    picks = picks[np.argsort(lengths[picks], kind="stable")]
    original = [None] * n_songs
    for j, i in enumerate(order_len):
        m, L = int(picks[j]), min(random[i][1], int(lengths[picks[j]]))
        offset = int(rng.integers(0, int(lengths[m]) - L + 1))
        original[i] = (m, offset, L)
    return random, original


def build_song_level_store(store_path: str | Path, out_dir: str | Path, kind: str, seed: int,
                           n_songs: int | None = None, progress=print) -> Path:
    src = StemStore(store_path)
    if any(k != 0 for k in src.semitones):
        raise ValueError(f"{store_path}: build song-level sets from the original store, not a pooled one")
    n = len(src) if n_songs is None else n_songs
    random, original = song_level_plan(src.lengths, n, seed, len(src.stems))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for i in range(n):
        file = f"{i:04d}.npy"
        if kind == "random":
            songs, L = random[i]
            parts = [(m, s, 0) for s, m in enumerate(songs)]
            name = f"random{i:03d} ({' | '.join(src.names[m] for m in songs)})"
        elif kind == "original":
            m, offset, L = original[i]
            parts = [(m, s, offset) for s in range(len(src.stems))]
            name = f"original{i:03d} ({src.names[m]} @{offset})"
        else:
            raise ValueError(f"unknown song-level set {kind!r}: random or original")
        dtype = src.raw(parts[0][0]).dtype
        if any(src.raw(m).dtype != dtype for m, _, _ in parts):
            dtype = np.dtype("float32")
        arr = np.lib.format.open_memmap(out_dir / file, mode="w+", dtype=dtype, shape=(len(src.stems), 2, L))
        for m, s, offset in parts:
            if src.raw(m).dtype == dtype:
                arr[s] = src.raw(m)[s, :, offset:offset + L]
            else:
                arr[s] = src.read(m, s, offset, L)
        arr.flush()
        del arr
        entries.append({"name": name, "file": file, "length": int(L), "dtype": str(dtype),
                        "sources": [src.names[m] for m, _, _ in parts], "offsets": [o for _, _, o in parts]})
        progress(f"[song-level] {kind} seed {seed}: {i + 1}/{n} {name}")
    totals = {"random": sum(L for _, L in random), "original": sum(L for _, _, L in original)}
    if totals["random"] != totals["original"]:
        progress(f"[song-level] note: random songs total {totals['random']} samples, trimmed originals "
                 f"{totals['original']} (some random song is longer than the original it is paired with)")
    manifest = {"sample_rate": src.sample_rate, "stems": list(src.stems), "split": "train", "kind": kind,
                "seed": seed, "total_samples": int(sum(e["length"] for e in entries)),
                "total_samples_by_kind": totals, "tracks": entries}
    (out_dir / STORE_MANIFEST).write_text(json.dumps(manifest, indent=1))
    return out_dir
