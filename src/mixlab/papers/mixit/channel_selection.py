"""Choose 4 of the N MixIT outputs for fine-tuning (Paper B Sec. 4.3).

Every validation song is cut into chunks (6 s, no overlap); the pre-trained
model separates each chunk's mixture, and the assignment of stems to distinct
outputs that maximises the summed SNR is found (Hungarian algorithm on the
stem x output SNR matrix). Each assignment is one vote per stem; a stem takes
the output it was given most often. Stems silent in a chunk (below -60 dB
re the mixture) do not vote there. If two stems win the same output, the
stem with more votes keeps it and the other takes its next most voted free
output.

`rule="code"` is the authors' selection (`fidelity=code`): the assignment is fitted on the first
channel only, only exactly-zero stems abstain, and each stem takes its most voted output with no
check that the four differ (two stems may share an output; that is logged). Their ties depend on
set order and on which worker finished first; here a tie goes to the lower output index.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from mixlab.data.stem_store import StemStore

SILENT_DB = -60.0


RULES = ("paper", "code")


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


def chunk_votes(refs: np.ndarray, ests: np.ndarray, rule: str = "paper") -> list[tuple[int, int]]:
    """refs (S, C, L), ests (N, C, L) of one chunk -> its votes [(stem, output), ...] under `rule`."""
    if rule == "code":
        active = [s for s in range(len(refs)) if np.abs(refs[s]).sum() > 0]
        refs, ests, eps = refs[:, :1], ests[:, :1], 1e-8        # the first channel only
    else:
        r64 = refs.astype(np.float64)
        e_mix = (r64.sum(0) ** 2).sum()
        active = [s for s in range(len(refs)) if 10 * np.log10((r64[s] ** 2).sum() / e_mix + 1e-20) > SILENT_DB]
        eps = 1e-10
    if not active:
        return []
    rows, cols = linear_sum_assignment(-snr_matrix(refs[active], ests, eps))
    return [(active[a], int(n)) for a, n in zip(rows, cols)]


def choose(votes: np.ndarray, stems: list[str], rule: str = "paper", log=print) -> list[int]:
    """votes (S, N) -> the output of each stem under `rule`."""
    if rule == "paper":
        return resolve_votes(votes)
    missing = [stems[s] for s in range(len(stems)) if votes[s].sum() == 0]
    if missing:
        raise ValueError(f"no chunk of the validation songs has {', '.join(missing)} active: no output to choose")
    chosen = [int(np.argmax(v)) for v in votes]
    shared = {n for n in chosen if chosen.count(n) > 1}
    if shared:
        log(f"[channels] the authors' rule gives stems the same output: "
            f"{ {stems[s]: n for s, n in enumerate(chosen) if n in shared} } (kept, as their code does)")
    return chosen


@torch.no_grad()
def select_channels(model, store_path: str | Path, chunk_seconds: float, device="cpu", batch_size: int = 4,
                    progress=print, rule: str = "paper") -> dict:
    if rule not in RULES:
        raise ValueError(f"unknown channel selection rule {rule!r}; use one of {RULES}")
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
        for r, e in zip(refs, est):
            for s, n in chunk_votes(r, e, rule):
                votes[s, n] += 1
        progress(f"[channels] {min(i + batch_size, len(items))}/{len(items)} chunks")
    chosen = choose(votes, list(store.stems), rule, progress)
    return {"stems": list(store.stems), "channels": [int(c) for c in chosen], "votes": votes.tolist(),
            "chunks": len(items), "chunk_seconds": chunk_seconds, "rule": rule}
