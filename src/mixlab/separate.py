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
                autocast: torch.dtype | None = None) -> torch.Tensor:
    """mixture (C, L) -> estimates (S, C, L).

    The track is padded by chunk - hop on the left so every real sample lies
    strictly inside some window; output is divided by the summed window, so an
    identity model reconstructs its input exactly. `autocast` (e.g. torch.bfloat16,
    as the authors of Paper B separate on GPUs) runs the model under autocast;
    the overlap-add stays in float64.
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
    return (out / weight.clamp_min(1e-12))[..., left:left + L].to(mixture.dtype)


def write_estimates(folder: str | Path, estimates: np.ndarray, sample_rate: int, stems=STEMS) -> None:
    """estimates (S, C, L) -> folder/<stem>.wav, float WAV so scoring sees no quantization."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for stem, audio in zip(stems, estimates):
        sf.write(folder / f"{stem}.wav", audio.T, sample_rate, subtype="FLOAT")
