"""Every precision the schema offers runs for every model: bf16 and fp16 autocast, training and separation.

On CUDA the same code runs under the same autocast; the CPU autocast here exercises the dtype paths (a bf16
spectrum reaching the iSTFT crashed TFC-TDF on an H100: complex bf16 does not exist).
"""
import pytest
import torch

from mixlab.models import build_model
from mixlab.separate import overlap_add

MODELS = {
    "tfc_tdf_v3": {"name": "tfc_tdf_v3", "sample_rate": 16000, "n_fft": 512, "hop_length": 128, "dim_f": 256,
                   "dim_t": 16, "num_channels": 8, "growth": 4, "num_scales": 2, "num_subbands": 4,
                   "num_blocks_per_scale": 1, "bottleneck_factor": 2},
    "bs_locoformer": {"name": "bs_locoformer", "sample_rate": 16000, "n_fft": 512, "hop_length": 128, "n_outputs": 4,
                      "n_blocks": 1, "emb_dim": 16, "ffn_dim": 24, "n_heads": 2, "n_groups": 2, "chunk_seconds": 0.25,
                      "dropout": 0.0},
}
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def _model(name):
    torch.manual_seed(0)
    return build_model(MODELS[name])


def _length(model):
    return model.cfg.chunk_size


@pytest.mark.parametrize("dtype", DTYPES)
def test_tfc_tdf_inverse_transform_takes_half_precision_spectra(dtype):
    """The U-Net's last convolution hands the iSTFT a bf16/fp16 spectrum under autocast: it computes in fp32."""
    model = _model("tfc_tdf_v3")
    x = torch.randn(1, 2, _length(model))
    spec = model.stft(x)[:, None].expand(1, 4, -1, -1, -1)             # (B, S, 2C, F, T)
    ref = model.istft(spec.float(), x.shape[-1])
    out = model.istft(spec.to(DTYPES[dtype]), x.shape[-1])
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, ref, rtol=0, atol=2e-2 * ref.abs().max().item())
    with torch.autocast("cpu", dtype=DTYPES[dtype]):
        assert model.stft(x).dtype == torch.float32


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", MODELS)
def test_training_step_under_autocast_matches_fp32(name, dtype):
    """Forward + backward under bf16/fp16 autocast: float32 waveforms out, finite gradients on every parameter,
    the output within half-precision rounding of the fp32 one."""
    model = _model(name)
    x = torch.randn(2, 2, _length(model)) * 0.1
    ref = model(x).detach()
    with torch.autocast("cpu", dtype=DTYPES[dtype]):
        y = model(x)
    assert y.dtype == torch.float32 and y.shape == ref.shape
    err = (y.detach() - ref).square().mean() / ref.square().mean()
    assert err < 1e-2, f"{name} under {dtype}: relative error {err:.2e}"
    y.square().mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", MODELS)
def test_separation_under_autocast(name, dtype):
    """Chunked separation under autocast (Paper B separates in bf16): float32 stems of the input's length."""
    model = _model(name).eval()
    mixture = torch.randn(2, 3 * _length(model) + 17) * 0.1
    with torch.inference_mode():
        ref = overlap_add(model, mixture, _length(model))
        out = overlap_add(model, mixture, _length(model), autocast=DTYPES[dtype])
    assert out.dtype == torch.float32 and out.shape == ref.shape
    assert (out - ref).square().mean() < 1e-2 * ref.square().mean()


@pytest.mark.parametrize("name", MODELS)
def test_activation_checkpointing_computes_the_same_gradients(name):
    """train.checkpoint_activations recomputes blocks in the backward pass: the same outputs and gradients, dropout
    included (its masks are drawn again from the saved RNG state)."""
    spec = {**MODELS[name], **({"dropout": 0.1} if name == "bs_locoformer" else {})}
    runs, kept = [], []
    for on in (False, True):
        torch.manual_seed(0)
        model = build_model(spec)
        model.checkpoint_activations(on)
        x = torch.randn(2, 2, _length(model), generator=torch.Generator().manual_seed(1)) * 0.1
        torch.manual_seed(2)
        saved = {}

        def pack(t):      # what autograd keeps for the backward pass: the memory checkpointing saves
            saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
            return t
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            y = model(x)
        kept.append(sum(saved.values()))
        y.square().mean().backward()
        runs.append((y.detach(), {k: p.grad for k, p in model.named_parameters()}))
    assert kept[1] < 0.8 * kept[0], f"checkpointing kept {kept[1]} of {kept[0]} bytes"
    (y0, g0), (y1, g1) = runs
    torch.testing.assert_close(y1, y0, rtol=0, atol=0)
    for k in g0:
        torch.testing.assert_close(g1[k], g0[k], rtol=1e-6, atol=1e-8, msg=k)


def test_checkpointing_is_refused_where_a_model_has_none(tmp_path):
    from tests.train.test_engine import _cfg, _run

    with pytest.raises(ValueError, match="train.checkpoint_activations: Sequential has no activation checkpointing"):
        _run(tmp_path, "toy", _cfg(checkpoint_activations=True))
