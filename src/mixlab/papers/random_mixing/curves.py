"""Paper A Fig. 2: SDX SDR improvement of training snapshots on the fixed evaluation sets."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mixlab.papers.random_mixing.evalsets import load_chunks
from mixlab.data.stem_store import StemStore
from mixlab.errors import InputError, read_csv
from mixlab.metrics.sdx import sdx_sdr
from mixlab.models.io import load_model

_STEP = re.compile(r"step(\d+)\.pt$")
# A (chunk, stem) whose reference is this far below the mixture is silent, and left out:
# there both SDX SDRs are ~10 log10(delta / energy) and their difference only says how
# quiet the estimate is (+40..60 dB for a near-silent output), which would swamp the mean.
SILENT_DB = -60.0


def snapshot_files(folder: str | Path) -> list[tuple[int, Path]]:
    found = sorted((int(m.group(1)), f) for f in Path(folder).glob("step*.pt") if (m := _STEP.search(f.name)))
    if not found:
        raise InputError(f"{folder}: no training snapshots (step*.pt); train with train.snapshot_every > 0")
    return found


@torch.no_grad()
def score_snapshots(snapshots: str | Path, sets: dict[str, tuple[str | Path, str | Path]], device: str = "cpu",
                    batch_size: int = 16, log=print) -> pd.DataFrame:
    """sets: split -> (stem store, evaluation-set CSV). Rows: step, split, kind, stem, sdr_improvement, chunks."""
    rows = []
    files = snapshot_files(snapshots)
    for i, (step, path) in enumerate(files):
        model, spec = load_model(path, device)
        chunk = model.cfg.chunk_size
        lufs = spec["train"].get("target_lufs", -14.0)
        for split, (store_path, recipe_csv) in sets.items():
            store = StemStore(store_path)
            recipe = read_csv(recipe_csv, "an evaluation-set recipe", "it is written by `mixlab evalset`")
            gains = {}  # (kind, stem) -> list of per-chunk improvements
            for b0 in range(0, len(recipe), batch_size):
                part = recipe.iloc[b0:b0 + batch_size]
                mixture, targets = load_chunks(store, part, chunk, lufs)
                est = model(torch.from_numpy(mixture).to(device)).float().cpu().numpy()
                imp = sdx_sdr(targets, est) - sdx_sdr(targets, np.broadcast_to(mixture[:, None], targets.shape))
                e_ref = np.square(targets, dtype=np.float64).sum((-2, -1))
                e_mix = np.square(mixture, dtype=np.float64).sum((-2, -1))[:, None]
                active = e_ref > e_mix * 10 ** (SILENT_DB / 10)
                for k, (kind, eval_stem) in enumerate(zip(part["kind"], part["eval_stem"])):
                    for j, stem in enumerate(store.stems):
                        if eval_stem in ("all", stem):
                            g = gains.setdefault((kind, stem), [[], 0])
                            if active[k, j]:
                                g[0].append(imp[k, j])
                            else:
                                g[1] += 1
            for (kind, stem), (vals, silent) in gains.items():
                rows.append({"step": step, "split": split, "kind": kind, "stem": stem,
                             "sdr_improvement": float(np.mean(vals)) if vals else float("nan"),
                             "chunks": len(vals), "silent_chunks_skipped": silent})
        log(f"[curve] snapshot {i + 1}/{len(files)} (step {step}) scored")
    return pd.DataFrame(rows)
