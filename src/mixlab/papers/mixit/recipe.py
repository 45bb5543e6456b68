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
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from mixlab.errors import read_json
from mixlab.models import build_model
from mixlab.models.io import load_model
from mixlab.train import engine
from mixlab.train.schedule import lr_at



def _build(spec: dict, init: str | Path | None, channels: str | Path | None, device, log):
    from mixlab.models.bs_locoformer import select_outputs

    model = build_model(spec["model"])
    if init is None:
        return model.to(device)
    if channels is None:
        raise ValueError("fine-tuning from a pre-trained model needs the selected channels (--channels)")
    pre, pre_spec = load_model(init, "cpu")
    chosen = read_json(channels, "a channel selection", "it is written by `mixlab select-channels`",
                       keys=("channels",))["channels"]
    reduced = select_outputs(pre, chosen)
    # the architecture must match; how it trains (chunk length, dropout) is the fine-tuning's own
    training_only = {"chunk_seconds": model.cfg.chunk_seconds, "dropout": model.cfg.dropout}
    if replace(reduced.cfg, **training_only) != model.cfg:
        raise ValueError(f"{init}: pre-trained model config {pre.cfg} does not match the fine-tuning model "
                         f"{model.cfg} (beyond the number of outputs, the chunk length and dropout)")
    model.load_state_dict(reduced.state_dict())
    log(f"[train] initialised from {init}, outputs {chosen} -> stems")
    return model.to(device)


def _batched_mean(items: list, batch_size: int, loss_of) -> float:
    """Mean of a loss over fixed held-out items, in batches (validation)."""
    total = 0.0
    for i in range(0, len(items), batch_size):
        part = items[i:i + batch_size]
        total += float(loss_of(part)) * len(part)
    return total / len(items)


def _optimise(spec, tcfg, model, describe, batches, loss, validation=None) -> engine.Recipe:
    """What both stages share: frozen parts, AdamW, warm-up + step decay, the start line."""
    if tcfg["freeze_separator"]:
        for p in model.separator.parameters():
            p.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=tcfg["lr"], weight_decay=tcfg["weight_decay"])

    def lr(step):
        return lr_at(step, tcfg["lr"], tcfg["warmup_steps"], tcfg["epoch_steps"], tcfg["decay"],
                     tcfg["decay_start_epoch"], tcfg["decay_every_epochs"], tcfg["decay_stop_epoch"])

    n_train = sum(p.numel() for p in params)
    line = (f"[train] {spec['recipe']} bs_locoformer {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M params "
            f"({n_train / 1e6:.2f}M trained), {model.cfg.n_outputs} outputs, {describe}, "
            f"{tcfg['steps']} steps x batch {tcfg['batch_size']} on {next(model.parameters()).device}")
    spec_out = {**spec, "model": {**spec["model"], "n_outputs": model.cfg.n_outputs}}
    return engine.Recipe(model=model, optimizer=optimizer, batches=batches, loss=loss, lr=lr, describe=line,
                         loss_format="{:.3f} dB", spec_out=spec_out, validation=validation)


def pretrain(spec: dict, inputs: dict, device, log) -> engine.Recipe:
    """MixIT (eq. 2-3): the model separates the sum of two mixtures; efficient least-squares solver.

    inputs: `clips`, the prepared FMA clips."""
    from mixlab.papers.mixit.fma import ClipStore
    from mixlab.papers.mixit.mixit_pairs import MixITPairSampler, split_files
    from mixlab.losses.mixit import mixit_efficient

    tcfg, clips = spec["train"], inputs["clips"]
    model = _build(spec, None, None, device, log)
    clip_store = ClipStore(clips)
    if clip_store.sample_rate != model.cfg.sample_rate:
        raise ValueError(f"{clips}: clips are at {clip_store.sample_rate} Hz, the model at {model.cfg.sample_rate}")
    train_files, valid_files = split_files(clip_store, tcfg["valid_files"])
    sampler = MixITPairSampler(clip_store, model.cfg.chunk_size, tcfg["seed"], tcfg["mom_snr_db"], train_files)

    def batches(step, rows):
        return sampler.batch(step, tcfg["batch_size"], rows)

    def loss(mixtures, forward):
        mixtures = torch.from_numpy(mixtures).to(device)
        per_example = mixit_efficient(mixtures, forward(mixtures.sum(1)).float(),            # summed over the 2 mixtures
                                      solve_on=tcfg["mixit_solve_on"])[0]
        return per_example.mean() / (2 if tcfg["mixit_reduction"] == "mean" else 1)

    validation, held = None, ""
    if valid_files:
        # a fixed set of mixtures of mixtures of the held-out files (its own seed: the same set at every validation)
        held_out = MixITPairSampler(clip_store, model.cfg.chunk_size, tcfg["seed"] + 1, tcfg["mom_snr_db"], valid_files)
        moms = held_out.batch(0, tcfg["valid_chunks"])
        validation = lambda forward, size: _batched_mean(list(moms), size,  # noqa: E731
                                                         lambda part: loss(np.stack(part), forward))
        held = f", {len(valid_files)} files held out for validation"
    return _optimise(spec, tcfg, model, f"{len(clip_store)} FMA clips{held}", batches, loss, validation)


def finetune(spec: dict, inputs: dict, device, log) -> engine.Recipe:
    """Supervised fine-tuning with dynamic mixing; silent-reference-safe thresholded SNR on the stems.

    inputs: `store` (training stems), `activity` (their active segments), `valid_store` (the validation songs,
    with train.validate_every), and to start from a pre-trained model `init` and its selected `channels`."""
    tcfg = spec["train"]
    store, activity, valid_store = inputs["store"], inputs["activity"], inputs.get("valid_store")
    init, channels = inputs.get("init"), inputs.get("channels")
    from mixlab.papers.mixit.dynamic_mixing import DynamicMixSampler
    from mixlab.data.stem_store import StemStore
    from mixlab.losses.snr import neg_thresholded_snr_code, neg_thresholded_snr_silent_safe

    model = _build(spec, init, channels, device, log)
    stems = StemStore(store)
    if stems.sample_rate != model.cfg.sample_rate:
        raise ValueError(f"{store}: stems are at {stems.sample_rate} Hz, the model at {model.cfg.sample_rate}")
    if model.cfg.n_outputs != len(stems.stems):
        raise ValueError(f"fine-tuning needs one output per stem ({len(stems.stems)}), model has {model.cfg.n_outputs}")
    sampler = DynamicMixSampler(stems, activity, model.cfg.chunk_size, tcfg["seed"], tcfg["gain_db"], tcfg["p_drop"],
                                tcfg["gain_norm"])

    def batches(step, rows):
        return sampler.batch(step, tcfg["batch_size"], rows)

    def snr_loss(mixture, targets, forward):
        mixture, targets = torch.from_numpy(mixture).to(device), torch.from_numpy(targets).to(device)
        if tcfg["snr_loss"] == "code":
            return neg_thresholded_snr_code(targets, forward(mixture).float()).mean()
        return neg_thresholded_snr_silent_safe(targets, forward(mixture).float(), mixture).mean()

    def loss(batch, forward):
        return snr_loss(batch.mixture, batch.targets, forward)

    validation, held = None, ""
    if tcfg["validate_every"] or tcfg["keep_best"]:
        if valid_store is None:
            raise ValueError("fine-tuning with validation needs the validation songs' stem store (--valid-store)")
        valid = StemStore(valid_store)
        chunk = model.cfg.chunk_size
        # the validation songs cut into consecutive training-length chunks (their real mixes), at most valid_chunks
        items = [(t, o) for t in range(len(valid)) for o in range(0, int(valid.lengths[t]) - chunk + 1, chunk)]
        items = items[:tcfg["valid_chunks"]]
        if not items:
            raise ValueError(f"{valid_store}: no validation song is as long as one training chunk")

        def validate_chunks(forward, size):
            def part_loss(part):
                targets = np.stack([[valid.read(t, s, o, chunk) for s in range(len(valid.stems))] for t, o in part])
                return snr_loss(targets.sum(1), targets, forward)
            return _batched_mean(items, size, part_loss)
        validation = validate_chunks
        held = f", validation on {len(items)} chunks of {len(valid)} song{'s' * (len(valid) != 1)}"
    return _optimise(spec, tcfg, model, f"{len(stems)} songs, dynamic mixing{held}", batches, loss, validation)
