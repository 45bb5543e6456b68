"""BS-Locoformer: band-split encoder, TF-Locoformer blocks, band-wise mask decoder (Paper B).

Saijo et al.'s TF-Locoformer (ICASSP 2025 / TUSS) with the BS-RoFormer band
split, as the MixIT paper uses it for stereo music. Shapes in comments use
B batch, M audio channels, N outputs, T frames, F bins, Q bands, D embedding.

- Band-split encoder: the complex STFT of all M channels, 2*M*b_q real values
  per frame in band q, goes through GroupNorm and a 1x1 conv to D.
- B TF-Locoformer blocks, each a frequency path (attention across the Q bands
  of a frame) then a time path (across the T frames of a band). A path is
  macaron-style: x += FFN(norm x); x += MHSA(norm x); x += FFN(norm x), with
  SwiGLU FFNs built from a 1-D conv (kernel K, stride S) and its transposed
  conv along the sequence, so the FFN sees local context. No positional
  encoding (the paper removed it; the official model has none); `rope: true`
  adds RoPE in attention (MERL's TUSS variant). RMSGroupNorm with G groups.
  Dropout p (official 0.1) on the attention weights, after the attention output
  projection, after the SwiGLU gate and after each FFN.
- Band-wise decoder GN -> 1x1 conv D->4D -> 1x1 conv 4D->4D -> tanh -> 1x1 conv
  -> GLU (the official layout: one tanh, after the second conv) to a complex
  mask per output, channel and bin; masks multiply the mixture STFT and the
  iSTFT returns waveforms.
- Official wrapper behaviour (mixit-mss model_wrapper.py), both switches:
  `input_scaling` divides each channel of the mixture by its STFT RMS
  s = sqrt(mean_{f,t} max(|X(f,t)|^2, 1e-15)) and multiplies the outputs by s;
  `drop_last_frame` keeps only the first L // hop STFT frames (the official
  code's slice; the iSTFT then has no frame centred on the last hop of samples).
Sizes (paper Sec. 4): small B4 D96 C128 H4 G4, medium B6 D128 C192 H8 G8,
large B9 D192 C256 (H and G of large are not stated; 8 and 8 here); K 8, S 1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.utils.checkpoint
import torch.nn as nn
import torch.nn.functional as F

# BS-RoFormer's band split: (upper edge in Hz, bins per band) from 0 Hz; the rest in two bands
BAND_SPLIT = ((1000, 2), (2000, 4), (4000, 12), (8000, 24), (16000, 48))

SIZES = {
    "small": dict(n_blocks=4, emb_dim=96, ffn_dim=128, n_heads=4, n_groups=4),
    "medium": dict(n_blocks=6, emb_dim=128, ffn_dim=192, n_heads=8, n_groups=8),
    "large": dict(n_blocks=9, emb_dim=192, ffn_dim=256, n_heads=8, n_groups=8),
}


@dataclass
class BSLocoformerConfig:
    sample_rate: int = 44100
    n_fft: int = 2048
    hop_length: int = 512
    audio_channels: int = 2
    n_outputs: int = 12          # N: 12 for MixIT pre-training, 4 stems when fine-tuning
    n_blocks: int = 6
    emb_dim: int = 128
    ffn_dim: int = 192
    n_heads: int = 8
    n_groups: int = 8
    conv_kernel: int = 8
    conv_stride: int = 1
    chunk_seconds: float = 6.0
    eps: float = 1e-5
    rope: bool = False             # the paper removed positional encoding; the authors' model has none
    dropout: float = 0.1           # paper silent; the authors' configs: 0.1 (attention and FFNs)
    input_scaling: bool = True     # paper silent; the authors' wrapper (scaling: true in every config)
    drop_last_frame: bool = False  # the authors' code drops it (x[..., :L // hop]); on to evaluate released models

    @property
    def chunk_size(self) -> int:
        return int(round(self.chunk_seconds * self.sample_rate))

    @classmethod
    def from_dict(cls, d: dict) -> "BSLocoformerConfig":
        d = {k: v for k, v in d.items() if k != "name"}
        size = d.pop("size", None)
        if size is not None and size not in SIZES:
            raise ValueError(f"unknown bs_locoformer size {size!r}; known: {sorted(SIZES)}")
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown bs_locoformer model keys: {sorted(unknown)}")
        return replace(cls(**SIZES.get(size, {})), **d)


def band_widths(sample_rate: int, n_fft: int) -> list[int]:
    """Bins per band; every bin of the one-sided spectrum belongs to exactly one band.

    At 44.1 kHz and n_fft 2048: 62 bands. At lower rates or shorter FFTs the
    split runs out of bins early; its last band then takes what is left.
    """
    n_bins = n_fft // 2 + 1
    hz_per_bin = sample_rate // 2 / n_bins
    widths, lo = [], 0
    for hi, width in BAND_SPLIT:
        widths += [width] * math.ceil((hi - lo) / (width * hz_per_bin))
        lo = hi
    out, used = [], 0
    for w in widths:
        if used + w >= n_bins:
            return out + [n_bins - used]
        out.append(w)
        used += w
    rest = n_bins - used
    return out + [w for w in (rest // 2, rest - rest // 2) if w > 0]


class RMSGroupNorm(nn.Module):
    """RMS normalisation over groups of channels at every TF point, learned gain, no bias."""

    def __init__(self, groups: int, dim: int, eps: float):
        super().__init__()
        if dim % groups:
            raise ValueError(f"emb_dim {dim} is not divisible by n_groups {groups}")
        self.groups, self.eps = groups, eps
        self.gain = nn.Parameter(torch.ones(dim))

    def forward(self, x):                                   # (..., D)
        return _RMSGroupNormFn.apply(x, self.gain, self.groups, self.eps)


# Memory: the three functions below compute what plain autograd computes, in the same operations and order
# (bitwise-equal outputs and gradients, tests/test_bs_locoformer.py), but keep less for the backward pass:
# the input and the per-group RMS instead of two full-size fp32 tensors per norm; the decoder's bf16
# products instead of fp32 sums, sigmoids and tanh outputs; the FFN's conv output instead of silu(gate) too.
# Together 4.09 -> 2.99 GiB kept per 6 s example of the medium model (the authors' model: 3.30; BENCHMARKS.md).
class _RMSGroupNormFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, gain, groups, eps):
        shape = x.shape
        g = x.float().reshape(*shape[:-1], groups, -1)
        rms = g.square().mean(-1, keepdim=True).sqrt()
        ctx.save_for_backward(x, rms, gain)
        ctx.groups, ctx.eps = groups, eps
        return ((g / (rms + eps)).reshape(shape) * gain).to(x.dtype)

    @staticmethod
    def backward(ctx, dy):
        x, rms, gain = ctx.saved_tensors
        shape = x.shape
        g = x.float().reshape(*shape[:-1], ctx.groups, -1)
        den = rms + ctx.eps
        dy = dy.to(torch.float32)
        dgain = None
        if ctx.needs_input_grad[1]:
            dgain = (dy * (g / den).reshape(shape)).sum(tuple(range(dy.dim() - 1)))
        dn = (dy * gain).reshape(g.shape)
        dg = dn / den
        dden = (-dn * ((g / den) / den)).sum(-1, keepdim=True)
        dsq = (dden / (2 * rms)).expand(g.shape) / g.shape[-1]
        dg = dg + dsq * (2.0 * g.pow(1.0))
        return dg.reshape(shape).to(x.dtype), dgain, None, None


class _BiasTanhFn(torch.autograd.Function):
    """tanh(e + b): keeps the (low-precision) product e, not the fp32 output."""

    @staticmethod
    def forward(ctx, e, b):
        ctx.save_for_backward(e, b)
        return torch.tanh(e + b)

    @staticmethod
    def backward(ctx, dout):
        e, b = ctx.saved_tensors
        dy = torch.ops.aten.tanh_backward(dout, torch.tanh(e + b))
        return dy.to(e.dtype), dy.sum(tuple(range(dy.dim() - b.dim())))


class _BiasGLUFn(torch.autograd.Function):
    """value * sigmoid(gate) of (e + b) split in halves: keeps e, not the fp32 sum and sigmoid."""

    @staticmethod
    def forward(ctx, e, b):
        value, gate = (e + b).chunk(2, dim=-1)
        ctx.save_for_backward(e, b)
        return value * torch.sigmoid(gate)

    @staticmethod
    def backward(ctx, dout):
        e, b = ctx.saved_tensors
        value, gate = (e + b).chunk(2, dim=-1)
        s = torch.sigmoid(gate)
        dy = torch.cat([dout * s, torch.ops.aten.sigmoid_backward(dout * value, s)], dim=-1)
        return dy.to(e.dtype), dy.sum(tuple(range(dy.dim() - b.dim())))


class _SwiGLUFn(torch.autograd.Function):
    """h[:, :H] * silu(h[:, H:]) along channels: keeps h, not silu(gate) as well."""

    @staticmethod
    def forward(ctx, h, hidden):
        ctx.save_for_backward(h)
        ctx.hidden = hidden
        return h[:, :hidden] * F.silu(h[:, hidden:])

    @staticmethod
    def backward(ctx, dout):
        (h,) = ctx.saved_tensors
        a, g = h[:, :ctx.hidden], h[:, ctx.hidden:]
        return torch.cat([dout * F.silu(g), torch.ops.aten.silu_backward(dout * a, g)], dim=1), None


class Rotary(nn.Module):
    """Rotary position embedding on adjacent feature pairs (base 10000), applied in float32."""

    def __init__(self, head_dim: int):
        super().__init__()
        self.register_buffer("inv_freq", 1.0 / 10000 ** (torch.arange(0, head_dim, 2).float() / head_dim),
                             persistent=False)

    def forward(self, x):                                   # (batch, heads, seq, head_dim)
        pos = torch.arange(x.shape[-2], device=x.device, dtype=torch.float32)
        angles = pos[:, None] * self.inv_freq[None]          # (seq, head_dim/2)
        cos, sin = angles.cos(), angles.sin()
        xf = x.float().unflatten(-1, (-1, 2))
        a, b = xf[..., 0], xf[..., 1]
        return torch.stack([a * cos - b * sin, a * sin + b * cos], -1).flatten(-2).to(x.dtype)


class SelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int, rope: bool = False, dropout: float = 0.0):
        super().__init__()
        if dim % heads:
            raise ValueError(f"emb_dim {dim} is not divisible by n_heads {heads}")
        self.heads, self.p = heads, dropout
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.out = nn.Linear(dim, dim, bias=False)
        self.rope = Rotary(dim // heads) if rope else nn.Identity()
        self.drop = nn.Dropout(dropout)

    def forward(self, x):                                   # (batch, seq, D)
        q, k, v = self.qkv(x).unflatten(-1, (3, self.heads, -1)).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(self.rope(q), self.rope(k), v,
                                           dropout_p=self.p if self.training else 0.0)
        return self.drop(self.out(y.transpose(1, 2).flatten(2)))


class SwiGLUConvFFN(nn.Module):
    """SwiGLU whose in/out projections are a 1-D conv and its transposed conv along the sequence."""

    def __init__(self, dim: int, hidden: int, kernel: int, stride: int, dropout: float = 0.0):
        super().__init__()
        self.kernel, self.stride, self.hidden = kernel, stride, hidden
        self.conv = nn.Conv1d(dim, 2 * hidden, kernel, stride=stride)
        self.deconv = nn.ConvTranspose1d(hidden, dim, kernel, stride=stride)
        self.drop = nn.Dropout(dropout)            # used twice, as the official SwiGLUConvDeconv1d does

    def forward(self, x):                                   # (batch, seq, D)
        L = x.shape[1]
        pad = self.kernel - self.stride                      # every output sees a full kernel
        total = math.ceil((L + 2 * pad - self.kernel) / self.stride) * self.stride + self.kernel
        h = self.conv(F.pad(x.transpose(1, 2), (pad, total - L - pad)))
        h = self.drop(_SwiGLUFn.apply(h, self.hidden))
        return self.drop(self.deconv(h)[..., pad:pad + L].transpose(1, 2))


class LocoformerPath(nn.Module):
    """Macaron block along one axis: FFN, attention, FFN, each pre-normed and residual."""

    def __init__(self, cfg: BSLocoformerConfig):
        super().__init__()
        D = cfg.emb_dim
        self.norms = nn.ModuleList([RMSGroupNorm(cfg.n_groups, D, cfg.eps) for _ in range(3)])
        self.ffn1 = SwiGLUConvFFN(D, cfg.ffn_dim, cfg.conv_kernel, cfg.conv_stride, cfg.dropout)
        self.attn = SelfAttention(D, cfg.n_heads, cfg.rope, cfg.dropout)
        self.ffn2 = SwiGLUConvFFN(D, cfg.ffn_dim, cfg.conv_kernel, cfg.conv_stride, cfg.dropout)

    def forward(self, x):                                   # (batch, seq, D)
        x = x + self.ffn1(self.norms[0](x))
        x = x + self.attn(self.norms[1](x))
        return x + self.ffn2(self.norms[2](x))


class TFLocoformerBlock(nn.Module):
    def __init__(self, cfg: BSLocoformerConfig):
        super().__init__()
        self.freq_path, self.time_path = LocoformerPath(cfg), LocoformerPath(cfg)

    def forward(self, x):                                   # (B, T, Q, D)
        B, T, Q, D = x.shape
        x = self.freq_path(x.reshape(B * T, Q, D)).reshape(B, T, Q, D)
        x = x.transpose(1, 2).reshape(B * Q, T, D)
        return self.time_path(x).reshape(B, Q, T, D).transpose(1, 2)


def _uniform(shape, fan_in):
    """nn.Conv1d/nn.Linear's default initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1.0 / math.sqrt(fan_in)
    return nn.Parameter(torch.empty(shape).uniform_(-bound, bound))


class _WidthGroups(nn.Module):
    """Bands grouped by width: every per-band layer runs as one batched matmul per distinct width
    (6 at 44.1 kHz) instead of one small kernel per band (62), with the same parameters per band."""

    def __init__(self, bands: list[int]):
        super().__init__()
        self.bands = bands
        starts = [sum(bands[:q]) for q in range(len(bands))]
        self.widths = sorted(set(bands))
        for i, w in enumerate(self.widths):
            members = [q for q, b in enumerate(bands) if b == w]
            self.register_buffer(f"bands_{i}", torch.tensor(members), persistent=False)
            self.register_buffer(f"bins_{i}", torch.tensor([[starts[q] + j for j in range(w)] for q in members]),
                                 persistent=False)

    def group(self, i):
        return getattr(self, f"bands_{i}"), getattr(self, f"bins_{i}")


class BandSplitEncoder(_WidthGroups):
    """Per band q: GroupNorm(1) over its 2*M*b_q real values x T frames, then a linear map to D."""

    def __init__(self, bands: list[int], audio_channels: int, dim: int, eps: float = 1e-5):
        super().__init__(bands)
        self.eps = eps
        self.norm_w, self.norm_b, self.proj_w, self.proj_b = (nn.ParameterList() for _ in range(4))
        for i, w in enumerate(self.widths):
            k, c = len(self.group(i)[0]), 2 * audio_channels * w
            self.norm_w.append(nn.Parameter(torch.ones(k, c)))
            self.norm_b.append(nn.Parameter(torch.zeros(k, c)))
            self.proj_w.append(_uniform((k, c, dim), c))
            self.proj_b.append(_uniform((k, dim), c))

    def forward(self, feats):                               # (B, F, M, 2, T) -> (B, T, Q, D)
        B, T = feats.shape[0], feats.shape[-1]
        out = feats.new_empty(B, T, len(self.bands), self.proj_w[0].shape[-1])
        for i in range(len(self.widths)):
            members, bins = self.group(i)
            x = feats[:, bins].flatten(2, 4)                 # (B, k, w*M*2, T): band values as channels
            mean = x.mean((2, 3), keepdim=True)
            var = x.var((2, 3), unbiased=False, keepdim=True)
            x = (x - mean) / torch.sqrt(var + self.eps) * self.norm_w[i][..., None] + self.norm_b[i][..., None]
            out[:, :, members] = torch.einsum("bkct,kcd->btkd", x, self.proj_w[i]) + self.proj_b[i]
        return out


class BandMaskDecoder(_WidthGroups):
    """Per band q: GroupNorm(1) over D x T, 1x1 conv D -> 4D (no activation), 1x1 conv 4D -> 4D, tanh,
    1x1 conv -> GLU to the complex masks of its b_q bins for N outputs and M channels (official layout,
    mixit-mss bslocoformer.py BandSplitModule.bandwise_decoding_module)."""

    def __init__(self, bands: list[int], audio_channels: int, n_outputs: int, dim: int, eps: float = 1e-5):
        super().__init__(bands)
        Q, H = len(bands), 4 * dim
        self.eps, self.N, self.M = eps, n_outputs, audio_channels
        self.norm_w = nn.Parameter(torch.ones(Q, dim))
        self.norm_b = nn.Parameter(torch.zeros(Q, dim))
        self.fc1_w, self.fc1_b = _uniform((Q, dim, H), dim), _uniform((Q, H), dim)
        self.fc2_w, self.fc2_b = _uniform((Q, H, H), H), _uniform((Q, H), H)
        self.out_w, self.out_b = nn.ParameterList(), nn.ParameterList()
        for i, w in enumerate(self.widths):
            k, o = len(self.group(i)[0]), 2 * (2 * n_outputs * audio_channels * w)   # value and gate halves
            self.out_w.append(_uniform((k, H, o), H))
            self.out_b.append(_uniform((k, o), H))

    def forward(self, z):                                   # (B, T, Q, D) -> masks (B, T, F, N, M, 2)
        B, T = z.shape[:2]
        mean = z.mean((1, 3), keepdim=True)
        var = z.var((1, 3), unbiased=False, keepdim=True)
        z = (z - mean) / torch.sqrt(var + self.eps) * self.norm_w + self.norm_b
        h = torch.einsum("btqd,qde->btqe", z, self.fc1_w) + self.fc1_b
        h = _BiasTanhFn.apply(torch.einsum("btqd,qde->btqe", h, self.fc2_w), self.fc2_b)
        F_ = sum(self.bands)
        masks = h.new_empty(B, T, F_, self.N, self.M, 2)
        for i, w in enumerate(self.widths):
            members, bins = self.group(i)
            e = torch.einsum("btke,keo->btko", h[:, :, members], self.out_w[i])
            m = _BiasGLUFn.apply(e, self.out_b[i]).reshape(B, T, len(members) * w, self.N, self.M, 2)
            masks[:, :, bins.flatten()] = m
        return masks


class BSLocoformer(nn.Module):
    def __init__(self, cfg: BSLocoformerConfig):
        super().__init__()
        self.cfg = cfg
        self.bands = band_widths(cfg.sample_rate, cfg.n_fft)
        M, N, D = cfg.audio_channels, cfg.n_outputs, cfg.emb_dim
        self.encoder = BandSplitEncoder(self.bands, M, D, cfg.eps)
        self.separator = nn.ModuleList([TFLocoformerBlock(cfg) for _ in range(cfg.n_blocks)])
        self.decoder = BandMaskDecoder(self.bands, M, N, D, cfg.eps)
        self.register_buffer("window", torch.hann_window(cfg.n_fft), persistent=False)

    def stft(self, x):                                      # (B, M, L) -> complex (B, M, F, T)
        B, M, L = x.shape
        spec = torch.stft(x.reshape(B * M, L).float(), self.cfg.n_fft, self.cfg.hop_length, window=self.window,
                          return_complex=True)
        return spec.reshape(B, M, *spec.shape[-2:])

    def istft(self, spec, length):                          # complex (..., F, T) -> (..., length)
        lead = spec.shape[:-2]
        y = torch.istft(spec.reshape(-1, *spec.shape[-2:]), self.cfg.n_fft, self.cfg.hop_length,
                        window=self.window, length=length)
        return y.reshape(*lead, length)

    def input_scale(self, x):                               # (B, M, L) -> (B, M, 1): per-channel STFT RMS
        return self.stft(x).abs().square().clamp_min(1e-15).mean(dim=(-2, -1)).sqrt()[..., None]

    def forward(self, x):                                   # (B, M, L) -> (B, N, M, L)
        B, M, L = x.shape
        if self.cfg.input_scaling:
            scale = self.input_scale(x)
            x = x / scale
        spec = self.stft(x)                                  # (B, M, F, T), T = L // hop + 1
        if self.cfg.drop_last_frame:
            spec = spec[..., : L // self.cfg.hop_length]
        feats = torch.view_as_real(spec).permute(0, 2, 1, 4, 3)   # (B, F, M, 2, T)
        z = self.encoder(feats)                              # (B, T, Q, D)
        for block in self.separator:
            z = _maybe_checkpoint(self, block, z)
        masks = self.decoder(z)                              # (B, T, F, N, M, 2)
        masks = torch.view_as_complex(masks.float().permute(0, 3, 4, 2, 1, 5).contiguous())  # (B, N, M, F, T)
        y = self.istft(masks * spec[:, None], L)
        return y * scale[:, None] if self.cfg.input_scaling else y

    def checkpoint_activations(self, on: bool = True) -> None:
        """Recompute each separator block in the backward pass instead of keeping its activations
        (train.checkpoint_activations): the same function and gradients, less memory, ~1/3 more compute."""
        self._checkpoint = on

    def separator_parameters(self) -> int:
        return sum(p.numel() for p in self.separator.parameters())


def _maybe_checkpoint(model: nn.Module, block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """block(x), recomputed in the backward pass when the model checkpoints activations (dropout's masks
    drawn again from the saved RNG state: the same function)."""
    if getattr(model, "_checkpoint", False) and torch.is_grad_enabled():
        return torch.utils.checkpoint.checkpoint(block, x, use_reentrant=False)
    return block(x)


def select_outputs(model: BSLocoformer, channels: list[int]) -> BSLocoformer:
    """A copy of `model` whose outputs are `channels` of the original, in that order (MixIT -> stems).

    Encoder and separator are copied as they are; of each band's last decoder
    conv only the rows producing the chosen outputs are kept (both GLU halves:
    value and gate), so the new model's outputs equal the chosen ones exactly.
    """
    cfg = model.cfg
    N, M = cfg.n_outputs, cfg.audio_channels
    # an output may be chosen twice (the authors' selection allows it): its rows are then copied twice
    if not channels or any(not 0 <= c < N for c in channels):
        raise ValueError(f"channels must be outputs in [0, {N}), got {channels}")
    new = BSLocoformer(replace(cfg, n_outputs=len(channels)))
    state = model.state_dict()
    out_state = {}
    for key, value in new.state_dict().items():
        src = state[key]
        if key.startswith("decoder.out_"):   # (..., half, b, N, M, 2) in the last dim: keep the chosen n
            lead = src.shape[:-1]
            src = src.reshape(*lead, 2, -1, N, M * 2)[..., channels, :].reshape(*lead, -1)
        out_state[key] = src.clone()
    new.load_state_dict(out_state)
    return new
