import pytest
import torch

from mixlab.models import build_model
from mixlab.models.bs_locoformer import BSLocoformer, BSLocoformerConfig, SwiGLUConvFFN, band_widths


def test_band_split_covers_every_bin_once():
    widths = band_widths(44100, 2048)
    assert len(widths) == 62 and sum(widths) == 1025
    assert widths[:46] == [2] * 46 or widths[0] == 2            # 2-bin bands from 0 Hz
    assert all(w > 0 for w in widths)
    small = band_widths(16000, 512)                                # a demo rate: the top bands are cut off
    assert sum(small) == 257 and all(w > 0 for w in small)


def test_medium_separator_has_the_papers_15m_parameters():
    counts = {s: BSLocoformer(BSLocoformerConfig.from_dict({"size": s})).separator_parameters()
              for s in ("small", "medium", "large")}
    assert counts["medium"] == 14_959_104                           # paper: 15.0M
    assert abs(counts["medium"] / 15.0e6 - 1) < 0.01
    assert counts["small"] < counts["medium"] < counts["large"]


def test_shapes_and_stereo_outputs():
    torch.manual_seed(0)
    cfg = {"name": "bs_locoformer", "sample_rate": 16000, "n_fft": 512, "hop_length": 128, "n_outputs": 3,
           "n_blocks": 1, "emb_dim": 16, "ffn_dim": 24, "n_heads": 2, "n_groups": 2, "chunk_seconds": 0.5}
    model = build_model(cfg)
    x = torch.randn(2, 2, 8000)
    y = model(x)
    assert y.shape == (2, 3, 2, 8000) and torch.isfinite(y).all()
    y.square().mean().backward()
    assert all(p.grad is not None for p in model.parameters())
    with pytest.raises(ValueError, match="unknown bs_locoformer model keys"):
        BSLocoformerConfig.from_dict({"depth": 3})


def test_conv_ffn_keeps_sequence_length_and_is_local():
    ffn = SwiGLUConvFFN(8, 12, kernel=8, stride=1)
    x = torch.randn(3, 20, 8)
    assert ffn(x).shape == x.shape
    # a change at position 10 reaches at most kernel - 1 positions either side
    x2 = x.clone()
    x2[:, 10] += 1.0
    changed = (ffn(x2) - ffn(x)).abs().sum((0, 2)) > 1e-6
    assert changed[10] and not changed[:3].any() and not changed[-2:].any()


def _plain_autograd(monkeypatch):
    """The norm, FFN gate and decoder written as plain tensor operations (what autograd would keep)."""
    import math

    import torch.nn.functional as F

    from mixlab.models import bs_locoformer as bl

    def norm(self, x):
        shape = x.shape
        g = x.float().reshape(*shape[:-1], self.groups, -1)
        rms = g.square().mean(-1, keepdim=True).sqrt()
        return ((g / (rms + self.eps)).reshape(shape) * self.gain).to(x.dtype)

    def ffn(self, x):
        L = x.shape[1]
        pad = self.kernel - self.stride
        total = math.ceil((L + 2 * pad - self.kernel) / self.stride) * self.stride + self.kernel
        h = self.conv(F.pad(x.transpose(1, 2), (pad, total - L - pad)))
        h = self.drop(h[:, :self.hidden] * F.silu(h[:, self.hidden:]))
        return self.drop(self.deconv(h)[..., pad:pad + L].transpose(1, 2))

    def decoder(self, z):
        B, T = z.shape[:2]
        mean = z.mean((1, 3), keepdim=True)
        var = z.var((1, 3), unbiased=False, keepdim=True)
        z = (z - mean) / torch.sqrt(var + self.eps) * self.norm_w + self.norm_b
        h = torch.einsum("btqd,qde->btqe", z, self.fc1_w) + self.fc1_b
        h = torch.tanh(torch.einsum("btqd,qde->btqe", h, self.fc2_w) + self.fc2_b)
        masks = h.new_empty(B, T, sum(self.bands), self.N, self.M, 2)
        for i, w in enumerate(self.widths):
            members, bins = self.group(i)
            value, gate = (torch.einsum("btke,keo->btko", h[:, :, members], self.out_w[i]) + self.out_b[i]).chunk(2, -1)
            masks[:, :, bins.flatten()] = (value * torch.sigmoid(gate)).reshape(B, T, len(members) * w, self.N, self.M, 2)
        return masks
    monkeypatch.setattr(bl.RMSGroupNorm, "forward", norm)
    monkeypatch.setattr(bl.SwiGLUConvFFN, "forward", ffn)
    monkeypatch.setattr(bl.BandMaskDecoder, "forward", decoder)


@pytest.mark.parametrize("dtype", [None, torch.bfloat16])
def test_lean_backward_keeps_less_and_computes_bitwise_what_autograd_does(dtype, monkeypatch):
    """The norm, FFN gate and decoder keep less for the backward pass than plain autograd would, with
    bitwise-equal outputs and gradients, in fp32 and under bf16 autocast (dropout on: same RNG draws)."""
    cfg = {"name": "bs_locoformer", "sample_rate": 16000, "n_fft": 512, "hop_length": 128, "n_outputs": 3,
           "n_blocks": 2, "emb_dim": 16, "ffn_dim": 24, "n_heads": 2, "n_groups": 2, "chunk_seconds": 0.5,
           "dropout": 0.1}
    x = torch.randn(2, 2, 8000, generator=torch.Generator().manual_seed(0)) * 0.1

    def run():
        torch.manual_seed(0)
        model = build_model(cfg)
        saved = {}

        def pack(t):
            saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
            return t
        torch.manual_seed(1)
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), \
                torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None):
            y = model(x)
        y.square().mean().backward()
        return y.detach(), {k: p.grad for k, p in model.named_parameters()}, sum(saved.values())
    lean = run()
    _plain_autograd(monkeypatch)
    plain = run()
    assert lean[2] < 0.9 * plain[2], (lean[2], plain[2])
    torch.testing.assert_close(lean[0], plain[0], rtol=0, atol=0)
    for k in plain[1]:
        torch.testing.assert_close(lean[1][k], plain[1][k], rtol=0, atol=0, msg=k)
