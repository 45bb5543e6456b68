"""How much Rubber Band (Fig. 4's pitch-shifted test sets) damages each stem of a corpus.

Shifts every stem of every test song by +k semitones and back by -k with the same function that builds
Fig. 4's test sets (mixlab.papers.random_mixing.shifted_testsets.pitch_shift), and prints the median
round-trip spectral SNR per stem: 10 log10(sum |X|^2 / sum (|X| - |Y|)^2) over the song's STFT magnitudes
(higher: less damage; magnitudes, since a phase vocoder keeps no waveform phase, and a waveform SDR
would measure that instead). A stem that Rubber Band renders badly comes out of Fig. 4's pitch-shifted
sets unlike anything the model trained on.

    python tools/pitch_roundtrip.py results/study/corpus/synthetic results/study-rendered/corpus/rendered
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def round_trip_sdr(x: np.ndarray, rate: int, k: float) -> float:
    from mixlab.papers.random_mixing.shifted_testsets import pitch_shift

    from scipy.signal import stft

    y = pitch_shift(pitch_shift(x, rate, k), rate, -k)
    n_fft = 2 ** int(np.ceil(np.log2(0.064 * rate)))             # 64 ms windows
    X = np.abs(stft(x.T, nperseg=n_fft, noverlap=3 * n_fft // 4)[2])
    Y = np.abs(stft(y.T, nperseg=n_fft, noverlap=3 * n_fft // 4)[2])
    return 10 * np.log10(float((X ** 2).sum()) / max(float(((X - Y) ** 2).sum()), 1e-12))


def corpus_table(root: Path, shifts=(1, 3)) -> dict:
    import soundfile as sf

    from mixlab.data.layout import STEMS

    out = {}
    songs = sorted(p for p in (root / "test").iterdir() if p.is_dir())
    for stem in STEMS:
        for k in shifts:
            scores = []
            for song in songs:
                x, rate = sf.read(song / f"{stem}.wav", dtype="float32", always_2d=True)
                if np.abs(x).max() > 1e-4:                  # a silent stem has no round trip to measure
                    scores.append(round_trip_sdr(x, rate, k))
            out[f"{stem} ±{k}"] = (float(np.median(scores)), len(scores))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpora", nargs="+", help="corpus roots in MUSDB18-HQ layout (their test/ split is used)")
    ap.add_argument("--shifts", type=float, nargs="+", default=[1, 3], help="semitones (1 3: Fig. 4's study grid)")
    ap.add_argument("--json", default=None, help="also write the numbers here")
    a = ap.parse_args()
    tables = {c: corpus_table(Path(c), a.shifts) for c in a.corpora}
    rows = list(next(iter(tables.values())))
    print("| stem, shift | " + " | ".join(Path(c).name for c in a.corpora) + " |")
    print("|---|" + "---|" * len(a.corpora))
    for r in rows:
        print(f"| {r} | " + " | ".join(f"{t[r][0]:.1f} dB (n = {t[r][1]})" for t in tables.values()) + " |")
    if a.json:
        Path(a.json).write_text(json.dumps(tables, indent=1))


if __name__ == "__main__":
    main()
