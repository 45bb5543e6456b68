"""Deterministic FMA-like unlabeled corpus: MP3s in FMA layout, nested subsets, bad files on purpose.

Stands in for FMA where it cannot be downloaded. Each file is a synthetic song
(same generator as the multitrack corpus, its own seed stream) with a random
instrument set -- any non-empty subset of drums, bass, vocals, other -- mixed to
stereo and MP3-encoded (LAME via pedalboard). Most files are at the corpus
rate, some at a higher MP3 rate (the preparation resamples them). Subsets are
nested like FMA's: small is in medium is in large is in full, each its own
`fma_<size>/<3-digit folder>/<6-digit id>.mp3` tree.

Planted in every subset (they are in `small`), each with the reason the
preparation must give (`fma_synth.json` lists them): an empty file, random
bytes, a truncated stream, an all-silent song, a mostly silent song and one
below the corpus rate.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mixlab.papers.mixit.fma import SUBSETS
from mixlab.data.synth import _Song

MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
MANIFEST = "fma_synth.json"
# planted bad files: kind -> the start of the reason the preparation gives
PLANTED = {"empty": "empty file", "corrupt": "undecodable", "truncated": "truncated",
           "silent": "silent", "mostly_silent": "silent", "low_rate": "sample rate"}


@dataclass(frozen=True)
class FMASynthSpec:
    seed: int = 0
    sample_rate: int = 16000
    small: int = 8            # good files per subset, cumulative sizes (nested)
    medium: int = 12
    large: int = 16
    full: int = 24
    min_seconds: float = 20.0
    max_seconds: float = 30.0
    high_rate_every: int = 4  # every k-th good file is encoded above the corpus rate
    entangled: bool = False   # songs of the entangled generator (mixlab.data.synth), as the study scale's MUSDB
    # synthetic: oscillator songs; rendered: full mixes of the rendered corpus's kind; soundtracks: clips of
    # recorded game soundtracks (mixlab.papers.mixit.soundtracks)
    source: str = "synthetic"
    render_seed: int = 0      # source rendered: the seed of the rendered corpus whose test chorales stay out


def _neighbour_rate(rate: int, up: bool) -> int:
    rates = [r for r in MP3_RATES if (r > rate if up else r < rate)]
    if not rates:
        raise ValueError(f"no MP3 sample rate {'above' if up else 'below'} {rate} Hz")
    return min(rates) if up else max(rates)


def track_id(index: int) -> str:
    """Six-digit ids spread over several 3-digit folders, as in FMA."""
    return f"{2 + 137 * index:06d}"


def _song_audio(seed: int, index: int, rate: int, seconds: float, entangled: bool = False,
                source: str = "synthetic", render_seed: int = 0) -> np.ndarray:
    if source == "rendered":              # chorales arranged for a band, sampled instruments, a sung lead
        from mixlab.data.rendered import unlabelled_mixture

        mix, _ = unlabelled_mixture(seed, index, rate, seconds, render_seed)
        return (0.8 * mix / (np.abs(mix).max() + 1e-9)).astype(np.float32)
    rng = np.random.default_rng([seed, 7, index])
    # the entangled generator draws from its own stream: the plain corpus stays byte-identical
    song = _Song(rng, rate, seconds, np.random.default_rng([seed, 7, index, 7]) if entangled else None)
    names = ["drums", "bass", "vocals", "other"]
    keep = [n for n in names if rng.random() < 0.6] or [names[int(rng.integers(4))]]
    mix = sum(getattr(song, n)() * 10 ** (rng.uniform(-6, 0) / 20) for n in keep)
    pan = rng.uniform(0.7, 1.0)
    mix = mix * np.array([pan, 2 - pan])[None]
    return (0.8 * mix / (np.abs(mix).max() + 1e-9)).astype(np.float32)


def _write_mp3(path: Path, audio: np.ndarray, rate: int) -> None:
    from pedalboard.io import AudioFile

    path.parent.mkdir(parents=True, exist_ok=True)
    with AudioFile(str(path), "w", rate, audio.shape[1], quality="V2") as f:
        f.write(audio.T.copy())


def _path(root: Path, subset: str, tid: str) -> Path:
    return root / f"fma_{subset}" / tid[:3] / f"{tid}.mp3"


def build_fma_corpus(root: str | Path, spec: FMASynthSpec, progress=print) -> Path:
    root = Path(root)
    sizes = [getattr(spec, s) for s in SUBSETS]
    if spec.source not in ("synthetic", "rendered", "soundtracks"):
        raise ValueError(f"source: {spec.source!r} is not synthetic, rendered or soundtracks")
    tracks = None
    if spec.source == "soundtracks":
        from mixlab.papers.mixit import soundtracks

        tracks = soundtracks.shuffled(soundtracks.check(spec.full), spec.seed)
    if spec.source == "rendered":
        from mixlab.data.rendered import MissingTool, RenderSpec, check_tools

        missing = check_tools(RenderSpec(singer="patch"))
        if missing:
            raise MissingTool("the corpus renderer lacks:\n  " + "\n  ".join(missing))
    if sizes != sorted(sizes) or sizes[0] < 1:
        raise ValueError(f"FMA-like subset sizes must be nested and positive (small <= ... <= full), got {sizes}")
    rng = np.random.default_rng([spec.seed, 8])
    high = _neighbour_rate(spec.sample_rate, True)
    # MP3 has no rate below 8 kHz: at that corpus rate the low-rate file cannot be planted
    low = _neighbour_rate(spec.sample_rate, False) if spec.sample_rate > MP3_RATES[0] else None
    full = root / "fma_full"
    entries = []
    for i in range(spec.full):
        tid = track_id(i)
        rate = high if spec.high_rate_every and i % spec.high_rate_every == spec.high_rate_every - 1 \
            else spec.sample_rate
        seconds = float(rng.uniform(spec.min_seconds, spec.max_seconds))
        origin = {}
        if tracks is not None:
            audio, origin = soundtracks.clip(tracks[i], spec.seed, i, rate, seconds)
            seconds = len(audio) / rate           # a track shorter than the clip is taken whole
        else:
            audio = _song_audio(spec.seed, i, rate, seconds, spec.entangled, spec.source, spec.render_seed)
        _write_mp3(_path(root, "full", tid), audio, rate)
        entries.append({"id": tid, "rate": rate, "seconds": round(seconds, 3), "kind": "good", **origin})
        progress(f"[fma-synth] {i + 1}/{spec.full}: {tid}.mp3 ({seconds:.1f} s at {rate} Hz"
                 + (f", from {Path(origin['source']).name})" if origin else ")"))
    planted = []
    for j, kind in enumerate(PLANTED):
        tid = track_id(spec.full + j)
        if kind == "low_rate" and low is None:
            progress(f"[fma-synth] no MP3 rate below {spec.sample_rate} Hz: no low-rate file planted")
            continue
        p = _path(root, "full", tid)
        p.parent.mkdir(parents=True, exist_ok=True)
        seconds = spec.min_seconds
        if kind == "empty":
            p.write_bytes(b"")
        elif kind == "corrupt":
            p.write_bytes(np.random.default_rng([spec.seed, 9]).bytes(30000))
        elif kind == "truncated":
            _write_mp3(p, _song_audio(spec.seed, 1000 + j, spec.sample_rate, seconds), spec.sample_rate)
            data = p.read_bytes()
            p.write_bytes(data[: len(data) // 2])
        elif kind == "silent":
            _write_mp3(p, np.zeros((int(seconds * spec.sample_rate), 2), np.float32), spec.sample_rate)
        elif kind == "mostly_silent":
            audio = _song_audio(spec.seed, 1000 + j, spec.sample_rate, seconds)
            audio[int(3 * spec.sample_rate):] = 0.0
            _write_mp3(p, audio, spec.sample_rate)
        elif kind == "low_rate":
            _write_mp3(p, _song_audio(spec.seed, 1000 + j, low, seconds), low)
        planted.append({"id": tid, "kind": kind, "reason": PLANTED[kind]})
    # nested subsets: the first n good files plus every planted one, copied into fma_<size>/
    for subset, n in zip(SUBSETS[:-1], sizes[:-1]):
        for tid in [e["id"] for e in entries[:n]] + [e["id"] for e in planted]:
            dst = _path(root, subset, tid)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(_path(root, "full", tid), dst)
    manifest = {"spec": spec.__dict__, "files": entries, "planted": planted,
                "subsets": {s: [e["id"] for e in entries[:n]] for s, n in zip(SUBSETS, sizes)}}
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1))
    if tracks is not None:
        (root / "ATTRIBUTION.md").write_text(soundtracks.attribution(entries))
    progress(f"[fma-synth] {root}: subsets {dict(zip(SUBSETS, sizes))} good files + {len(planted)} planted bad ones")
    return root
