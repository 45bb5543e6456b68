import itertools

import pytest
import torch

from mixlab.losses.mixit import mixit_efficient, mixit_exhaustive
from mixlab.losses.snr import neg_thresholded_snr, neg_thresholded_snr_silent_safe


def test_thresholded_snr_saturates_at_30_db():
    g = torch.Generator().manual_seed(0)
    ref = torch.randn(3, 2, 1000, generator=g)                              # (batch, channels, samples)
    assert torch.allclose(neg_thresholded_snr(ref, ref), torch.full((3,), -30.0), atol=1e-4)
    noisy = ref + 0.1 * torch.randn(3, 2, 1000, generator=g)               # ~20 dB SNR: below the cap
    snr = 10 * torch.log10(ref.square().sum((-2, -1)) / (ref - noisy).square().sum((-2, -1)))
    expected = -10 * torch.log10(1 / (10 ** (-snr / 10) + 1e-3))
    assert torch.allclose(neg_thresholded_snr(ref, noisy), expected, atol=1e-3)
    assert (neg_thresholded_snr(ref, 1e3 * noisy) > -30).all()


def test_silent_reference_variant_is_finite_and_prefers_silence():
    g = torch.Generator().manual_seed(1)
    mix = torch.randn(2, 2, 800, generator=g)
    ref = torch.stack([mix, torch.zeros_like(mix)], 1)                      # second source silent
    est_quiet = torch.stack([mix, 1e-3 * mix], 1)
    est_loud = torch.stack([mix, 0.5 * mix], 1)
    q = neg_thresholded_snr_silent_safe(ref, est_quiet, mix)
    l = neg_thresholded_snr_silent_safe(ref, est_loud, mix)
    assert torch.isfinite(q).all() and torch.isfinite(l).all()
    assert (q[:, 1] < l[:, 1]).all()
    assert torch.allclose(q[:, 0], neg_thresholded_snr(ref[:, :1], est_quiet[:, :1])[:, 0])
    exact = neg_thresholded_snr_silent_safe(ref, torch.stack([mix, torch.zeros_like(mix)], 1), mix)
    assert torch.allclose(exact[:, 1], torch.full((2,), -30.0), atol=1e-3)    # also capped at 30 dB


@pytest.mark.parametrize("N", [4, 6, 8])
def test_efficient_mixit_equals_exhaustive_on_noisy_true_sources(N):
    g = torch.Generator().manual_seed(N)
    B, T = 5, 2000
    sources = torch.randn(B, N, 2, T, generator=g) * torch.rand(B, N, 1, 1, generator=g)
    truth = torch.randint(0, 2, (B, N), generator=g)
    mixtures = torch.stack([(sources * (truth == m)[..., None, None]).sum(1) for m in (0, 1)], 1)
    perm = torch.randperm(N, generator=g)
    est = sources[:, perm] + 0.05 * torch.randn(B, N, 2, T, generator=g)      # shuffled, noisy
    loss_e, a_e = mixit_exhaustive(mixtures, est)
    loss_f, a_f = mixit_efficient(mixtures, est)
    assert torch.allclose(loss_e, loss_f, atol=1e-5)
    assert torch.equal(a_f, truth[:, perm])


def test_mixit_is_permutation_invariant():
    g = torch.Generator().manual_seed(3)
    mixtures = torch.randn(2, 2, 2, 500, generator=g)
    est = torch.randn(2, 5, 2, 500, generator=g)
    base_e, _ = mixit_exhaustive(mixtures, est)
    base_f, _ = mixit_efficient(mixtures, est)
    for perm in itertools.islice(itertools.permutations(range(5)), 0, 120, 17):
        assert torch.allclose(mixit_exhaustive(mixtures, est[:, list(perm)])[0], base_e, atol=1e-5)
        assert torch.allclose(mixit_efficient(mixtures, est[:, list(perm)])[0], base_f, atol=1e-5)
    # the exhaustive optimum is a lower bound for any assignment, the efficient one included
    assert (base_e <= base_f + 1e-6).all()


def test_efficient_mixit_on_the_first_channel_only():
    """solve_on="first" (the authors' code): the assignment comes from channel 0 alone and holds for both.
    A source silent on channel 0 cannot be placed from it; on all channels it can."""
    g = torch.Generator().manual_seed(0)
    B, N, T = 3, 4, 2000
    sources = torch.randn(B, N, 2, T, generator=g)
    truth = torch.tensor([[0, 1, 0, 1]] * B)
    mixtures = torch.stack([(sources * (truth == m)[..., None, None]).sum(1) for m in (0, 1)], 1)
    est = sources + 0.05 * torch.randn(B, N, 2, T, generator=g)
    _, a_all = mixit_efficient(mixtures, est)
    _, a_first = mixit_efficient(mixtures, est, solve_on="first")
    assert torch.equal(a_all, truth) and torch.equal(a_first, truth)
    # the ground truth is unchanged by channel 1; the first-channel fit ignores whatever is there
    est2 = est.clone()
    est2[:, :, 1] = torch.randn(B, N, T, generator=g)
    assert torch.equal(mixit_efficient(mixtures, est2, solve_on="first")[1], a_first)
    with pytest.raises(ValueError, match="all or first"):
        mixit_efficient(mixtures, est, solve_on="left")
