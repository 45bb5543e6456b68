"""Paper B's learning-rate schedule: linear warm-up, then step decay at epoch ends.

lr(step) = peak * min(1, (step + 1) / warmup) * decay ** k,
k = max(0, min(step, stop) - start) // (decay_every_epochs * epoch_steps),
start = max(warmup, decay_start_epoch * epoch_steps), stop = decay_stop_epoch * epoch_steps
(no stop by default; the authors' pre-training code stops decaying at epoch 75).

Decay begins only once the warm-up is over: the paper's "linearly increased from 0 to the peak
over the first 5000 steps, and subsequently decayed by 0.965 at each epoch end" (the authors' code
likewise starts its decay counter after the warm-up). Pre-training: warm-up 5k steps, then x0.965
per epoch. Fine-tuning: "the same schemes, except constant for the first 550 epochs, then x0.98
every two epochs" -- the same 5k-step warm-up first (the authors' MUSDB config: 5000).
"""
from __future__ import annotations


def lr_at(step: int, peak: float, warmup_steps: int, epoch_steps: int, decay: float,
          decay_start_epoch: int = 0, decay_every_epochs: int = 1, decay_stop_epoch: int | None = None) -> float:
    warm = min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else 1.0
    start = max(warmup_steps, decay_start_epoch * epoch_steps)
    until = step if decay_stop_epoch is None else min(step, decay_stop_epoch * epoch_steps)
    k = max(0, until - start) // (decay_every_epochs * epoch_steps)
    return peak * warm * decay ** k
