"""Offline pitch-shift augmentation: shifted copies of the training stems as one more stem store.

The reference (kuielab sdx23, `mdx_C`) ran SoundStretch offline over a pitch
(and tempo) grid and pooled every copy with the originals; here Rubber Band
(pedalboard) writes one store per shift, each entry tagged with its source
song and `semitones`, and training pools them (`StemStore([...])`). Training
then reads shifted audio at the same cost as the originals: the DSP is paid
once, not per batch. Copies keep the original length, so a song's copies stay
aligned and the sampler can mix stems of one song at different shifts (Fig. 5b).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mixlab.papers.random_mixing.shifted_testsets import pitch_shift
from mixlab.data.stem_store import STORE_MANIFEST, StemStore


def build_pitch_bank(store_path: str | Path, out_dir: str | Path, semitones: int, progress=print) -> Path:
    if semitones == 0:
        raise ValueError("a pitch bank copy needs a non-zero shift; the originals are the 0 copy")
    src = StemStore(store_path)
    if any(k != 0 for k in src.semitones):
        raise ValueError(f"{store_path}: already holds shifted copies; build banks from the original store")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for i, (name, length) in enumerate(zip(src.names, src.lengths)):
        file = f"{i:04d}.npy"
        shifted = np.stack([pitch_shift(src.read(i, s, 0, int(length)).T, src.sample_rate, semitones).T
                            for s in range(len(src.stems))])                  # (S, C, T) float32
        # 16-bit like the originals (half the disk: ~27 GB per shift at paper scale in float32)
        # unless Rubber Band's output would clip there
        dtype = "int16" if src.raw(i).dtype == np.int16 and np.abs(shifted).max() < 32767 / 32768 else "float32"
        data = np.round(shifted * 32768).astype(np.int16) if dtype == "int16" else shifted
        np.save(out_dir / file, data)
        entries.append({"name": f"{name} [{semitones:+d} st]", "song": name, "semitones": semitones,
                        "file": file, "length": int(length), "dtype": dtype})
        progress(f"[pitch-bank] {semitones:+d} st {i + 1}/{len(src)}: {name}")
    manifest = {"sample_rate": src.sample_rate, "stems": list(src.stems), "split": "train",
                "semitones": semitones, "tracks": entries}
    (out_dir / STORE_MANIFEST).write_text(json.dumps(manifest, indent=1))
    return out_dir
