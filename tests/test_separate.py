import pytest
import torch

from mixlab.separate import overlap_add


def identity(x):  # (b, C, chunk) -> (b, S=4, C, chunk): every "source" is the mixture
    return x.unsqueeze(1).repeat(1, 4, 1, 1)


@pytest.mark.parametrize("length", [1, 999, 1000, 4321])
@pytest.mark.parametrize("chunk,overlap,window", [(256, 0.5, "hann"), (300, 0.75, "hann"),
                                                  (256, 0.0, "boxcar"), (100, 0.3, "boxcar")])
def test_identity_reconstructs_input(length, chunk, overlap, window):
    x = torch.randn(2, length)
    y = overlap_add(identity, x, chunk, overlap, window, batch_size=3)
    assert y.shape == (4, 2, length)
    torch.testing.assert_close(y, x.expand(4, 2, length), rtol=0, atol=1e-6)


def test_chunks_are_batched_and_cover_the_track():
    seen = []
    def spy(x):
        seen.append(x.shape[0])
        return identity(x)
    overlap_add(spy, torch.randn(2, 2000), 500, 0.5, "hann", batch_size=2)
    assert all(n <= 2 for n in seen) and sum(seen) == 9  # ceil((250 pad + 2000) / 250 hop) windows


def test_hann_without_overlap_is_refused():
    with pytest.raises(ValueError, match="overlap > 0"):
        overlap_add(identity, torch.randn(2, 100), 50, 0.0, "hann")


def test_autocast_runs_the_model_in_bf16_and_adds_in_float64():
    conv = torch.nn.Conv1d(2, 2, 5, padding=2)
    torch.manual_seed(0)
    x = torch.randn(2, 3000)
    seen = []

    def model(chunks):                                        # (b, C, chunk) -> (b, 1, C, chunk)
        y = conv(chunks)
        seen.append(y.dtype)
        return y[:, None]

    with torch.no_grad():
        full = overlap_add(model, x, 1000, 0.5, "boxcar")
        half = overlap_add(model, x, 1000, 0.5, "boxcar", autocast=torch.bfloat16)
    assert seen[0] == torch.float32 and seen[-1] == torch.bfloat16 and half.dtype == x.dtype
    assert 0 < (half - full).abs().max() < 0.05 * full.abs().max()
