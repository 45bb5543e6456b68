import pytest
import torch

from mixlab.config import load
from mixlab.models import build_model
from mixlab.models.tfc_tdf_v3 import count_parameters
from tests.conftest import CONFIGS, REPO


def _preset(scale):
    return load(CONFIGS, {"scale": scale, "musdb_root": str(REPO)})


def test_output_shape_and_length():
    model = build_model(_preset("tiny")["model"])
    x = torch.randn(2, 2, model.cfg.chunk_size)
    y = model(x)
    assert y.shape == (2, 4, 2, model.cfg.chunk_size)
    assert torch.isfinite(y).all()


def test_longer_inference_chunks_work():
    model = build_model(_preset("tiny")["model"])
    dim_t = 4 * model.cfg.dim_t
    x = torch.randn(1, 2, model.cfg.hop_length * (dim_t - 1))
    assert model(x).shape[-1] == x.shape[-1]


def test_bad_length_is_explained():
    model = build_model(_preset("tiny")["model"])
    with pytest.raises(ValueError, match="STFT frames"):
        model(torch.randn(1, 2, 1200))


def test_parameter_counts():
    # Regression values of this implementation; README reports them beside the paper's ~70M.
    with torch.device("meta"):
        paper = build_model(_preset("paper")["model"])
    assert count_parameters(paper) == 45_813_888
    assert count_parameters(build_model(_preset("demo")["model"])) == 430_640


def test_gradients_reach_every_parameter():
    model = build_model(_preset("tiny")["model"])
    model(torch.randn(2, 2, model.cfg.chunk_size)).pow(2).mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
