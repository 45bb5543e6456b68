"""Paper A Fig. 2: SDX SDR improvement of training snapshots on the fixed evaluation sets."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mixlab.data.evalsets import load_chunks
from mixlab.data.stem_store import StemStore
from mixlab.metrics.sdx import sdx_sdr
from mixlab.train.checkpoint import load_model

_STEP = re.compile(r"step(\d+)\.pt$")


def snapshot_files(folder: str | Path) -> list[tuple[int, Path]]:
    found = sorted((int(m.group(1)), f) for f in Path(folder).glob("step*.pt") if (m := _STEP.search(f.name)))
    if not found:
        raise FileNotFoundError(f"{folder}: no training snapshots (step*.pt); train with train.snapshot_every > 0")
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
            recipe = pd.read_csv(recipe_csv)
            gains = {}  # (kind, stem) -> list of per-chunk improvements
            for b0 in range(0, len(recipe), batch_size):
                part = recipe.iloc[b0:b0 + batch_size]
                mixture, targets = load_chunks(store, part, chunk, lufs)
                est = model(torch.from_numpy(mixture).to(device)).float().cpu().numpy()
                imp = sdx_sdr(targets, est) - sdx_sdr(targets, np.broadcast_to(mixture[:, None], targets.shape))
                for k, (kind, eval_stem) in enumerate(zip(part["kind"], part["eval_stem"])):
                    for j, stem in enumerate(store.stems):
                        if eval_stem in ("all", stem):
                            gains.setdefault((kind, stem), []).append(imp[k, j])
            for (kind, stem), vals in gains.items():
                rows.append({"step": step, "split": split, "kind": kind, "stem": stem,
                             "sdr_improvement": float(np.mean(vals)), "chunks": len(vals)})
        log(f"[curve] snapshot {i + 1}/{len(files)} (step {step}) scored")
    return pd.DataFrame(rows)
