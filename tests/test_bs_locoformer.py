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
