"""Paper A's training recipe: supervised separation on sampled mixes (random mixing, eq. 2).

MSE on waveforms, Adam, EMA of the weights (the EMA copy is what is saved and
evaluated), optional gradient clipping. Batches come from MixSampler: original or
random mixes, a pure function of (seed, step). Everything else -- resume, AMP, DDP,
prefetching, logging, snapshots for Fig. 2, the final write -- is the engine's
(train/engine.py).
"""
from __future__ import annotations

import torch

from mixlab.train import engine


def recipe(spec: dict, inputs: dict, device: torch.device, log) -> engine.Recipe:
    """The model of `spec` ({"model", "train", "tracks"?}) trained on sampled mixes of `inputs["stores"]`: one
    stem store or several pooled (the originals and their pitch-shifted copies)."""
    from mixlab.papers.random_mixing.sampling import MixSampler
    from mixlab.data.stem_store import StemStore
    from mixlab.models import build_model, model_chunk
    from mixlab.train.ema import EMA

    tcfg, stores = spec["train"], inputs["stores"]
    store_path = stores[0] if len(stores) == 1 else stores
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
