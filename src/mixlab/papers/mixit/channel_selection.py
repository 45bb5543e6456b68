"""Choose 4 of the N MixIT outputs for fine-tuning (Paper B Sec. 4.3).

Every validation song is cut into chunks (6 s, no overlap); the pre-trained
model separates each chunk's mixture, and the assignment of stems to distinct
outputs that maximises the summed SNR is found (Hungarian algorithm on the
stem x output SNR matrix). Each assignment is one vote per stem; a stem takes
the output it was given most often. Stems silent in a chunk (below -60 dB
re the mixture) do not vote there. If two stems win the same output, the
stem with more votes keeps it and the other takes its next most voted free
output.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from mixlab.data.stem_store import StemStore

SILENT_DB = -60.0


def snr_matrix(refs: np.ndarray, ests: np.ndarray, eps: float = 1e-10) -> np.ndarray:
    """refs (S, C, L), ests (N, C, L) -> SNR in dB (S, N)."""
    r = refs.reshape(refs.shape[0], 1, -1).astype(np.float64)
    e = ests.reshape(1, ests.shape[0], -1).astype(np.float64)
    return 10 * np.log10(((r ** 2).sum(-1) + eps) / (((r - e) ** 2).sum(-1) + eps))


def resolve_votes(votes: np.ndarray) -> list[int]:
    """votes (S, N) -> one distinct output per stem, most voted first."""
    S, N = votes.shape
    chosen, taken = [None] * S, set()
    order = sorted(((votes[s, n], s, n) for s in range(S) for n in range(N)), key=lambda t: (-t[0], t[1], t[2]))
    for _, s, n in order:
        if chosen[s] is None and n not in taken:
            chosen[s] = n
            taken.add(n)
    return chosen


@torch.no_grad()
def select_channels(model, store_path: str | Path, chunk_seconds: float, device="cpu", batch_size: int = 4,
                    progress=print) -> dict:
    store = StemStore(store_path)
    chunk = int(round(chunk_seconds * store.sample_rate))
    N = model.cfg.n_outputs
    S = len(store.stems)
    votes = np.zeros((S, N), dtype=np.int64)
    items = [(t, o) for t in range(len(store)) for o in range(0, int(store.lengths[t]) - chunk + 1, chunk)]
    if not items:
        raise ValueError(f"{store_path}: no song is as long as one {chunk_seconds:g} s chunk")
    for i in range(0, len(items), batch_size):
        group = items[i:i + batch_size]
        refs = np.stack([np.stack([store.read(t, s, o, chunk) for s in range(S)]) for t, o in group])  # (b,S,C,L)
        mix = refs.sum(1)
        est = model(torch.from_numpy(mix).to(device)).float().cpu().numpy()                         # (b,N,C,L)
        for r, m, e in zip(refs, mix, est):
            e_mix = (m.astype(np.float64) ** 2).sum()
            active = [s for s in range(S) if 10 * np.log10((r[s].astype(np.float64) ** 2).sum() / e_mix + 1e-20) > SILENT_DB]
            if not active:
                continue
            snr = snr_matrix(r[active], e)
            rows, cols = linear_sum_assignment(-snr)
            for a, n in zip(rows, cols):
                votes[active[a], n] += 1
        progress(f"[channels] {min(i + batch_size, len(items))}/{len(items)} chunks")
    chosen = resolve_votes(votes)
    return {"stems": list(store.stems), "channels": [int(c) for c in chosen], "votes": votes.tolist(),
            "chunks": len(items), "chunk_seconds": chunk_seconds}
