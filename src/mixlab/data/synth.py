"""Deterministic synthetic multitrack corpus in MUSDB18-HQ layout.

Every song draws its own tempo, key, mode, chord progression and timbres from
a seed. Within a song the four stems share beat grid and tonality (drums hit on
the grid, bass plays the chord roots, vocals sing scale tones over the chords,
other plays the chords) -- exactly the coherence that random mixing across
songs destroys, so the corpus exercises the effect Paper A studies.

`entangled=True` (the study scale) makes the stems harder to tell apart by spectrum alone, so
that consistency matters as in real music: "other" plays in the bass register in some songs and
is a vocal-like lead (vibrato, formants) in others; vocals sometimes sing straight; the bass is
brighter (its partials reach the other stems' register); and bass, vocals and other rest for
whole bars, so the presence of each instrument varies. Every extra choice comes from its own
random stream, so the default corpus is unchanged.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from mixlab.data.layout import MANIFEST, SPLITS, STEMS  # noqa: F401  (re-exported)

MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
MINOR = np.array([0, 2, 3, 5, 7, 8, 10])
PROGRESSIONS = ([0, 4, 5, 3], [0, 3, 4, 4], [5, 3, 0, 4], [0, 5, 3, 4], [0, 3, 0, 4], [1, 4, 0, 0])
# (F1, F2, F3) in Hz of five vowels: the vocal stem's spectral envelope.
VOWELS = np.array([[730, 1090, 2440], [530, 1840, 2480], [270, 2290, 3010],
                   [570, 840, 2410], [300, 870, 2240]], dtype=float)


@dataclass(frozen=True)
class SynthSpec:
    seed: int = 0
    sample_rate: int = 16000
    n_train: int = 12
    n_valid: int = 2
    n_test: int = 4
    min_seconds: float = 20.0
    max_seconds: float = 30.0
    entangled: bool = False


def track_names(spec: SynthSpec, split: str) -> list[str]:
    """Names in MUSDB's 'Artist - Title' form; known without rendering audio."""
    count = {"train": spec.n_train, "valid": spec.n_valid, "test": spec.n_test}[split]
    return [f"Synth{spec.seed} - {split.capitalize()} Song {i:03d}" for i in range(count)]


def _midi_hz(m):
    return 440.0 * 2.0 ** ((np.asarray(m, dtype=float) - 69.0) / 12.0)


def _env(n, sr, attack, decay):
    t = np.arange(n) / sr
    a = np.clip(t / max(attack, 1e-4), 0.0, 1.0)
    return a * np.exp(-t / decay)


def _place(buf, start, sig):
    end = min(len(buf), start + len(sig))
    if start < end:
        buf[start:end] += sig[: end - start]


def _additive(f0, sr, amps):
    """Harmonic tone for a (possibly time-varying) f0 track; amps[k] for harmonic k+1."""
    phase = 2 * np.pi * np.cumsum(f0) / sr
    out = np.zeros_like(f0)
    for k, a in enumerate(amps, start=1):
        if a == 0.0 or k * f0.max() >= sr / 2:
            continue
        out += a * np.sin(k * phase)
    return out


def _onepole_highpass(x, coef):
    y = np.empty_like(x)
    y[0] = x[0]
    y[1:] = x[1:] - coef * x[:-1]
    return y


class _Song:
    def __init__(self, rng: np.random.Generator, sr: int, seconds: float, entangle: np.random.Generator | None = None):
        self.rng, self.sr, self.x = rng, sr, entangle
        self.n = int(round(seconds * sr))
        self.tempo = rng.uniform(80, 140)
        self.beat = int(round(60.0 / self.tempo * sr))
        self.root = int(rng.integers(36, 48))  # bass register
        self.scale = MAJOR if rng.random() < 0.6 else MINOR
        prog = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
        self.n_bars = int(np.ceil(self.n / (4 * self.beat)))
        self.chords = [prog[b % len(prog)] for b in range(self.n_bars)]
        if self.x is not None:
            # bars each pitched instrument plays (drums always): at least half of them, different per stem
            self.plays = {stem: self.x.random(self.n_bars) < self.x.uniform(0.5, 0.95)
                          for stem in ("bass", "vocals", "other")}

    def _rests(self, stem: str, out: np.ndarray) -> np.ndarray:
        """Silence the bars `stem` rests in (entangled corpus only), with 10 ms fades."""
        if self.x is None:
            return out
        bar = 4 * self.beat
        gain = np.repeat(self.plays[stem].astype(float), bar)[: len(out)]
        gain = np.pad(gain, (0, len(out) - len(gain)))
        fade = max(1, int(0.01 * self.sr))
        gain = np.convolve(gain, np.ones(fade) / fade, mode="same")
        return out * gain

    def degree_midi(self, degree, octave=0):
        d = int(degree)
        return self.root + 12 * (octave + d // 7) + self.scale[d % 7]

    def triad(self, degree, octave):
        return [self.degree_midi(degree + k, octave) for k in (0, 2, 4)]

    # -- stems ---------------------------------------------------------------
    def drums(self):
        rng, sr, beat = self.rng, self.sr, self.beat
        kick_f = rng.uniform(45, 70)
        kick_decay = rng.uniform(0.12, 0.3)
        snare_tone = rng.uniform(160, 240)
        hat_decay = rng.uniform(0.02, 0.06)
        swing = rng.uniform(0.0, 0.12)
        extra_kick = rng.random() < 0.5
        n_k = int(0.5 * sr)
        t = np.arange(n_k) / sr
        kick = np.sin(2 * np.pi * np.cumsum(kick_f + 100 * np.exp(-t / 0.03)) / sr) * _env(n_k, sr, 0.002, kick_decay)
        snare = (0.6 * rng.standard_normal(n_k) * _env(n_k, sr, 0.001, 0.1)
                 + 0.5 * np.sin(2 * np.pi * snare_tone * t) * _env(n_k, sr, 0.001, 0.08))
        n_h = int(0.15 * sr)
        left = np.zeros(self.n)
        right = np.zeros(self.n)
        for b in range(self.n_bars * 4):
            start = b * beat
            if b % 2 == 0 or (extra_kick and b % 4 == 3):
                k = kick if b % 2 == 0 else kick * 0.7
                _place(left, start, k)
                _place(right, start, k)
            if b % 2 == 1:
                _place(left, start, snare * 0.8)
                _place(right, start, snare * 0.9)
            for half in (0, 1):
                pos = start + int(half * beat * (0.5 + swing))
                hat = _onepole_highpass(rng.standard_normal(n_h), 0.95) * _env(n_h, sr, 0.0005, hat_decay)
                _place(left, pos, 0.25 * hat)
                _place(right, pos, 0.15 * hat)
        return np.stack([left, right], axis=1)

    def bass(self):
        rng, sr, beat = self.rng, self.sr, self.beat
        n_harm = int(rng.integers(4, 12))
        amps = [1.0 / k ** rng.uniform(1.0, 2.0) for k in range(1, n_harm + 1)]
        if self.x is not None:          # brighter: partials up into the vocals' and other's register
            amps = [1.0 / k ** self.x.uniform(0.5, 1.0) for k in range(1, int(self.x.integers(12, 30)) + 1)]
        decay = rng.uniform(0.15, 0.6)
        step = beat // 2 if rng.random() < 0.5 else beat
        out = np.zeros(self.n)
        for bar, degree in enumerate(self.chords):
            for s in range(4 * beat // step):
                start = bar * 4 * beat + s * step
                midi = self.degree_midi(degree) + (12 if (s % 4 == 3 and rng.random() < 0.3) else 0)
                f0 = np.full(step, _midi_hz(midi))
                _place(out, start, _additive(f0, sr, amps) * _env(step, sr, 0.005, decay))
        out = self._rests("bass", out)
        return np.stack([out, out], axis=1)

    def vocals(self):
        rng, sr, beat = self.rng, self.sr, self.beat
        vib_rate, vib_depth = rng.uniform(4.5, 6.5), rng.uniform(0.15, 0.5)
        tilt = rng.uniform(0.8, 1.5)
        octave = 2 if rng.random() < 0.5 else 1
        if self.x is not None and self.x.random() < 0.4:    # a straight voice: no vibrato to give it away
            vib_depth = self.x.uniform(0.0, 0.05)
        out = np.zeros(self.n)
        pos = 0
        while pos < self.n:
            dur = int(beat * rng.choice([1, 1, 2, 2, 3]))
            if rng.random() < 0.2:  # breath
                pos += dur
                continue
            bar = min(pos // (4 * beat), self.n_bars - 1)
            chord = self.chords[bar]
            degree = chord + rng.choice([0, 2, 4, 0, 2, 4, 1, 5])
            t = np.arange(dur) / sr
            f0 = _midi_hz(self.degree_midi(degree, octave)) * 2.0 ** (
                vib_depth * np.minimum(t / 0.3, 1.0) * np.sin(2 * np.pi * vib_rate * t) / 12.0)
            formants = VOWELS[int(rng.integers(len(VOWELS)))] * rng.uniform(0.9, 1.1)
            f_mean = float(f0.mean())
            amps = []
            for k in range(1, int(sr / 2 / (f_mean * 1.05))):
                fk = k * f_mean
                resonance = sum(np.exp(-0.5 * ((fk - F) / (0.08 * F + 60)) ** 2) / (i + 1)
                                for i, F in enumerate(formants))
                amps.append((0.05 + resonance) / k ** tilt)
            _place(out, pos, _additive(f0, sr, amps) * _env(dur, sr, 0.04, dur / sr * 0.8))
            pos += dur
        out = self._rests("vocals", out)
        return np.stack([out, out], axis=1)

    def other(self):
        rng, sr, beat = self.rng, self.sr, self.beat
        n_harm = int(rng.integers(3, 10))
        amps = [rng.uniform(0.3, 1.0) / k for k in range(1, n_harm + 1)]
        arpeggio = rng.random() < 0.5
        pan = rng.uniform(-0.8, 0.8)
        decay = rng.uniform(0.2, 1.2)
        octave, lead = 1, None
        if self.x is not None:
            octave = int(self.x.choice([0, 1, 1]))          # 0: in the bass register
            if self.x.random() < 0.5:                      # a vocal-like lead: vibrato and one vowel's formants
                formants = VOWELS[int(self.x.integers(len(VOWELS)))] * self.x.uniform(0.9, 1.1)
                lead = (self.x.uniform(4.5, 6.5), self.x.uniform(0.15, 0.4), formants)
        out = np.zeros(self.n)

        def tone(f0):
            if lead is None:
                return _additive(f0, sr, amps)
            rate, depth, formants = lead
            t = np.arange(len(f0)) / sr
            f0 = f0 * 2.0 ** (depth * np.sin(2 * np.pi * rate * t) / 12.0)
            f_mean = float(f0.mean())
            shaped = [a * (0.05 + sum(np.exp(-0.5 * ((k * f_mean - F) / (0.08 * F + 60)) ** 2) / (i + 1)
                                      for i, F in enumerate(formants)))
                      for k, a in enumerate(amps, start=1)]
            return _additive(f0, sr, shaped)

        for bar, degree in enumerate(self.chords):
            notes = self.triad(degree, octave)
            bar_start = bar * 4 * beat
            if arpeggio:
                step = beat // 2
                for s in range(8):
                    f0 = np.full(step * 2, _midi_hz(notes[s % 3] + (12 if s >= 4 else 0)))
                    _place(out, bar_start + s * step, tone(f0) * _env(2 * step, sr, 0.003, decay / 3))
            else:
                for m in notes:
                    f0 = np.full(4 * beat, _midi_hz(m))
                    _place(out, bar_start, 0.6 * tone(f0) * _env(4 * beat, sr, 0.05, decay * 2))
        out = self._rests("other", out)
        gl, gr = np.sqrt(0.5 * (1 - pan)), np.sqrt(0.5 * (1 + pan))
        return np.stack([gl * out, gr * out], axis=1)


def render_song(seed: int, split: str, index: int, sample_rate: int,
                min_seconds: float, max_seconds: float, entangled: bool = False) -> dict[str, np.ndarray]:
    """All four stems of one song, float32 (T, 2); the mixture is their sum."""
    split_id = SPLITS.index(split)
    rng = np.random.default_rng([seed, split_id, index])
    seconds = rng.uniform(min_seconds, max_seconds)
    song = _Song(rng, sample_rate, seconds,
                 np.random.default_rng([seed, split_id, index, 7]) if entangled else None)
    stems = {name: getattr(song, name)() for name in ("drums", "bass", "vocals", "other")}
    # One small stereo room per song: decorrelated left/right tails, so no stem is
    # exactly mono (L == R makes BSS Eval's filter fit singular, as in real mono stems).
    from scipy.signal import fftconvolve  # here, not at import: scipy.signal costs every CLI call 1.5 s

    n_ir = int(0.05 * sample_rate)
    decay = np.exp(-np.arange(n_ir) / (0.012 * sample_rate))
    room = rng.standard_normal((2, n_ir)) * decay
    room /= np.sqrt((room ** 2).sum(axis=1, keepdims=True))
    for name in stems:
        send = rng.uniform(0.15, 0.35)
        dry = stems[name]
        wet = np.stack([fftconvolve(dry[:, c], room[c])[: len(dry)] for c in range(2)], axis=1)
        stems[name] = dry + send * wet
    # Per-song balance, then one common gain so the mixture never clips.
    for name in stems:
        rms = np.sqrt(np.mean(stems[name] ** 2)) + 1e-9
        stems[name] *= 10 ** (rng.uniform(-6, 0) / 20) * 0.1 / rms
    peak = np.abs(sum(stems.values())).max()
    gain = 0.9 / peak if peak > 0.9 else 1.0
    return {name: (stems[name] * gain).astype(np.float32) for name in STEMS}


def build_corpus(root: str | Path, spec: SynthSpec, progress=print) -> Path:
    """Write the corpus as root/{train,test}/<name>/{mixture,vocals,drums,bass,other}.wav."""
    root = Path(root)
    for split in SPLITS:
        subset = "test" if split == "test" else "train"
        names = track_names(spec, split)
        for index, name in enumerate(names):
            folder = root / subset / name
            folder.mkdir(parents=True, exist_ok=True)
            stems = render_song(spec.seed, split, index, spec.sample_rate, spec.min_seconds, spec.max_seconds,
                                spec.entangled)
            for stem, audio in stems.items():
                sf.write(folder / f"{stem}.wav", audio, spec.sample_rate, subtype="PCM_16")
            sf.write(folder / "mixture.wav", sum(stems.values()), spec.sample_rate, subtype="PCM_16")
            progress(f"[synth] {split} {index + 1}/{len(names)}: {name}")
    manifest = {"sample_rate": spec.sample_rate, "seed": spec.seed,
                "splits": {split: track_names(spec, split) for split in SPLITS}}
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return root
