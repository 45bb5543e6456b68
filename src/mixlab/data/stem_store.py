"""Stem store: every training stem decoded once into a memory-mapped .npy file.

Random 6 s reads then cost a page-cache copy instead of a WAV seek and decode
per stem per batch item. Arrays are (stems, channels, samples), so a chunk of
one stem is two contiguous runs that convert straight into the batch buffer.
PCM_16 sources are kept as int16 (lossless, half the size of float32);
anything else as float32.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf

from mixlab.data.layout import STEMS
from mixlab.data.tracks import TrackError, check_stem_files, track_dir
from mixlab.errors import InputError, read_json

STORE_MANIFEST = "store.json"


def build_store(root: str | Path, split: str, names: list[str], out_dir: str | Path,
                sample_rate: int, min_length: int = 0, progress=print) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for i, name in enumerate(names):
        folder = track_dir(root, split, name)
        length = check_stem_files(folder, sample_rate)
        if length < min_length:
            raise TrackError(f"{folder}: {length} samples, shorter than one training chunk "
                             f"({min_length} samples); drop the track or shorten the chunk.")
        pcm16 = all(sf.info(str(folder / f"{s}.wav")).subtype == "PCM_16" for s in STEMS)
        dtype = "int16" if pcm16 else "float32"
        file = f"{i:04d}.npy"
        arr = np.lib.format.open_memmap(out_dir / file, mode="w+", dtype=dtype, shape=(len(STEMS), 2, length))
        for s, stem in enumerate(STEMS):
            arr[s] = sf.read(str(folder / f"{stem}.wav"), dtype=dtype, always_2d=True)[0].T
        arr.flush()
        del arr
        entries.append({"name": name, "file": file, "length": int(length), "dtype": dtype})
        progress(f"[store] {split} {i + 1}/{len(names)}: {name} ({length / sample_rate:.1f} s)")
    manifest = {"sample_rate": sample_rate, "stems": list(STEMS), "split": split, "tracks": entries}
    (out_dir / STORE_MANIFEST).write_text(json.dumps(manifest, indent=1))
    return out_dir


def _read_manifest(path: Path) -> dict:
    manifest_path = path / STORE_MANIFEST
    if not manifest_path.exists():
        raise InputError(f"{path}: not a stem store (no {STORE_MANIFEST}); build one with `mixlab store`")
    return read_json(manifest_path, "a stem store manifest", "rebuild the store with `mixlab store`",
                     keys=("sample_rate", "tracks"))


class StemStore:
    """Read-only view of one or more built stores, pooled; `read(entry, stem, offset, length)` -> float32.

    Several paths pool their entries, e.g. the original songs plus their
    pitch-shifted copies. Each entry has a `song` (the source song's name) and
    `semitones` (0 for the originals); `tracks` keeps only the entries of those songs.
    """

    def __init__(self, path: str | Path | list, tracks: list[str] | None = None):
        paths = [Path(p) for p in (path if isinstance(path, (list, tuple)) else [path])]
        self.path = paths[0]
        manifests = [_read_manifest(p) for p in paths]
        self.sample_rate = manifests[0]["sample_rate"]
        self.stems = manifests[0]["stems"]
        entries = []
        for p, m in zip(paths, manifests):
            if (m["sample_rate"], m["stems"]) != (self.sample_rate, self.stems):
                raise ValueError(f"{p}: stores to pool differ in sample rate or stems from {paths[0]}")
            entries += [{**e, "dir": p, "song": e.get("song", e["name"]), "semitones": e.get("semitones", 0)}
                        for e in m["tracks"]]
        if tracks is not None:  # a subset of songs, e.g. a reduced training set
            known = {e["song"] for e in entries}
            missing = [t for t in tracks if t not in known]
            if missing:
                raise KeyError(f"{self.path}: tracks not in the store: {missing}")
            keep = set(tracks)
            entries = [e for e in entries if e["song"] in keep]
        self.names = [e["name"] for e in entries]
        self.songs = [e["song"] for e in entries]
        self.semitones = [int(e["semitones"]) for e in entries]
        self.lengths = np.array([e["length"] for e in entries], dtype=np.int64)
        self._arrays = [np.load(e["dir"] / e["file"], mmap_mode="r") for e in entries]
        self._scale = [1.0 / 32768.0 if e["dtype"] == "int16" else 1.0 for e in entries]

    def __len__(self) -> int:
        return len(self.names)

    def raw(self, track: int) -> np.ndarray:
        """The entry's memory-mapped array as stored, (stems, channels, samples), int16 or float32."""
        return self._arrays[track]

    def read(self, track: int, stem: int, offset: int, length: int) -> np.ndarray:
        out = np.empty((self._arrays[track].shape[1], length), dtype=np.float32)
        return self.read_into(out, track, stem, offset)

    def read_into(self, out: np.ndarray, track: int, stem: int, offset: int) -> np.ndarray:
        """Fill `out` (channels, length) float32 in one pass: no temporary arrays per read."""
        chunk = self._arrays[track][stem, :, offset:offset + out.shape[-1]]
        np.multiply(chunk, np.float32(self._scale[track]), out=out, casting="unsafe")
        return out
