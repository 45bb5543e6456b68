"""Real MUSDB18-HQ at a scale's sample rate and size: a resampled excerpt corpus in the same layout.

The laptop scales (demo, tiny) run at 16/8 kHz on a few short songs; to run them on
real MUSDB18-HQ the workflow writes the songs they use -- the first n of each split
in musdb's order, the middle `max_seconds` of each -- resampled to the scale's rate,
as `root/{train,test}/<track>/<file>.wav` (16-bit, like the source) plus the corpus
manifest listing the splits. Every later rule reads it like any other corpus. The
paper scale reads the original tree in place and never comes here.
"""
from __future__ import annotations

import json
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf

from mixlab.data.check_musdb import FILES, RATE, check_musdb
from mixlab.data.layout import MANIFEST, SPLITS
from mixlab.data.tracks import TrackError, subset_of, track_dir


def needs_import(preset: dict) -> bool:
    """Whether a scale reads a resampled/excerpted copy of MUSDB18-HQ instead of the tree itself."""
    sub = preset.get("musdb") or {}
    return preset["sample_rate"] != RATE or any(v is not None for v in sub.values())


def select(tracks: dict, n: dict) -> dict:
    """The first n[split] tracks of each split (all when n is None)."""
    return {s: tracks[s][: n.get(f"n_{s}")] if n.get(f"n_{s}") else list(tracks[s]) for s in SPLITS}


def resample(audio: np.ndarray, src: int, dst: int) -> np.ndarray:
    """(T, C) float -> (round(T * dst / src), C): polyphase, Kaiser-windowed (scipy)."""
    if src == dst:
        return audio
    from scipy.signal import resample_poly

    g = gcd(src, dst)
    out = resample_poly(audio, dst // g, src // g, axis=0)
    n = int(round(len(audio) * dst / src))
    return np.pad(out[:n], [(0, max(0, n - len(out))), (0, 0)])


def import_musdb(root: str | Path, out: str | Path, sample_rate: int, n: dict | None = None,
                 max_seconds: float | None = None, progress=print) -> dict:
    root, out = Path(root), Path(out)
    report = check_musdb(root)
    for w in report.warnings:
        progress(f"[musdb] warning: {w}")
    if not report.ok:
        raise TrackError(report.text())
    chosen = select(report.tracks, n or {})
    excerpt = {}
    for split in SPLITS:
        for i, name in enumerate(chosen[split]):
            src = track_dir(root, split, name)
            length = sf.info(str(src / "mixture.wav")).frames
            span = length if max_seconds is None else min(length, int(round(max_seconds * RATE)))
            start = (length - span) // 2
            dst = out / subset_of(split) / name
            dst.mkdir(parents=True, exist_ok=True)
            for f in FILES:
                audio, _ = sf.read(str(src / f"{f}.wav"), start=start, frames=span, dtype="float32", always_2d=True)
                audio = np.clip(resample(audio, RATE, sample_rate), -1.0, 32767 / 32768)
                sf.write(str(dst / f"{f}.wav"), audio, sample_rate, subtype="PCM_16")
            excerpt[name] = [start / RATE, span / RATE]
            progress(f"[musdb] {split} {i + 1}/{len(chosen[split])}: {name} "
                     f"({start / RATE:.1f}-{(start + span) / RATE:.1f} s of {length / RATE:.1f} s)")
    manifest = {"source": "MUSDB18-HQ", "root": str(root), "sample_rate": sample_rate,
                "excerpt_seconds": excerpt, "splits": chosen}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1))
    progress(f"[musdb] {out}: " + ", ".join(f"{s} {len(chosen[s])}" for s in SPLITS) + f" tracks at {sample_rate} Hz")
    return manifest
