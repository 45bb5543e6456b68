"""TFC-TDF-UNet v3 (Kim & Kim, KUIELab, SDX 2023 leaderboard A winner).

Complex-as-channels STFT in, waveforms out: the U-Net predicts the complex
spectrogram of every source and the iSTFT brings it back to samples, so the
waveform MSE of Paper A trains the whole chain. Shapes in comments use
B batch, C audio channels, S sources, F frequency bins, T frames, K subbands.
Defaults follow the sdx23 `mdx_C` MUSDB config (model1).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.utils.checkpoint


@dataclass
class TFCTDFConfig:
    sample_rate: int = 44100
    n_fft: int = 8192
    hop_length: int = 2048
    dim_f: int = 4096            # bins kept: n_fft/2 drops only the Nyquist bin
    dim_t: int = 128             # frames per training chunk -> chunk = hop * (dim_t - 1) ~ 6 s
    audio_channels: int = 2
    num_sources: int = 4
    num_channels: int = 128
    growth: int = 64
    num_scales: int = 5
    scale: tuple[int, int] = (2, 2)   # (time, frequency) down-sampling per scale
    num_subbands: int = 4
    num_blocks_per_scale: int = 2
    bottleneck_factor: int = 4
    norm: str = "InstanceNorm"
    act: str = "gelu"

    @property
    def chunk_size(self) -> int:
        return self.hop_length * (self.dim_t - 1)

    @classmethod
    def from_dict(cls, d: dict) -> "TFCTDFConfig":
        d = {k: v for k, v in d.items() if k != "name"}
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown tfc_tdf_v3 model keys: {sorted(unknown)}")
        if "scale" in d:
            d["scale"] = tuple(d["scale"])
        return cls(**d)


def _full_precision(device: torch.device):
    """Autocast off on devices that have it (not on meta, where FLOPs are counted)."""
    if torch.amp.is_autocast_available(device.type):
        return torch.autocast(device_type=device.type, enabled=False)
    return contextlib.nullcontext()


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "InstanceNorm":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "BatchNorm":
        return nn.BatchNorm2d(channels)
    if kind.startswith("GroupNorm"):
        return nn.GroupNorm(int(kind[len("GroupNorm"):]), channels)
    raise ValueError(f"unknown norm {kind!r}")


def _act(kind: str) -> nn.Module:
    return {"gelu": nn.GELU, "relu": nn.ReLU}[kind]()


def _pre(cfg: TFCTDFConfig, channels: int, layer: nn.Module) -> nn.Sequential:
    """Pre-activation: norm -> act -> layer, as everywhere in v3."""
    return nn.Sequential(_norm(cfg.norm, channels), _act(cfg.act), layer)


class TFCTDF(nn.Module):
    """l blocks of: TFC (3x3 conv) -> + TDF (bottlenecked linear along frequency) -> TFC, residual."""

    def __init__(self, cfg: TFCTDFConfig, in_c: int, c: int, f: int):
        super().__init__()
        self.blocks = nn.ModuleList()
        bn = cfg.bottleneck_factor
        for _ in range(cfg.num_blocks_per_scale):
            block = nn.Module()
            block.tfc1 = _pre(cfg, in_c, nn.Conv2d(in_c, c, 3, 1, 1, bias=False))
            # TDF acts on the last axis, which is frequency here (x is B, c, T, F).
            block.tdf = nn.Sequential(
                _pre(cfg, c, nn.Linear(f, f // bn, bias=False)),
                _pre(cfg, c, nn.Linear(f // bn, f, bias=False)),
            )
            block.tfc2 = _pre(cfg, c, nn.Conv2d(c, c, 3, 1, 1, bias=False))
            block.shortcut = nn.Conv2d(in_c, c, 1, 1, 0, bias=False)
            self.blocks.append(block)
            in_c = c

    def forward(self, x):
        for block in self.blocks:
            skip = block.shortcut(x)
            x = block.tfc1(x)
            x = x + block.tdf(x)
            x = block.tfc2(x) + skip
        return x


class TFCTDFNet(nn.Module):
    def __init__(self, cfg: TFCTDFConfig = TFCTDFConfig()):
        super().__init__()
        self.cfg = cfg
        k = cfg.num_subbands
        if cfg.dim_f % (k * cfg.scale[1] ** cfg.num_scales):
            raise ValueError(f"dim_f={cfg.dim_f} must be divisible by num_subbands * scale_f**num_scales")
        dim_c = 2 * cfg.audio_channels * k       # real/imag x audio channels x subbands
        c, g, f = cfg.num_channels, cfg.growth, cfg.dim_f // k
        self.first_conv = nn.Conv2d(dim_c, c, 1, 1, 0, bias=False)
        self.encoder = nn.ModuleList()
        for _ in range(cfg.num_scales):
            block = nn.Module()
            block.tfc_tdf = TFCTDF(cfg, c, c, f)
            block.down = _pre(cfg, c, nn.Conv2d(c, c + g, cfg.scale, cfg.scale, bias=False))
            self.encoder.append(block)
            f //= cfg.scale[1]
            c += g
        self.bottleneck = TFCTDF(cfg, c, c, f)
        self.decoder = nn.ModuleList()
        for _ in range(cfg.num_scales):
            block = nn.Module()
            block.up = _pre(cfg, c, nn.ConvTranspose2d(c, c - g, cfg.scale, cfg.scale, bias=False))
            f *= cfg.scale[1]
            c -= g
            block.tfc_tdf = TFCTDF(cfg, 2 * c, c, f)
            self.decoder.append(block)
        self.final_conv = nn.Sequential(
            nn.Conv2d(c + dim_c, c, 1, 1, 0, bias=False),
            _act(cfg.act),
            nn.Conv2d(c, cfg.num_sources * dim_c, 1, 1, 0, bias=False),
        )
        self.register_buffer("window", torch.hann_window(cfg.n_fft, periodic=True), persistent=False)

    # -- STFT with complex values as channels --------------------------------
    # Both transforms run in float32 whatever the autocast: complex bf16 does not exist
    # (view_as_complex refuses it) and an 8192-point FFT in fp16 would lose the quiet bins.
    def stft(self, x):
        """(B, C, L) -> (B, 2C, dim_f, T): channels ordered (C, re/im), float32."""
        B, C, L = x.shape
        with _full_precision(x.device):
            spec = torch.stft(x.reshape(B * C, L).float(), self.cfg.n_fft, self.cfg.hop_length,
                              window=self.window, center=True, return_complex=True)
        spec = torch.view_as_real(spec)                       # (B*C, F, T, 2)
        spec = spec.permute(0, 3, 1, 2).reshape(B, 2 * C, -1, spec.shape[2])
        return spec[:, :, : self.cfg.dim_f]

    def istft(self, spec, length: int):
        """(B, S, 2C, dim_f, T), any float dtype -> float32 (B, S, C, length); the dropped top bins come back as zeros."""
        B, S, C2, F, T = spec.shape
        n_bins = self.cfg.n_fft // 2 + 1
        with _full_precision(spec.device):
            spec = nn.functional.pad(spec.float(), (0, 0, 0, n_bins - F))
            spec = spec.reshape(B * S * C2 // 2, 2, n_bins, T).permute(0, 2, 3, 1).contiguous()
            wav = torch.istft(torch.view_as_complex(spec), self.cfg.n_fft, self.cfg.hop_length,
                              window=self.window, center=True, length=length)
        return wav.reshape(B, S, C2 // 2, length)

    def _to_subbands(self, x):   # (B, c, K*f, T) -> (B, c*K, f, T)
        B, c, F, T = x.shape
        return x.reshape(B, c * self.cfg.num_subbands, F // self.cfg.num_subbands, T)

    def _from_subbands(self, x):  # (B, c*K, f, T) -> (B, c, K*f, T)
        B, c, f, T = x.shape
        return x.reshape(B, c // self.cfg.num_subbands, f * self.cfg.num_subbands, T)

    def checkpoint_activations(self, on: bool = True) -> None:
        """Recompute each TFC-TDF block in the backward pass instead of keeping its activations
        (train.checkpoint_activations): the same function and gradients, less memory, more compute."""
        if on and self.cfg.norm == "BatchNorm":
            raise ValueError("train.checkpoint_activations with norm BatchNorm would update its running "
                             "statistics twice per step; use InstanceNorm or GroupNorm, or no checkpointing")
        self._checkpoint = on

    def _run(self, block, x):
        if getattr(self, "_checkpoint", False) and torch.is_grad_enabled():
            return torch.utils.checkpoint.checkpoint(block, x, use_reentrant=False)
        return block(x)

    def forward(self, mixture):
        """mixture (B, C, L) -> source waveforms (B, S, C, L)."""
        length = mixture.shape[-1]
        n_frames = length // self.cfg.hop_length + 1
        factor = self.cfg.scale[0] ** self.cfg.num_scales
        if n_frames % factor:
            raise ValueError(f"input of {length} samples gives {n_frames} STFT frames; the U-Net needs a "
                             f"multiple of {factor} (use chunks of hop_length * (dim_t - 1) samples)")
        mix = x = self._to_subbands(self.stft(mixture))
        first = x = self.first_conv(x)
        x = x.transpose(-1, -2)                              # (B, c, T, f): TDF acts on f
        skips = []
        for block in self.encoder:
            x = self._run(block.tfc_tdf, x)
            skips.append(x)
            x = block.down(x)
        x = self._run(self.bottleneck, x)
        for block in self.decoder:
            x = block.up(x)
            x = self._run(block.tfc_tdf, torch.cat([x, skips.pop()], 1))
        x = x.transpose(-1, -2)
        x = x * first                                        # multiplicative skip: fewer artifacts (sdx23)
        x = self._from_subbands(self.final_conv(torch.cat([mix, x], 1)))
        B, _, F, T = x.shape
        return self.istft(x.reshape(B, self.cfg.num_sources, -1, F, T), length)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
