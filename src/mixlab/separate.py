"""Full-track separation by windowed overlap-add of fixed-size chunks."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf
import torch

from mixlab.data.layout import STEMS

WINDOWS = ("hann", "boxcar")


def _window(kind: str, n: int) -> torch.Tensor:
    if kind == "hann":
        return torch.hann_window(n, periodic=False, dtype=torch.float64)
    if kind == "boxcar":
        return torch.ones(n, dtype=torch.float64)
    raise ValueError(f"unknown window {kind!r}; choose one of {WINDOWS}")


@torch.inference_mode()
def overlap_add(model: Callable[[torch.Tensor], torch.Tensor], mixture: torch.Tensor, chunk: int,
                overlap: float = 0.5, window: str = "hann", batch_size: int = 4,
                autocast: torch.dtype | None = None, progress: Callable[[int, int], None] | None = None) -> torch.Tensor:
    """mixture (C, L) -> estimates (S, C, L).

    The track is padded by chunk - hop on the left so every real sample lies
    strictly inside some window; output is divided by the summed window, so an
    identity model reconstructs its input exactly. `autocast` (e.g. torch.bfloat16,
    as the authors of Paper B separate on GPUs) runs the model under autocast;
    the overlap-add stays in float64. `progress(done, total)` is called after every batch of chunks.
    """
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap must lie in [0, 1), got {overlap}")
    hop = chunk - int(round(overlap * chunk))
    if window == "hann" and hop >= chunk - 1:
        raise ValueError("a hann window needs overlap > 0 (its end samples are zero); use window=boxcar")
    C, L = mixture.shape
    left = chunk - hop
    n_chunks = int(np.ceil((left + L) / hop))
    total = (n_chunks - 1) * hop + chunk
    padded = torch.nn.functional.pad(mixture, (left, total - left - L))
    w = _window(window, chunk).to(mixture.device)
    out = None
    weight = torch.zeros(total, dtype=torch.float64, device=mixture.device)
    starts = list(range(0, total - chunk + 1, hop))
    for i in range(0, len(starts), batch_size):
        group = starts[i:i + batch_size]
        with torch.autocast(device_type=mixture.device.type, dtype=autocast or torch.float32,
                            enabled=autocast is not None):
            est = model(torch.stack([padded[:, s:s + chunk] for s in group]))  # (b, S, C, chunk)
        if out is None:
            out = torch.zeros((est.shape[1], C, total), dtype=torch.float64, device=mixture.device)
        for s, e in zip(group, est):
            out[..., s:s + chunk] += e.double() * w
            weight[s:s + chunk] += w
        if progress is not None:
            progress(i + len(group), len(starts))
    return (out / weight.clamp_min(1e-12))[..., left:left + L].to(mixture.dtype)


def write_estimates(folder: str | Path, estimates: np.ndarray, sample_rate: int, stems=STEMS) -> None:
    """estimates (S, C, L) -> folder/<stem>.wav, float WAV so scoring sees no quantization."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for stem, audio in zip(stems, estimates):
        sf.write(folder / f"{stem}.wav", audio.T, sample_rate, subtype="FLOAT")


# ---- a song by hand: any file, any rate, the settings the model file carries

SETTINGS = ("dim_t", "chunk_seconds", "overlap", "window", "batch_size", "amp", "cpu_amp")
AUDIO_FIX = "give a WAV, FLAC, OGG or MP3 file, or a track folder holding mixture.wav or the four stems"


def settings_of(spec: dict, overrides: dict | None = None) -> dict:
    """The separation settings of a model file's spec (what the workflow separated it with), overridden by hand.

    A model file written before models carried them, or imported without them, has none: then the
    training chunk and overlap_add's defaults apply."""
    from mixlab.config import ConfigError

    s = {**(spec.get("separate") or {}), **{k: v for k, v in (overrides or {}).items() if v is not None}}
    unknown = sorted(set(s) - set(SETTINGS))
    if unknown:
        raise ConfigError(f"separation settings: unknown key(s) {', '.join(map(repr, unknown))}; "
                          f"known: {', '.join(SETTINGS)}")
    if overrides:
        # a chunk given by hand in one unit replaces the file's in the other
        if overrides.get("dim_t") is not None:
            s.pop("chunk_seconds", None)
        if overrides.get("chunk_seconds") is not None:
            s.pop("dim_t", None)
    if "dim_t" in s and "chunk_seconds" in s:
        raise ConfigError("separate: give the chunk as dim_t (STFT frames) or chunk_seconds, not both")
    return s


def chunk_of(cfg, settings: dict) -> int:
    """Samples per overlap-add chunk: chunk_seconds (Paper B), dim_t STFT frames (TFC-TDF), else the training chunk."""
    if "chunk_seconds" in settings:
        return int(round(settings["chunk_seconds"] * cfg.sample_rate))
    if hasattr(cfg, "dim_t"):
        return cfg.hop_length * (settings.get("dim_t", cfg.dim_t) - 1)
    return cfg.chunk_size


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """(channels, samples) float32 and the rate of an audio file, or of a track folder's mixture."""
    from mixlab.data.tracks import load_mixture, wav_info
    from mixlab.errors import InputError

    path = Path(path)
    if path.is_dir():         # a track of a corpus (MUSDB18-HQ layout)
        if (path / "mixture.wav").exists():
            path = path / "mixture.wav"
        elif (path / f"{STEMS[0]}.wav").exists():
            rate = wav_info(path / f"{STEMS[0]}.wav", None).samplerate
            return np.ascontiguousarray(load_mixture(path, rate).T), rate
        else:
            raise InputError(f"{path}: a folder with neither mixture.wav nor the stems; {AUDIO_FIX}")
    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
        audio = audio.T
    except Exception:  # noqa: BLE001 -- libsndfile lacks the format (e.g. an old build without MP3): try FFmpeg-free pedalboard
        try:
            from pedalboard.io import AudioFile

            with AudioFile(str(path)) as f:
                audio, rate = f.read(f.frames).astype(np.float32), int(round(f.samplerate))
        except Exception as exc:  # noqa: BLE001
            raise InputError(f"{path}: not a readable audio file ({str(exc).strip() or type(exc).__name__}); "
                             f"{AUDIO_FIX}") from None
    if audio.shape[1] == 0:
        raise InputError(f"{path}: no samples (an empty file); {AUDIO_FIX}")
    if audio.shape[0] > 2:
        raise InputError(f"{path}: {audio.shape[0]} channels; the models separate mono or stereo -- "
                         "downmix it first (e.g. ffmpeg -i IN -ac 2 OUT.wav)")
    return np.ascontiguousarray(audio), int(rate)


def resample(audio: np.ndarray, src: int, dst: int) -> np.ndarray:
    """(C, T) -> (C, round(T * dst / src)): polyphase, Kaiser-windowed (scipy); identity at equal rates."""
    if src == dst:
        return audio
    from mixlab.data.musdb_import import resample as resample_tc

    return np.ascontiguousarray(resample_tc(audio.T, src, dst).T)


def stem_names(n: int) -> tuple[str, ...]:
    """The four MUSDB stems, or output0..N-1 for a MixIT model's N outputs."""
    return tuple(STEMS) if n == len(STEMS) else tuple(f"output{i}" for i in range(n))


def separate_audio(model, audio: np.ndarray, rate: int, settings: dict, device, log=None, progress=None) -> np.ndarray:
    """(C, L) at `rate` -> stems (S, C, L) at `rate`: resampled to the model's rate and back, mono as stereo and back."""
    from mixlab.train.engine import amp_dtype

    cfg = model.cfg
    how = {k: settings[k] for k in ("overlap", "window", "batch_size") if k in settings}
    how["autocast"] = amp_dtype(settings.get("amp", "fp32"), torch.device(device), log or (lambda m: None),
                                settings.get("cpu_amp", "fp32"), key="separate")
    channels, length = audio.shape
    x = resample(audio, rate, cfg.sample_rate)
    if channels == 1:           # the models are stereo: a mono song enters as two equal channels
        x = np.concatenate([x, x])
    est = overlap_add(model, torch.from_numpy(x).to(device), chunk_of(cfg, settings), progress=progress, **how)
    est = est.cpu().numpy()
    if channels == 1:
        est = est.mean(1, keepdims=True)
    est = np.stack([resample(e, cfg.sample_rate, rate) for e in est])
    if est.shape[-1] < length:     # rounding of the rate ratio: the stems keep the song's length exactly
        est = np.pad(est, [(0, 0), (0, 0), (0, length - est.shape[-1])])
    return np.ascontiguousarray(est[..., :length])
