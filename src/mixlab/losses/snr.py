"""Negative thresholded SNR (Paper B eq. 4) and its variant for silent references.

L(y, y_hat) = -10 log10(||y||^2 / (||y - y_hat||^2 + tau ||y||^2)), tau = 1e-3:
the soft threshold caps the SNR at -10 log10(tau) = 30 dB, so examples that are
already separated well stop dominating the gradient.

Fine-tuning with dynamic mixing drops stems (p = 0.05), so a reference can be
all zeros, where the ratio above is log(0). There the threshold is taken
relative to the mixture instead (as in FUSS): L = 10 log10(||y_hat||^2 + tau ||x||^2)
- 10 log10(||x||^2), which is finite, pushes the estimate towards silence,
and also saturates once the estimate is 30 dB below the mixture.

The authors' code (`neg_thresholded_snr_code`, `fidelity=code`) differs in three ways: the SNR is
taken per channel and averaged over channels and stems; a reference counts as silent already below
-60 dB re the mixture channel (not only at exact zero); and a silent reference's term,
10 log10(||y_hat||^2 + tau ||x||^2) without the mixture normalisation, is weighted 0.1.
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


def neg_thresholded_snr_code(ref: torch.Tensor, est: torch.Tensor, tau: float = TAU, inactive_db: float = -60.0,
                             inactive_weight: float = 0.1, eps: float = 1e-8) -> torch.Tensor:
    """The authors' fine-tuning loss. ref, est (batch, sources, channels, samples) -> loss (batch,) in dB.

    Per (batch, source, channel): active when ||y_c||^2 >= 10^(inactive_db/10) ||x_c||^2 with x the sum
    of the references; an active term is the thresholded SNR of that channel, an inactive one
    inactive_weight * 10 log10(||y_hat_c - y_c||^2 + tau ||x_c||^2). The mean is over sources and channels.
    """
    ref_power = ref.square().sum(-1)                                     # (batch, sources, channels)
    mix_power = ref.sum(1, keepdim=True).square().sum(-1)                # (batch, 1, channels)
    active = 10 * torch.log10(ref_power / (mix_power + eps)) >= inactive_db
    err = (est - ref).square().sum(-1)
    denom = 10 * torch.log10(err + tau * torch.where(active, ref_power, mix_power) + eps)
    term = torch.where(active, denom - 10 * torch.log10(ref_power + eps), inactive_weight * denom)
    return term.mean((1, 2))
