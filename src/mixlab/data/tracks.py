"""Track listing and validated stem loading for MUSDB18-HQ-layout corpora."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf

from mixlab.data.layout import MANIFEST, STEMS
from mixlab.errors import InputError, read_json


class TrackError(InputError):
    """A track on disk cannot be used; the message names the file and the fix."""


def subset_of(split: str) -> str:
    if split not in ("train", "valid", "test"):
        raise ValueError(f"split must be train, valid or test, not {split!r}")
    return "test" if split == "test" else "train"


def list_tracks(root: str | Path, split: str) -> list[str]:
    """Track names of a split: the synthetic corpus manifest, else musdb's own split.

    For real MUSDB18-HQ, musdb's `split='train'|'valid'` gives the standard
    86/14 division of the 100 training songs; `test` holds 50 songs.
    """
    root = Path(root)
    manifest = root / MANIFEST
    if manifest.exists():
        splits = read_json(manifest, "a corpus manifest", "rebuild the corpus (`mixlab synth`) or remove the file",
                           keys=("splits",))["splits"]
        return list(splits[split])
    folder = root / subset_of(split)
    if not folder.is_dir():
        raise TrackError(f"{root}: no '{subset_of(split)}' folder; musdb_root must point at the "
                         "MUSDB18-HQ root that holds train/ and test/")
    # What musdb.DB(is_wav=True, subsets=..., split=...) lists -- sorted track folders,
    # musdb's own validation list deciding train/valid -- without its per-track set-up,
    # which costs seconds per call on 150 tracks and is called while Snakemake builds the DAG.
    names = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if split == "test":
        return names
    valid = set(musdb_validation_tracks())
    return [n for n in names if (n in valid) == (split == "valid")]


def musdb_validation_tracks() -> list[str]:
    """The 14 validation songs of musdb's standard split (from the musdb package)."""
    import musdb
    import yaml

    setup = Path(musdb.__file__).parent / "configs" / "mus.yaml"
    return list(yaml.safe_load(setup.read_text())["validation_tracks"])


def track_dir(root: str | Path, split: str, name: str) -> Path:
    return Path(root) / subset_of(split) / name


def wav_info(path: Path, sample_rate: int | None, channels: int = 2):
    """Header of one WAV, checked: readable, non-empty, the expected rate and channels; else TrackError."""
    if not path.exists():
        raise TrackError(f"{path}: missing; every track folder holds {', '.join(s + '.wav' for s in STEMS)} "
                         "(MUSDB18-HQ layout)")
    if path.stat().st_size == 0:
        raise TrackError(f"{path}: empty file (0 bytes); restore it from the dataset archive.")
    try:
        info = sf.info(str(path))
    except Exception as exc:  # soundfile raises LibsndfileError/RuntimeError
        raise TrackError(f"{path}: cannot be read as audio ({str(exc).strip()}); restore or re-export it.") from exc
    if info.frames == 0:
        raise TrackError(f"{path}: holds no audio (0 frames); restore or re-export it.")
    if sample_rate is not None and info.samplerate != sample_rate:
        raise TrackError(f"{path}: sample rate {info.samplerate} Hz, expected {sample_rate} Hz "
                         "(config key sample_rate); resample the corpus or change the preset.")
    if info.channels != channels:
        fix = " Make it stereo: ffmpeg -i in.wav -ac 2 out.wav (copies the channel to both)." if info.channels == 1 else ""
        raise TrackError(f"{path}: {info.channels} channel(s), expected {channels} (stereo).{fix}")
    return info


def check_stem_files(folder: Path, sample_rate: int, stems=STEMS, channels: int = 2) -> int:
    """Validate the stems of one track without reading the audio; return its length."""
    lengths = {}
    for stem in stems:
        path = folder / f"{stem}.wav"
        if not path.exists():
            raise TrackError(f"{path}: missing stem '{stem}'. Every track needs "
                             f"{', '.join(s + '.wav' for s in stems)} (MUSDB18-HQ layout).")
        lengths[stem] = wav_info(path, sample_rate, channels).frames
    if len(set(lengths.values())) > 1:
        raise TrackError(f"{folder}: stems differ in length ({lengths}); the stems of a track must be "
                         "sample-aligned and equally long -- re-export the short stem.")
    return next(iter(lengths.values()))


def load_stems(folder: str | Path, sample_rate: int, stems=STEMS, dtype="float32") -> np.ndarray:
    """Stems of one track as an array (n_stems, T, channels), validated first."""
    folder = Path(folder)
    length = check_stem_files(folder, sample_rate, stems)
    out = np.empty((len(stems), length, 2), dtype=dtype)   # read in place: no per-stem copies
    for s, stem in enumerate(stems):
        sf.read(str(folder / f"{stem}.wav"), dtype=dtype, always_2d=True, out=out[s])
    return out


def load_mixture(folder: str | Path, sample_rate: int) -> np.ndarray:
    """The track's mixture (T, channels); the sum of its stems when mixture.wav is absent."""
    folder = Path(folder)
    path = folder / "mixture.wav"
    if not path.exists():
        return load_stems(folder, sample_rate).sum(0)
    wav_info(path, sample_rate)
    audio, _ = sf.read(str(path), dtype="float32", always_2d=True)
    return audio
