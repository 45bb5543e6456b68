"""Paper B's learning-rate schedule: linear warm-up, then step decay per epoch.

lr(step) = peak * min(1, (step + 1) / warmup) * decay ** k, with
k = max(0, epoch - decay_start) // decay_every and epoch = step // epoch_steps.
Pre-training: warm-up 5k steps, x0.965 at every epoch end (decay_start 0, every 1).
Fine-tuning: constant for 550 epochs, then x0.98 every 2 epochs.
"""
from __future__ import annotations


def lr_at(step: int, peak: float, warmup_steps: int, epoch_steps: int, decay: float,
          decay_start_epoch: int = 0, decay_every_epochs: int = 1) -> float:
    warm = min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else 1.0
    epoch = step // epoch_steps
    k = max(0, epoch - decay_start_epoch) // decay_every_epochs
    return peak * warm * decay ** k
