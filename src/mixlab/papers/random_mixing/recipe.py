"""Paper A's training recipe: supervised separation on sampled mixes (random mixing, eq. 2).

MSE on waveforms, Adam, EMA of the weights (the EMA copy is what is saved and
evaluated), optional gradient clipping. Batches come from MixSampler: original or
random mixes, a pure function of (seed, step). Everything else -- resume, AMP, DDP,
prefetching, logging, snapshots for Fig. 2, the final write -- is the engine's
(train/engine.py).
"""
from __future__ import annotations

from pathlib import Path

import torch

from mixlab.train import engine
from mixlab.train.defaults import TRAIN_DEFAULTS


def train(spec: dict, store_path: str | Path | list, out: str | Path, resume_dir: str | Path,
          device: str = "cpu", log=print, snapshots: str | Path | None = None) -> Path:
    """Train the model of `spec` ({"model": {...}, "train": {...}, "tracks": [...]?}); write its EMA weights to `out`.

    store_path: one stem store or a list pooled (originals + pitch-shifted copies).
    snapshots: folder that receives the EMA weights every `snapshot_every` steps;
    they are kept in the resume folder while training, so a killed run loses none.
    """
    unknown = set(spec.get("train", {})) - set(TRAIN_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown train keys: {sorted(unknown)}")
    tcfg = {**TRAIN_DEFAULTS, **spec.get("train", {})}
    spec = {**spec, "train": tcfg}
    return engine.train(spec, tcfg, lambda device, rows, log: recipe(spec, tcfg, store_path, device, log),
                        out, resume_dir, device, log, snapshots)


def recipe(spec: dict, tcfg: dict, store_path, device: torch.device, log) -> engine.Recipe:
    from mixlab.data.sampling import MixSampler
    from mixlab.data.stem_store import StemStore
    from mixlab.models import build_model, model_chunk
    from mixlab.train.ema import EMA

    store = StemStore(store_path, tracks=spec.get("tracks"))
    model_rate = spec["model"].get("sample_rate", 44100)
    if store.sample_rate != model_rate:
        raise ValueError(f"{store_path}: stem store is at {store.sample_rate} Hz but the model spec says "
                         f"sample_rate={model_rate}; set model.sample_rate to the corpus rate")
    time_shift = tcfg["time_shift_s"]
    sampler = MixSampler(store, model_chunk(spec["model"]), tcfg["p_original"], tcfg["seed"], tcfg["target_lufs"],
                         fixed_mixes=tcfg["fixed_mixes"],
                         time_shift_s=None if time_shift is None else float(time_shift),
                         pitch_max=tcfg["pitch_max"], pitch_consistent=tcfg["pitch_consistent"])
    model = build_model(spec["model"]).to(device)
    ema = EMA(model, tcfg["ema_decay"])
    optimizer = torch.optim.Adam(model.parameters(), lr=tcfg["lr"])

    def batches(step, rows):
        return sampler.batch(step, tcfg["batch_size"], rows)

    def loss(batch, forward):
        mixture = torch.from_numpy(batch.mixture).to(device)
        targets = torch.from_numpy(batch.targets).to(device)
        # mean over this rank's rows; DDP averages the ranks' gradients: the global batch's mean
        return torch.nn.functional.mse_loss(forward(mixture).float(), targets)

    n_params = sum(p.numel() for p in model.parameters())
    describe = (f"[train] {spec['model']['name']} {n_params / 1e6:.2f}M params, {len(store)} songs, "
                f"p_original={tcfg['p_original']}, {tcfg['steps']} steps x batch {tcfg['batch_size']} on {device}")
    return engine.Recipe(model=model, optimizer=optimizer, batches=batches, loss=loss, ema=ema, describe=describe)
