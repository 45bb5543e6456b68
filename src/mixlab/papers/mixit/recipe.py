"""Paper B training: MixIT pre-training on FMA clips and supervised fine-tuning on MUSDB stems.

Both stages: AdamW (weight decay 1e-2), linear warm-up then per-epoch step
decay (train/schedule.py), gradient clipping at L2 norm 5, AMP (fp16 +
GradScaler) on CUDA only. The paper uses no EMA; the final weights are the model.

- pretrain: the model separates the sum of two mixtures into N = 12 outputs;
  loss = MixIT with the negative thresholded SNR (efficient solver).
- finetune: dynamic mixing of active stem segments; loss = silent-reference-safe
  thresholded SNR on the four stems. Initialised either at random (from
  scratch) or from a pre-trained model reduced to its 4 selected channels; with
  `freeze_separator` only encoder and decoder learn (Paper B Table 2).

Pre-training and fine-tuning are two recipes; resume, AMP, DDP, prefetching,
logging, validation and the final write are the engine's (train/engine.py).
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from mixlab.models import build_model
from mixlab.models.io import load_model
from mixlab.train import engine
from mixlab.train.defaults import ENGINE_DEFAULTS
from mixlab.train.schedule import lr_at

PAPER_B_DEFAULTS = {
    **ENGINE_DEFAULTS, "epoch_steps": 100, "lr": 1e-3, "weight_decay": 1e-2,
    "warmup_steps": 0, "decay": 1.0, "decay_start_epoch": 0, "decay_every_epochs": 1, "grad_clip": 5.0,
    # fine-tuning only
    "gain_db": 10.0, "p_drop": 0.05, "freeze_separator": False,
    # pre-training only: relative level of the two mixtures (None: as drawn)
    "mom_snr_db": None,
}
STAGES = ("pretrain", "finetune")


def _build(spec: dict, init: str | Path | None, channels: str | Path | None, device, log):
    from mixlab.models.bs_locoformer import select_outputs

    model = build_model(spec["model"])
    if init is None:
        return model.to(device)
    if channels is None:
        raise ValueError("fine-tuning from a pre-trained model needs the selected channels (--channels)")
    pre, pre_spec = load_model(init, "cpu")
    chosen = json.loads(Path(channels).read_text())["channels"]
    reduced = select_outputs(pre, chosen)
    if reduced.cfg != model.cfg:
        raise ValueError(f"{init}: pre-trained model config {pre.cfg} does not match the fine-tuning model "
                         f"{model.cfg} (beyond the number of outputs)")
    log(f"[train] initialised from {init}, outputs {chosen} -> stems")
    return reduced.to(device)


def train(spec: dict, out: str | Path, resume_dir: str | Path, device: str = "cpu", log=print,
          clips: str | Path | None = None, store: str | Path | None = None, activity: str | Path | None = None,
          init: str | Path | None = None, channels: str | Path | None = None) -> Path:
    stage = spec.get("stage")
    if stage not in STAGES:
        raise ValueError(f"spec.stage must be one of {STAGES}, got {stage!r}")
    unknown = set(spec.get("train", {})) - set(PAPER_B_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown train keys: {sorted(unknown)}")
    tcfg = {**PAPER_B_DEFAULTS, **spec.get("train", {})}
    spec = {**spec, "train": tcfg, "init": None if init is None else "pretrained"}
    if stage == "pretrain":
        make = lambda device, rows, log: pretrain_recipe(spec, tcfg, clips, device, log)
    else:
        make = lambda device, rows, log: finetune_recipe(spec, tcfg, store, activity, init, channels, device, log)
    return engine.train(spec, tcfg, make, out, resume_dir, device, log)


def _optimise(spec, tcfg, model, describe, batches, loss) -> engine.Recipe:
    """What both stages share: frozen parts, AdamW, warm-up + step decay, the start line."""
    if tcfg["freeze_separator"]:
        for p in model.separator.parameters():
            p.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=tcfg["lr"], weight_decay=tcfg["weight_decay"])

    def lr(step):
        return lr_at(step, tcfg["lr"], tcfg["warmup_steps"], tcfg["epoch_steps"], tcfg["decay"],
                     tcfg["decay_start_epoch"], tcfg["decay_every_epochs"])

    n_train = sum(p.numel() for p in params)
    line = (f"[train] {spec['stage']} bs_locoformer {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M params "
            f"({n_train / 1e6:.2f}M trained), {model.cfg.n_outputs} outputs, {describe}, "
            f"{tcfg['steps']} steps x batch {tcfg['batch_size']} on {next(model.parameters()).device}")
    spec_out = {**spec, "model": {**spec["model"], "n_outputs": model.cfg.n_outputs}}
    return engine.Recipe(model=model, optimizer=optimizer, batches=batches, loss=loss, lr=lr, describe=line,
                         loss_format="{:.3f} dB", spec_out=spec_out)


def pretrain_recipe(spec, tcfg, clips, device, log) -> engine.Recipe:
    """MixIT (eq. 2-3): the model separates the sum of two mixtures; efficient least-squares solver."""
    from mixlab.data.fma import ClipStore
    from mixlab.data.mixit_pairs import MixITPairSampler
    from mixlab.losses.mixit import mixit_efficient

    model = _build(spec, None, None, device, log)
    clip_store = ClipStore(clips)
    if clip_store.sample_rate != model.cfg.sample_rate:
        raise ValueError(f"{clips}: clips are at {clip_store.sample_rate} Hz, the model at {model.cfg.sample_rate}")
    sampler = MixITPairSampler(clip_store, model.cfg.chunk_size, tcfg["seed"], tcfg["mom_snr_db"])

    def batches(step, rows):
        return sampler.batch(step, tcfg["batch_size"], rows)

    def loss(mixtures, forward):
        mixtures = torch.from_numpy(mixtures).to(device)
        return mixit_efficient(mixtures, forward(mixtures.sum(1)).float())[0].mean()

    return _optimise(spec, tcfg, model, f"{len(clip_store)} FMA clips", batches, loss)


def finetune_recipe(spec, tcfg, store, activity, init, channels, device, log) -> engine.Recipe:
    """Supervised fine-tuning with dynamic mixing; silent-reference-safe thresholded SNR on the stems."""
    from mixlab.data.dynamic_mixing import DynamicMixSampler
    from mixlab.data.stem_store import StemStore
    from mixlab.losses.snr import neg_thresholded_snr_silent_safe

    model = _build(spec, init, channels, device, log)
    stems = StemStore(store)
    if stems.sample_rate != model.cfg.sample_rate:
        raise ValueError(f"{store}: stems are at {stems.sample_rate} Hz, the model at {model.cfg.sample_rate}")
    if model.cfg.n_outputs != len(stems.stems):
        raise ValueError(f"fine-tuning needs one output per stem ({len(stems.stems)}), model has {model.cfg.n_outputs}")
    sampler = DynamicMixSampler(stems, activity, model.cfg.chunk_size, tcfg["seed"], tcfg["gain_db"], tcfg["p_drop"])

    def batches(step, rows):
        return sampler.batch(step, tcfg["batch_size"], rows)

    def loss(batch, forward):
        mixture = torch.from_numpy(batch.mixture).to(device)
        targets = torch.from_numpy(batch.targets).to(device)
        return neg_thresholded_snr_silent_safe(targets, forward(mixture).float(), mixture).mean()

    return _optimise(spec, tcfg, model, f"{len(stems)} songs, dynamic mixing", batches, loss)
