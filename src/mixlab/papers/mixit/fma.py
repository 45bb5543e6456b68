"""FMA preparation for MixIT pre-training (Paper B Sec. 4.1) and the clip store it writes.

Every MP3 of an FMA subset folder (`fma_<size>/<3 digits>/<6 digits>.mp3`) is
decoded, checked and cut into 10 s clips with a 5 s hop; a clip with more than
5 s of silence (power per 1 s block below `silence_db`) is dropped (the paper's rule). The
authors' code (`silence="code"`) instead cuts each clip into 20 chunks and drops the whole *file*
when any clip has half of them exactly zero; it also checks the partial clips at the file's end and
keeps an end-aligned clip for each (often repeating the last full one), which is kept here too. Files below
the target sample rate are dropped, higher ones resampled (Rubber Band's
resampler in pedalboard). A file that cannot be used -- empty, undecodable,
truncated (fewer frames decoded than its header announces), too low a rate,
more than two channels, mono (unless `mono="duplicate"`), or with no clip left -- goes to `rejects.tsv` with its
reason and the run goes on: the real FMA has such files (099134, 108925 and
133297 have no audio, 002624 is corrupt).

The store is one raw int16 (frames, 2) file holding each file's kept span once
(overlapping clips share samples) and `clips.json` indexing clips into it, so a
training batch is a page-cache copy, not an MP3 decode.
"""
from __future__ import annotations

from mixlab.errors import InputError, read_json

import csv
import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SUBSETS = ("small", "medium", "large", "full")
CLIPS_MANIFEST = "clips.json"
AUDIO_FILE = "audio.pcm"
REJECTS_FILE = "rejects.tsv"


@dataclass(frozen=True)
class ClipRule:
    sample_rate: int
    clip_seconds: float = 10.0
    hop_seconds: float = 5.0
    max_silent_seconds: float = 5.0
    silence_db: float = -60.0        # mean power of a 1 s block (dB re full scale) below which it is silent
    # mono files: "skip" as the authors' code does (mixit-mss keeps stereo files only), or
    # "duplicate" the channel to both sides; either way the manifest lists them
    mono: str = "skip"
    # silence rule: "paper" (1 s power blocks, drop the clip) or "code" (exact-zero chunks, drop the file)
    silence: str = "paper"
    code_chunks: int = 20            # the code's rule: chunks per clip (0.5 s of a 10 s clip)


def subset_dir(root: str | Path, subset: str) -> Path:
    if subset not in SUBSETS:
        raise ValueError(f"unknown FMA subset {subset!r}; choose one of {SUBSETS}")
    return Path(root) / f"fma_{subset}"


def check_fma_root(root: str | Path, subset: str) -> str | None:
    """What is wrong with `root` as the FMA root for `subset` (None: fine), named for what it is.

    Globbing the folder costs ~0.1 s for fma_full's 106k files, so the workflow runs this while it
    builds the DAG, not when the job starts.
    """
    root = Path(root)
    folder = subset_dir(root, subset)
    if not root.is_dir():
        return f"fma_root {root}: no such directory"
    if not folder.is_dir():
        if root.name.startswith("fma_") and list(root.glob("[0-9][0-9][0-9]/*.mp3"))[:1]:
            return (f"fma_root {root} is a subset folder itself; pass its parent, fma_root={root.parent} "
                    f"(the folder holding fma_small/ ... fma_full/)")
        below = sorted(p for p in root.glob("*/fma_*") if p.is_dir())
        if below:
            return f"fma_root {root}: the subsets are one level down; pass fma_root={below[0].parent}"
        have = sorted(p.name for p in root.glob("fma_*") if p.is_dir())
        return (f"fma_root {root}: no {folder.name}/ folder (found: {', '.join(have) or 'none'}); download and "
                f"unzip {folder.name}.zip there, or choose a subset that is present in the config's mixit tables")
    if not list(folder.glob("[0-9][0-9][0-9]/*.mp3"))[:1]:
        return (f"{folder}: no MP3 files in FMA layout (<3-digit folder>/<6-digit id>.mp3); the archive may "
                "not be fully unzipped")
    return None


def list_mp3(folder: str | Path) -> list[Path]:
    """The subset's MP3s in FMA order (folder, then track id)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no FMA subset folder here; point fma_root at the folder holding "
                                f"fma_small/, fma_medium/, ... (or build the synthetic one)")
    return sorted(folder.glob("[0-9][0-9][0-9]/*.mp3"))


class Reject(Exception):
    """A file the run skips; the message is its reason in rejects.tsv."""


def decode(path: str | Path, sample_rate: int, mono: str = "duplicate") -> np.ndarray:
    """MP3 -> float32 (frames, 2) at `sample_rate`; Reject with the reason when the file is unusable.

    soundfile (libsndfile + mpg123) is used for decoding because it returns only
    the frames actually decoded; pedalboard zero-pads a truncated stream to the
    length its header announces, which would hide the truncation.
    """
    import soundfile as sf

    path = Path(path)
    if path.stat().st_size == 0:
        raise Reject("empty file (0 bytes)")
    try:
        info = sf.info(str(path))
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile raises several types for broken streams
        # libsndfile's message names the path and, for garbage bytes, claims the file does not exist
        detail = str(exc).splitlines()[0].split(": ", 1)[-1] if str(exc) else type(exc).__name__
        if "does not exist" in detail:
            detail = "no MP3 stream found"
        raise Reject(f"undecodable: libsndfile/mpg123 cannot read it as audio ({detail})")
    if len(audio) == 0:
        raise Reject("no audio frames")
    if info.frames > 0 and len(audio) < 0.99 * info.frames:
        raise Reject(f"truncated: decoded {len(audio)} of {info.frames} frames the header announces")
    if rate < sample_rate:
        raise Reject(f"sample rate {rate} Hz below {sample_rate} Hz")
    if audio.shape[1] == 1:
        if mono == "skip":
            raise Reject("mono: skipped as the authors' code does (config mixit.clips.mono: duplicate uses it)")
        audio = np.repeat(audio, 2, axis=1)
    elif audio.shape[1] != 2:
        raise Reject(f"{audio.shape[1]} channels (expected mono or stereo)")
    if rate != sample_rate:
        from pedalboard.io import StreamResampler

        # the resampler may end a sample short of the exact length (30.000 s at 48 kHz gave
        # 1,322,999 frames at 44.1 kHz and lost the file's last clip): round, pad the tail
        n = int(round(len(audio) * sample_rate / rate))
        res = StreamResampler(rate, sample_rate, 2)
        out = np.concatenate([res.process(audio.T.copy()), res.process(None)], axis=1).T[:n]
        audio = np.pad(out, [(0, n - len(out)), (0, 0)])
    return np.ascontiguousarray(audio, dtype=np.float32)


def clip_starts(audio: np.ndarray, rule: ClipRule) -> tuple[list[int], int]:
    """Starts (samples) of the clips kept, and how many were dropped for silence.

    With the code's rule a silent clip rejects the file (`Reject`) and nothing is counted as dropped.
    """
    clip = int(round(rule.clip_seconds * rule.sample_rate))
    hop = int(round(rule.hop_seconds * rule.sample_rate))
    if rule.silence == "code":
        return _code_rule_starts(audio, clip, hop, rule.code_chunks), 0
    if rule.silence != "paper":
        raise ValueError(f"unknown FMA silence rule {rule.silence!r}; use 'paper' or 'code'")
    block = rule.sample_rate
    n_blocks = len(audio) // block
    power = (audio[: n_blocks * block].astype(np.float64) ** 2).reshape(n_blocks, -1).mean(1)
    silent = 10 * np.log10(power + 1e-20) < rule.silence_db
    kept, dropped = [], 0
    for start in range(0, len(audio) - clip + 1, hop):
        # blocks are 1 s from the file start; a clip starting off-grid counts the blocks it overlaps most
        b0 = int(round(start / block))
        n_silent = int(silent[b0:b0 + clip // block].sum())
        if n_silent > rule.max_silent_seconds:
            dropped += 1
        else:
            kept.append(start)
    return kept, dropped


def _code_rule_starts(audio: np.ndarray, clip: int, hop: int, n_chunks: int) -> list[int]:
    """The authors' rule: every clip from every hop (the end-aligned one for a partial clip at the end),
    the whole file dropped when a clip is all zeros or has n_chunks // 2 of its n_chunks chunks all zeros."""
    starts = []
    for t in range(0, len(audio), hop):
        window = audio[t:t + clip]
        size = len(window) // n_chunks
        zeros = sum(not window[i * size:(i + 1) * size].any() for i in range(n_chunks))
        if not window.any() or zeros >= n_chunks // 2:
            raise Reject(f"silent: {zeros} of {n_chunks} chunks all zeros in the clip at {t} samples "
                         "(the authors' rule drops the whole file; config mixit.clips.silence: paper keeps the rest)")
        starts.append(t if t + clip <= len(audio) else max(0, len(audio) - clip))
    return starts


def _prepare_one(args):
    path, rule = args
    try:
        audio = decode(path, rule.sample_rate, rule.mono)
        clip = int(round(rule.clip_seconds * rule.sample_rate))
        if len(audio) < clip:
            raise Reject(f"shorter than one {rule.clip_seconds:g} s clip ({len(audio) / rule.sample_rate:.1f} s)")
        starts, dropped = clip_starts(audio, rule)
        if not starts:
            raise Reject(f"silent: all {dropped} clips have more than {rule.max_silent_seconds:g} s of silence")
        span = audio[starts[0]: starts[-1] + clip]
        pcm = np.clip(np.round(span * 32767.0), -32768, 32767).astype(np.int16)
        import soundfile as sf

        mono = sf.info(str(path)).channels == 1
        return str(path), pcm, [s - starts[0] for s in starts], dropped, None, mono
    except Reject as exc:
        return str(path), None, [], 0, str(exc), False


def prepare_subset(folder: str | Path, out_dir: str | Path, rule: ClipRule, workers: int = 1,
                   limit: int | None = None, progress=print) -> dict:
    """Decode and clip every MP3 under `folder`; write audio.pcm, clips.json, rejects.tsv to `out_dir`."""
    files = list_mp3(folder)[:limit]
    if not files:
        raise InputError(f"{folder}: no MP3 files in FMA layout (<3-digit folder>/<6-digit id>.mp3); point --root at "
                         "the folder holding fma_<subset>/ (with --subset) or at one subset folder")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    clip = int(round(rule.clip_seconds * rule.sample_rate))
    entries, clips, rejects = [], [], []
    offset, n_dropped = 0, 0
    tmp_audio = out_dir / (AUDIO_FILE + ".part")
    jobs = [(f, rule) for f in files]
    with open(tmp_audio, "wb") as fh:
        pool = ProcessPoolExecutor(workers) if workers > 1 else None
        results = pool.map(_prepare_one, jobs, chunksize=4) if pool else map(_prepare_one, jobs)
        for i, (path, pcm, starts, dropped, reason, mono) in enumerate(results):
            rel = os.path.relpath(path, folder)
            if reason is not None:
                rejects.append((rel, reason))
                progress(f"[fma] {i + 1}/{len(files)} {rel}: rejected ({reason})")
                continue
            fh.write(pcm.tobytes())
            entries.append({"id": Path(path).stem, "path": rel, "offset": offset, "length": len(pcm)}
                           | ({"mono": True} if mono else {}))
            clips.extend([len(entries) - 1, s] for s in starts)
            offset += len(pcm)
            n_dropped += dropped
            if (i + 1) % 50 == 0 or i + 1 == len(files):
                progress(f"[fma] {i + 1}/{len(files)} files, {len(clips)} clips kept, "
                         f"{n_dropped} dropped for silence, {len(rejects)} files rejected")
        if pool:
            pool.shutdown()
    tmp_audio.replace(out_dir / AUDIO_FILE)
    with open(out_dir / REJECTS_FILE, "w", newline="") as fh:
        w = csv.writer(fh, delimiter="\t")
        w.writerow(["path", "reason"])
        w.writerows(rejects)
    manifest = {"sample_rate": rule.sample_rate, "channels": 2, "clip_samples": clip, "frames": offset,
                "source": str(folder), "rule": rule.__dict__, "files": entries, "clips": clips,
                "dropped_silent_clips": n_dropped, "rejected_files": len(rejects),
                "mono_duplicated": [e["path"] for e in entries if e.get("mono")]}
    (out_dir / CLIPS_MANIFEST).write_text(json.dumps(manifest))
    hours = len(clips) * rule.hop_seconds / 3600
    progress(f"[fma] {folder}: {len(entries)} files used ({len(manifest['mono_duplicated'])} mono, copied to "
             f"both channels), {len(rejects)} rejected (see {out_dir / REJECTS_FILE}), "
             f"{len(clips)} clips (~{hours:.2f} h of distinct audio)")
    return manifest


class ClipStore:
    """Read-only clips of a prepared FMA subset: `read(i, offset, length)` -> float32 (2, length)."""

    def __init__(self, path: str | Path):
        path = Path(path)
        man = path / CLIPS_MANIFEST
        if not man.exists():
            raise InputError(f"{path}: not prepared FMA clips (no {CLIPS_MANIFEST}); build them with `mixlab fma-prep`")
        self.manifest = read_json(man, "a clips manifest", "prepare the clips again with `mixlab fma-prep`",
                                  keys=("sample_rate", "clip_samples", "clips"))
        self.sample_rate = int(self.manifest["sample_rate"])
        self.clip_samples = int(self.manifest["clip_samples"])
        self.clips = np.asarray(self.manifest["clips"], dtype=np.int64).reshape(-1, 2)
        self.file_offsets = np.asarray([f["offset"] for f in self.manifest["files"]], dtype=np.int64)
        if len(self.clips) == 0:
            raise ValueError(f"{path}: the prepared subset holds no clips (every file rejected; see {REJECTS_FILE})")
        frames = int(self.manifest["frames"])
        self.audio = np.memmap(path / AUDIO_FILE, dtype=np.int16, mode="r", shape=(frames, 2))

    def __len__(self) -> int:
        return len(self.clips)

    def file_of(self, i: int) -> int:
        return int(self.clips[i, 0])

    def read(self, i: int, offset: int, length: int) -> np.ndarray:
        f, start = self.clips[i]
        if offset < 0 or offset + length > self.clip_samples:
            raise ValueError(f"clip window [{offset}, {offset + length}) outside a {self.clip_samples}-sample clip")
        a = self.file_offsets[f] + start + offset
        return self.audio[a:a + length].T.astype(np.float32) / 32768.0
