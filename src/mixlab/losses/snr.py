"""Negative thresholded SNR (Paper B eq. 4) and its variant for silent references.

L(y, y_hat) = -10 log10(||y||^2 / (||y - y_hat||^2 + tau ||y||^2)), tau = 1e-3:
the soft threshold caps the SNR at -10 log10(tau) = 30 dB, so examples that are
already separated well stop dominating the gradient.

Fine-tuning with dynamic mixing drops stems (p = 0.05), so a reference can be
all zeros, where the ratio above is log(0). There the threshold is taken
relative to the mixture instead (as in FUSS): L = 10 log10(||y_hat||^2 + tau ||x||^2)
- 10 log10(||x||^2), which is finite, pushes the estimate towards silence,
and also saturates once the estimate is 30 dB below the mixture.
"""
from __future__ import annotations

import torch

TAU = 1e-3


def neg_thresholded_snr(ref: torch.Tensor, est: torch.Tensor, tau: float = TAU, eps: float = 1e-8) -> torch.Tensor:
    """ref, est (..., channels, samples) -> loss (...) in dB, one SNR over all channels and samples."""
    e_ref = ref.square().sum((-2, -1))
    e_err = (ref - est).square().sum((-2, -1))
    return 10 * torch.log10(e_err + tau * e_ref + eps) - 10 * torch.log10(e_ref + eps)


def neg_thresholded_snr_silent_safe(ref: torch.Tensor, est: torch.Tensor, mixture: torch.Tensor,
                                    tau: float = TAU, eps: float = 1e-8) -> torch.Tensor:
    """As neg_thresholded_snr where the reference is active; relative to the mixture where it is silent.

    ref, est (batch, sources, channels, samples); mixture (batch, channels, samples).
    """
    active = neg_thresholded_snr(ref, est, tau, eps)
    e_mix = mixture.square().sum((-2, -1))[:, None]                       # (batch, 1)
    e_est = est.square().sum((-2, -1))
    silent = 10 * torch.log10(e_est + tau * e_mix + eps) - 10 * torch.log10(e_mix + eps)
    is_silent = ref.square().sum((-2, -1)) == 0
    return torch.where(is_silent, silent, active)
