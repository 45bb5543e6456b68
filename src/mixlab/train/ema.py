"""Exponential moving average of model weights; the EMA copy is what gets evaluated."""
from __future__ import annotations

import copy

import torch


class EMA:
    def __init__(self, model: torch.nn.Module, decay: float):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"ema decay must lie in [0, 1), got {decay}")
        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        # one multi-tensor kernel per dtype/device group instead of one per parameter (hundreds per step on a GPU)
        torch._foreach_lerp_(list(self.model.parameters()), [p.detach() for p in model.parameters()],
                             1.0 - self.decay)
        ema_b, b = list(self.model.buffers()), list(model.buffers())
        if ema_b:
            torch._foreach_copy_(ema_b, b)

    def state_dict(self):
        return self.model.state_dict()

    def load_state_dict(self, state):
        self.model.load_state_dict(state)
