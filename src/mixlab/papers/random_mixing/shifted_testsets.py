"""Per-stem timing and pitch shifts (Paper A Figs. 4-5 and the pitch-shift augmentation).

Timing shift moves a stem in time by a whole number of samples, keeping its
length (zeros enter on one side). Pitch shift uses Rubber Band through
pedalboard (the reference used SoundStretch offline), keeping the length, so
shifted copies of a song's stems stay aligned with each other.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf

from mixlab.data.layout import STEMS
from mixlab.data.tracks import MANIFEST, check_stem_files, list_tracks, load_stems, track_dir


def time_shift(audio: np.ndarray, samples: int) -> np.ndarray:
    """audio (T, C) delayed by `samples` (advanced when negative), same length, zero-filled."""
    out = np.zeros_like(audio)
    T = audio.shape[0]
    if samples >= 0:
        out[samples:] = audio[:max(T - samples, 0)]
    else:
        out[:T + samples] = audio[-samples:]
    return out


def pitch_shift(audio: np.ndarray, sample_rate: int, semitones: float, tempo: float = 1.0) -> np.ndarray:
    """audio (T, C) shifted by `semitones` with Rubber Band; tempo != 1 also changes its speed (and length).

    With tempo 1 the output has the input's length (Rubber Band's own output is
    cut or zero-padded by a few samples at most).
    """
    if semitones == 0 and tempo == 1.0:
        return audio.astype(np.float32, copy=True)
    import pedalboard

    y = pedalboard.time_stretch(np.ascontiguousarray(audio.T, dtype=np.float32), float(sample_rate),
                                stretch_factor=float(tempo), pitch_shift_in_semitones=float(semitones))
    y = y.T
    if tempo != 1.0:
        return y
    T = audio.shape[0]
    if y.shape[0] >= T:
        return np.ascontiguousarray(y[:T])
    return np.concatenate([y, np.zeros((T - y.shape[0], y.shape[1]), dtype=y.dtype)])


def draw_shifts(kind: str, value: float, seed: int, track: str, sample_rate: int, n_stems: int = len(STEMS)):
    """Per-stem shifts of one track: samples for kind 'time' (U(-t_s, t_s)), semitones for 'pitch' ({-K..K})."""
    rng = np.random.default_rng([seed, 6, *track.encode()])
    if kind == "time":
        t = int(round(value * sample_rate))
        return [int(x) for x in rng.integers(-t, t + 1, size=n_stems)]
    if kind == "pitch":
        K = int(value)
        return [int(x) for x in rng.integers(-K, K + 1, size=n_stems)]
    raise ValueError(f"unknown shift kind {kind!r}: time or pitch")


def build_shifted_testset(root: str | Path, out: str | Path, kind: str, value: float, seed: int,
                          sample_rate: int, split: str = "test", progress=print) -> Path:
    """A copy of a split with every stem shifted on its own; stems, mixture.wav and the drawn shifts.

    Written in the corpus layout (`<out>/test/<track>/<stem>.wav`, FLOAT WAVs so
    nothing clips) with a manifest, so separation and scoring read it like the
    real test set and a user can listen to it.
    """
    out = Path(out)
    names = list_tracks(root, split)
    drawn = {}
    for i, name in enumerate(names):
        check_stem_files(track_dir(root, split, name), sample_rate)
        stems = load_stems(track_dir(root, split, name), sample_rate)          # (S, T, C)
        shifts = draw_shifts(kind, value, seed, name, sample_rate, len(stems))
        if kind == "time":
            shifted = np.stack([time_shift(s, k) for s, k in zip(stems, shifts)])
        else:
            shifted = np.stack([pitch_shift(s, sample_rate, k) for s, k in zip(stems, shifts)])
        folder = out / split / name
        folder.mkdir(parents=True, exist_ok=True)
        for stem, audio in zip(STEMS, shifted):
            sf.write(folder / f"{stem}.wav", audio, sample_rate, subtype="FLOAT")
        sf.write(folder / "mixture.wav", shifted.sum(0), sample_rate, subtype="FLOAT")
        drawn[name] = shifts
        progress(f"[shift] {kind}={value:g} seed {seed}: {i + 1}/{len(names)} {name} {shifts}")
    unit = "samples" if kind == "time" else "semitones"
    (out / MANIFEST).write_text(json.dumps({"splits": {split: names}, "source": str(root), "shift": {
        "kind": kind, "value": value, "seed": seed, "unit": unit, "stems": list(STEMS), "per_track": drawn}},
        indent=1))
    return out
