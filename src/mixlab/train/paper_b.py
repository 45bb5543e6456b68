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

A resume checkpoint (model, optimizer, scaler, step, RNG) is written every
`checkpoint_every` steps and on SIGTERM/SIGUSR1 (train/preemption.py), and
picked up when the same command is rerun; batches are a pure function of
(seed, step), so a resumed run equals an uninterrupted one. Under torchrun each
process trains on its rows of the global batch with DDP (train/distributed.py);
rank 0 writes checkpoints, the model and the log.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from mixlab.models import build_model
from mixlab.train import checkpoint, distributed
from mixlab.train.preemption import StopRequest, stop_here
from mixlab.train.schedule import lr_at

PAPER_B_DEFAULTS = {
    "steps": 1000, "epoch_steps": 100, "batch_size": 4, "lr": 1e-3, "weight_decay": 1e-2,
    "warmup_steps": 0, "decay": 1.0, "decay_start_epoch": 0, "decay_every_epochs": 1, "grad_clip": 5.0,
    "checkpoint_every": 100, "log_every": 10, "seed": 0,
    # fine-tuning only
    "gain_db": 10.0, "p_drop": 0.05, "freeze_separator": False,
}
STAGES = ("pretrain", "finetune")


def _build(spec: dict, init: str | Path | None, channels: str | Path | None, device, log):
    from mixlab.models.bs_locoformer import select_outputs

    model = build_model(spec["model"])
    if init is None:
        return model.to(device)
    if channels is None:
        raise ValueError("fine-tuning from a pre-trained model needs the selected channels (--channels)")
    pre, pre_spec = checkpoint.load_model(init, "cpu")
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
    if checkpoint.restore_final(out, resume_dir, json.dumps(spec, sort_keys=True), log=log):
        return Path(out)
    ranks, device = distributed.setup(device)
    try:
        return _train(spec, tcfg, stage, out, resume_dir, device, ranks,
                      log if ranks.is_main else (lambda *a, **k: None), clips, store, activity, init, channels)
    finally:
        distributed.teardown(ranks)


def _train(spec, tcfg, stage, out, resume_dir, device, ranks, log, clips, store, activity, init, channels) -> Path:
    torch.manual_seed(tcfg["seed"])
    rows = ranks.part(tcfg["batch_size"])
    model = _build(spec, init, channels, device, log)
    chunk = model.cfg.chunk_size

    if stage == "pretrain":
        from mixlab.data.fma import ClipStore
        from mixlab.data.mixit_pairs import MixITPairSampler
        from mixlab.losses.mixit import mixit_efficient

        clip_store = ClipStore(clips)
        if clip_store.sample_rate != model.cfg.sample_rate:
            raise ValueError(f"{clips}: clips are at {clip_store.sample_rate} Hz, the model at {model.cfg.sample_rate}")
        sampler = MixITPairSampler(clip_store, chunk, tcfg["seed"])

        def step_loss(step):
            mixtures = torch.from_numpy(sampler.batch(step, tcfg["batch_size"], rows)).to(device)
            with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
                est = net(mixtures.sum(1))
            return mixit_efficient(mixtures, est.float())[0].mean()
        data_desc = f"{len(clip_store)} FMA clips"
    else:
        from mixlab.data.dynamic_mixing import DynamicMixSampler
        from mixlab.data.stem_store import StemStore
        from mixlab.losses.snr import neg_thresholded_snr_silent_safe

        stems = StemStore(store)
        if stems.sample_rate != model.cfg.sample_rate:
            raise ValueError(f"{store}: stems are at {stems.sample_rate} Hz, the model at {model.cfg.sample_rate}")
        if model.cfg.n_outputs != len(stems.stems):
            raise ValueError(f"fine-tuning needs one output per stem ({len(stems.stems)}), model has {model.cfg.n_outputs}")
        sampler = DynamicMixSampler(stems, activity, chunk, tcfg["seed"], tcfg["gain_db"], tcfg["p_drop"])

        def step_loss(step):
            batch = sampler.batch(step, tcfg["batch_size"], rows)
            mixture = torch.from_numpy(batch.mixture).to(device)
            targets = torch.from_numpy(batch.targets).to(device)
            with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
                est = net(mixture)
            return neg_thresholded_snr_silent_safe(targets, est.float(), mixture).mean()
        data_desc = f"{len(stems)} songs, dynamic mixing"

    if tcfg["freeze_separator"]:
        for p in model.separator.parameters():
            p.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    net = distributed.wrap(model, ranks, device)  # after freezing: DDP syncs only trained parameters
    optimizer = torch.optim.AdamW(params, lr=tcfg["lr"], weight_decay=tcfg["weight_decay"])
    use_amp = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)

    spec_key = json.dumps(spec, sort_keys=True)
    resume_path = Path(resume_dir) / "last.pt"
    step = 0
    if resume_path.exists():
        # on the CPU: RNG states must stay CPU ByteTensors; load_state_dict moves weights and optimizer state
        state = checkpoint.load(resume_path, map_location="cpu")
        if state["spec"] != spec_key:
            raise RuntimeError(f"{resume_path} was written by a run with a different spec; delete it "
                               "(or the whole resume folder) to train this spec from scratch.")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng_cpu"])
        step = int(state["step"])
        log(f"[train] resumed from {resume_path} at step {step}")

    def save_resume():
        if not ranks.is_main:
            return
        checkpoint.atomic_save({"spec": spec_key, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                "scaler": scaler.state_dict(), "step": step, "rng_cpu": torch.get_rng_state()},
                               resume_path)

    n_train = sum(p.numel() for p in params)
    log(f"[train] {stage} bs_locoformer {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M params "
        f"({n_train / 1e6:.2f}M trained), {model.cfg.n_outputs} outputs, {data_desc}, "
        f"{tcfg['steps']} steps x batch {tcfg['batch_size']} on {device}"
        + (f" ({ranks.world} processes x {rows.stop - rows.start})" if ranks.world > 1 else ""))
    def _update(loss):
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if tcfg["grad_clip"] > 0:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(params, tcfg["grad_clip"])
        scaler.step(optimizer)
        scaler.update()

    model.train()
    t0, s0, running = time.perf_counter(), step, 0.0
    with StopRequest() as stop:
        while step < tcfg["steps"]:
            lr = lr_at(step, tcfg["lr"], tcfg["warmup_steps"], tcfg["epoch_steps"], tcfg["decay"],
                       tcfg["decay_start_epoch"], tcfg["decay_every_epochs"])
            for group in optimizer.param_groups:
                group["lr"] = lr
            loss = step_loss(step)
            # every rank must agree before the backward pass: a rank that raised alone would hang the others
            if distributed.any_rank([not torch.isfinite(loss).item()], ranks, device)[0]:
                raise FloatingPointError(f"loss is not finite at step {step} (this rank: {loss.item()}); "
                                         "lower train.lr or check the data")
            _update(loss)
            step += 1
            running += loss.item()
            if step % tcfg["log_every"] == 0 or step == tcfg["steps"]:
                n = step - s0
                log(f"[train] step {step}/{tcfg['steps']} loss "
                    f"{distributed.mean_over_ranks(running, ranks, device) / n:.3f} dB lr {lr:.2e} "
                    f"{n / (time.perf_counter() - t0):.2f} steps/s")
                t0, s0, running = time.perf_counter(), step, 0.0
            if step % tcfg["checkpoint_every"] == 0 and step < tcfg["steps"]:
                save_resume()
            stop_here(stop, step, tcfg["steps"], save_resume, resume_path, ranks, device, log)

    if ranks.is_main:
        spec_out = {**spec, "model": {**spec["model"], "n_outputs": model.cfg.n_outputs}}
        checkpoint.save_model(out, spec_out, model.state_dict(), step)
        checkpoint.keep_final(out, resume_dir, spec_key, step)
        resume_path.unlink(missing_ok=True)
        log(f"[train] wrote {out}")
    distributed.barrier(ranks)
    return Path(out)

