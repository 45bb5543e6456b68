"""Check a whole MUSDB18-HQ tree before anything trains; report every problem, not only the first.

MUSDB18-HQ is `root/{train,test}/<Artist - Title>/{mixture,drums,bass,other,vocals}.wav`,
44.1 kHz stereo, the five files of a track sample-aligned. Training at paper scale runs
for days before the test split is first read, so a bad file found by the workflow at
that point costs the days: the check reads every header (not the audio, ~1 ms per file)
and names each file with what to do. The workflow runs it while it builds the DAG.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import soundfile as sf

from mixlab.data.layout import MANIFEST, STEMS

FILES = ("mixture", *STEMS)
RATE = 44100
N_TRACKS = 150          # 100 train (86 train + 14 valid in musdb's split) + 50 test


@dataclass
class Report:
    root: Path
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    tracks: dict = field(default_factory=dict)        # split -> track names

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        lines = [f"MUSDB18-HQ tree {self.root}: " + (
            "OK" if self.ok else f"{len(self.problems)} problem(s)")]
        if self.tracks:
            lines.append("  " + ", ".join(f"{s} {len(n)}" for s, n in self.tracks.items()) + " tracks")
        lines += [f"  error: {p}" for p in self.problems]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _layout_problem(root: Path) -> str | None:
    """A root that is not a MUSDB18-HQ root, named for what it is."""
    if not root.is_dir():
        return f"{root}: no such directory; musdb_root must be the MUSDB18-HQ folder that holds train/ and test/"
    for inner in ("musdb18hq", "MUSDB18-HQ", "musdb18-hq", "MUSDB18HQ"):
        if (root / inner / "train").is_dir() or (root / inner / "test").is_dir():
            return f"{root}: the dataset is one level down; pass musdb_root={root / inner}"
    if root.name in ("train", "test") and any(p.is_dir() for p in root.iterdir()):
        return f"{root}: this is the '{root.name}' split itself; pass musdb_root={root.parent} (the folder holding train/ and test/)"
    stems_mp4 = list(root.glob("*/*.stem.mp4"))[:1] + list(root.glob("*.stem.mp4"))[:1]
    if stems_mp4:
        return (f"{root}: holds {stems_mp4[0].name} -- this is MUSDB18 (compressed .stem.mp4), not MUSDB18-HQ. "
                f"Download MUSDB18-HQ (zenodo.org/records/3338373), or decode this one with the musdb package's "
                f"`musdbconvert {root} <out>` (lossy AAC decoded: fine for trying mixlab, not for the papers' "
                f"numbers) and pass musdb_root=<out>")
    missing = [s for s in ("train", "test") if not (root / s).is_dir()]
    if missing:
        return (f"{root}: no {' or '.join(s + '/' for s in missing)} folder; musdb_root must be the MUSDB18-HQ "
                "folder that holds train/ and test/ (each with one folder per track)")
    return None


def _check_track(folder: Path, report: Report) -> None:
    lengths = {}
    for name in FILES:
        path = folder / f"{name}.wav"
        if not path.exists():
            others = sorted(p.name for p in folder.iterdir() if p.is_file())
            report.problems.append(
                f"{path}: missing. Every track needs {', '.join(f + '.wav' for f in FILES)}"
                + (f" (found: {', '.join(others)})" if others else " (the folder is empty)")
                + "; restore it from the MUSDB18-HQ archive" + ("" if name != "mixture" else
                  " (or write the sum of the four stems as mixture.wav)"))
            continue
        if path.stat().st_size == 0:
            report.problems.append(f"{path}: empty file (0 bytes); restore it from the MUSDB18-HQ archive")
            continue
        try:
            info = sf.info(str(path))
        except Exception as exc:   # LibsndfileError / RuntimeError: not a readable WAV
            report.problems.append(f"{path}: not a readable WAV ({str(exc).strip()}); restore it from the "
                                   "MUSDB18-HQ archive")
            continue
        if info.frames == 0:
            report.problems.append(f"{path}: holds no audio (0 frames); restore it from the MUSDB18-HQ archive")
            continue
        if info.samplerate != RATE:
            report.problems.append(f"{path}: {info.samplerate} Hz; MUSDB18-HQ is {RATE} Hz. Use the original "
                                   f"files (mixlab resamples to a scale's rate itself), or resample: "
                                   f"ffmpeg -i in.wav -ar {RATE} out.wav")
        if info.channels != 2:
            report.problems.append(
                f"{path}: {info.channels} channel(s); MUSDB18-HQ is stereo. Use the original file, or make "
                f"it stereo: ffmpeg -i in.wav -ac 2 out.wav (a mono file is copied to both channels)"
                if info.channels == 1 else
                f"{path}: {info.channels} channels; MUSDB18-HQ is stereo: ffmpeg -i in.wav -ac 2 out.wav")
        lengths[name] = info.frames
    if len(set(lengths.values())) > 1:
        report.problems.append(f"{folder}: the files differ in length ({', '.join(f'{k} {v}' for k, v in lengths.items())} "
                               "samples); the five files of a track must be sample-aligned: restore the "
                               "track from the MUSDB18-HQ archive")


def check_musdb(root: str | Path, validation_tracks: list[str] | None = None) -> Report:
    """Every problem of a MUSDB18-HQ tree: layout, then each track of train (train/valid) and test."""
    from mixlab.data.tracks import musdb_validation_tracks

    root = Path(root)
    report = Report(root)
    layout = _layout_problem(root)
    if layout:
        report.problems.append(layout)
        return report
    from_manifest = validation_tracks is None and (root / MANIFEST).is_file()
    if from_manifest:
        # a corpus mixlab made (rendered, synthetic) names its own validation songs
        from mixlab.errors import read_json

        manifest = read_json(root / MANIFEST, "a mixlab corpus manifest", "rebuild the corpus")
        validation_tracks = manifest.get("splits", {}).get("valid")
    valid_names = set(validation_tracks if validation_tracks is not None else musdb_validation_tracks())
    for subset in ("train", "test"):
        folder = root / subset
        stray = sorted(p.name for p in folder.iterdir() if p.is_file())
        tracks = sorted(p for p in folder.iterdir() if p.is_dir())
        if any(s.endswith(".stem.mp4") for s in stray):
            report.problems.append(f"{folder}: holds .stem.mp4 files -- MUSDB18 (compressed), not MUSDB18-HQ; "
                                   f"decode it with `musdbconvert {root} <out>` and pass musdb_root=<out>, "
                                   "or download MUSDB18-HQ")
            continue
        if not tracks:
            report.problems.append(f"{folder}: empty (no track folders); musdb_root must hold the MUSDB18-HQ "
                                   f"{subset}/ folder with one folder per track")
            continue
        for track in tracks:
            _check_track(track, report)
        names = [t.name for t in tracks]
        if subset == "train":
            report.tracks["train"] = [n for n in names if n not in valid_names]
            report.tracks["valid"] = [n for n in names if n in valid_names]
            if not report.tracks["train"]:
                report.problems.append(f"{folder}: every track is one of musdb's validation songs; the "
                                       "training split would be empty")
            if not report.tracks["valid"] and from_manifest:
                report.problems.append(f"{folder}: the corpus manifest ({MANIFEST}) names no validation song, so the "
                                       "validation split (Fig. 2, Paper B's channel selection) would be empty; "
                                       "rebuild it with at least one (n_valid >= 1)")
            elif not report.tracks["valid"]:
                report.problems.append(
                    f"{folder}: none of musdb's 14 validation songs is here, so the validation split (Fig. 2, "
                    f"Paper B's channel selection) would be empty; keep at least one of them, e.g. "
                    f"'{sorted(valid_names)[0]}'")
        else:
            report.tracks["test"] = names
    n = sum(len(v) for v in report.tracks.values())
    if report.tracks and n < N_TRACKS:
        report.warnings.append(f"{n} tracks (train {len(report.tracks.get('train', []))}, valid "
                               f"{len(report.tracks.get('valid', []))}, test {len(report.tracks.get('test', []))}); "
                               f"MUSDB18-HQ has {N_TRACKS} (86/14/50): scores are not comparable to the papers'")
    return report
