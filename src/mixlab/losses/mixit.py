"""MixIT (Wisdom et al. 2020; Paper B eq. 2-3) over a mixture of two mixtures.

The model separates x1 + x2 into N sources; a binary mixing matrix A (2 x N,
each source assigned to exactly one mixture) remixes them, and the loss is the
best sum over the two mixtures of L(x_b, [A s_hat]_b).

- `mixit_exhaustive`: all 2^N assignments (the definition; 4096 for N = 12).
- `mixit_efficient`: least squares of x ~ A s_hat with A real, then each
  source goes to the mixture with the larger coefficient (argmax per column),
  as Saijo et al.'s efficient MixIT does: one small solve per example instead
  of 2^N loss evaluations. It equals the exhaustive optimum when the estimates
  are close to a true separation, which tests/test_losses.py checks.
Both return the per-example loss and the chosen assignment.
"""
from __future__ import annotations

import torch

from mixlab.losses.snr import TAU, neg_thresholded_snr


def _remix_loss(mixtures: torch.Tensor, est: torch.Tensor, assign: torch.Tensor, tau: float) -> torch.Tensor:
    """mixtures (B, 2, C, T), est (B, N, C, T), assign (B, N) in {0, 1} -> loss (B,), summed over the mixtures."""
    onehot = torch.stack([1 - assign, assign], 1).to(est.dtype)          # (B, 2, N)
    remix = torch.einsum("bmn,bn...->bm...", onehot, est)
    return neg_thresholded_snr(mixtures, remix, tau).sum(1)


def mixit_exhaustive(mixtures: torch.Tensor, est: torch.Tensor, tau: float = TAU):
    """mixtures (B, 2, C, T), est (B, N, C, T) -> (loss (B,), assignment (B, N) of mixture indices).

    The search runs without autograd (keeping 2^N remixes for backward would take
    gigabytes at N = 12); the loss of the best assignment is then recomputed with it.
    """
    B, N = est.shape[:2]
    codes = torch.arange(2 ** N, device=est.device)
    all_assign = (codes[:, None] >> torch.arange(N, device=est.device)) & 1           # (2^N, N)
    best_loss = torch.full((B,), float("inf"), device=est.device, dtype=est.dtype)
    best = torch.zeros((B, N), dtype=torch.long, device=est.device)
    with torch.no_grad():
        for a in all_assign:
            loss = _remix_loss(mixtures, est, a.expand(B, N), tau)
            better = loss < best_loss
            best_loss = torch.where(better, loss, best_loss)
            best[better] = a
    return _remix_loss(mixtures, est, best, tau), best


def mixit_efficient(mixtures: torch.Tensor, est: torch.Tensor, tau: float = TAU, solve_on: str = "all"):
    """Least-squares mixing matrix, binarised per source -> (loss (B,), assignment (B, N)).

    solve_on: "all" fits the mixing matrix on every channel; "first" on channel 0 only, as the authors'
    code does (the assignment then holds for all channels)."""
    B, N = est.shape[:2]
    if solve_on not in ("all", "first"):
        raise ValueError(f"solve_on must be all or first, got {solve_on!r}")
    fit_est, fit_mix = (est, mixtures) if solve_on == "all" else (est[:, :, :1], mixtures[:, :, :1])
    S = fit_est.reshape(B, N, -1).transpose(1, 2).double()               # (B, T', N)
    X = fit_mix.reshape(B, 2, -1).transpose(1, 2).double()               # (B, T', 2)
    with torch.no_grad():
        A = torch.linalg.lstsq(S, X).solution                            # (B, N, 2): x ~ S A
        assign = A.argmax(-1)                                            # source n -> mixture
    return _remix_loss(mixtures, est, assign, tau), assign
