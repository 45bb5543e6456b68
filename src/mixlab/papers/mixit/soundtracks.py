"""Recorded full mixes without stems for Paper B's unlabelled pool: two Debian game soundtracks.

MixIT pre-trains on real music without labels (FMA in the paper). Where FMA cannot be downloaded, the
FMA-like pool can be built from these recordings instead of rendered or synthetic songs (config:
`mixit.fma.source: soundtracks`): orchestral, folk and electronic pieces played and produced by their
composers, so the separator meets mixing, reverb and instruments that no renderer here makes.

- `wesnoth-<version>-music`: the Battle for Wesnoth soundtrack, 41 OGG Vorbis tracks, GPL-2+.
- `hyperrogue-music`: the HyperRogue soundtrack, 17 OGG tracks by Shawn Parrotte, Lincoln Domina and
  Will Savino, CC-BY-SA-3.0 (attribution: ATTRIBUTION.md of the pool names each file's authors).

One clip per track (FMA's files are 30 s clips of whole songs), at a seeded offset, resampled to the
corpus rate; the tracks are shuffled by seed, so FMA's nested subsets draw different pieces per seed.
"""
from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SETUP = "make corpus-deps"
APT = "apt-get install wesnoth-1.16-music hyperrogue-music"   # wesnoth-<version>-music on other releases
MIN_SECONDS = 5.0        # shorter files (jingles) are not music to separate

# package, the folders it installs its music to, licence, authors by file stem prefix (None: every file)
SOURCES = (
    ("wesnoth-music", ("/usr/share/games/wesnoth/*/data/core/music", "/usr/share/wesnoth/*/data/core/music",
                       "/usr/share/games/wesnoth/data/core/music"), "GPL-2+",
     {None: "the Battle for Wesnoth project's composers (see wesnoth's data/core/about.cfg)"}),
    ("hyperrogue-music", ("/usr/share/hyperrogue/music", "/usr/share/games/hyperrogue/music"), "CC-BY-SA-3.0",
     {"hr3-": "Shawn Parrotte (http://www.shawnparrotte.com)", "hr-domina-": "Lincoln Domina",
      "hr-savino-": "Will Savino (http://www.willsavino.net)"}),
)


@dataclass(frozen=True)
class Track:
    path: str
    package: str
    licence: str
    author: str


def _author(authors: dict, stem: str) -> str:
    for prefix, who in authors.items():
        if prefix is None or stem.startswith(prefix):
            return who
    return "see the package's copyright file"


def find_tracks() -> list[Track]:
    """Every installed soundtrack file, in a fixed order (package, then file name)."""
    tracks = []
    for package, patterns, licence, authors in SOURCES:
        files = sorted({f for p in patterns for f in glob.glob(f"{p}/*.ogg")}, key=lambda f: Path(f).name)
        tracks += [Track(f, package, licence, _author(authors, Path(f).stem)) for f in files]
    return tracks


def check(n_needed: int) -> list[Track]:
    """The installed tracks long enough to clip; a ValueError naming what to install when too few."""
    import soundfile as sf

    tracks = [t for t in find_tracks() if sf.info(t.path).duration >= MIN_SECONDS]
    if len(tracks) < n_needed:
        fix = f"install them with `{APT}` (or `{SETUP}`)"
        if tracks:
            fix += f", or lower mixit.fma.full to {len(tracks)}"
        raise ValueError(f"mixit.fma.source: soundtracks needs {n_needed} recorded tracks (mixit.fma.full) and "
                         f"found {len(tracks)} installed: {fix}")
    return tracks


def clip(track: Track, seed: int, index: int, rate: int, seconds: float) -> tuple[np.ndarray, dict]:
    """A stereo clip (n, 2) float32 of `seconds` (the whole track when shorter) at `rate`, and where it came
    from. The offset is drawn by (seed, index) inside the track."""
    import soundfile as sf

    from mixlab.data.musdb_import import resample

    info = sf.info(track.path)
    want = int(round(seconds * info.samplerate))
    rng = np.random.default_rng([seed, 11, index])
    start = int(rng.integers(0, max(info.frames - want, 0) + 1))
    audio, _ = sf.read(track.path, start=start, frames=min(want, info.frames), dtype="float32", always_2d=True)
    audio = np.repeat(audio, 2, axis=1) if audio.shape[1] == 1 else audio[:, :2]
    if info.samplerate != rate:
        audio = resample(audio, info.samplerate, rate)
    peak = float(np.abs(audio).max())
    audio = (0.8 * audio / peak if peak > 0 else audio).astype(np.float32)
    return audio, {"source": track.path, "package": track.package, "licence": track.licence,
                   "author": track.author, "start_seconds": round(start / info.samplerate, 3)}


def shuffled(tracks: list[Track], seed: int) -> list[Track]:
    order = np.random.default_rng([seed, 12]).permutation(len(tracks))
    return [tracks[i] for i in order]


def attribution(used: list[dict]) -> str:
    lines = ["# Sources of this unlabelled pool", "",
             "Clips of recorded game soundtracks (Debian packages), re-encoded as MP3 at the corpus rate. "
             "CC-BY-SA-3.0 files are adapted (clipped, resampled); their clips are under CC-BY-SA-3.0 too.", "",
             "| file | clip of | from (s) | package | licence | author |", "|---|---|---|---|---|---|"]
    lines += [f"| {u['id']}.mp3 | {Path(u['source']).name} | {u['start_seconds']} | {u['package']} | {u['licence']} | "
              f"{u['author']} |" for u in used]
    return "\n".join(lines) + "\n"
