"""Supervised training of a separator on sampled mixes (Paper A).

MSE on waveforms, Adam, EMA of the weights, AMP only on CUDA, optional
gradient clipping. A resume checkpoint (model, EMA, optimizer, scaler, step,
RNG states) is written every `checkpoint_every` steps and when SIGTERM or
SIGUSR1 arrives (train/preemption.py); rerunning the same command after a kill
continues from it. Batches are a pure function of (seed, step), so a resumed
run reproduces an uninterrupted one. Launched by torchrun, each process trains
on its rows of the global batch under DDP (train/distributed.py); rank 0 alone
writes checkpoints, snapshots, the model and the log.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from mixlab.data.sampling import MixSampler
from mixlab.data.stem_store import StemStore
from mixlab.models import build_model, model_chunk
from mixlab.train import checkpoint, distributed
from mixlab.train.defaults import TRAIN_DEFAULTS
from mixlab.train.ema import EMA
from mixlab.train.preemption import StopRequest, stop_here



def _spec_hash(spec: dict) -> str:
    return json.dumps(spec, sort_keys=True)


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
    if checkpoint.restore_final(out, resume_dir, _spec_hash(spec), snapshots, log):
        return Path(out)
    ranks, device = distributed.setup(device)
    try:
        return _train(spec, tcfg, store_path, out, resume_dir, device, ranks,
                      log if ranks.is_main else (lambda *a, **k: None), snapshots)
    finally:
        distributed.teardown(ranks)


def _train(spec, tcfg, store_path, out, resume_dir, device, ranks, log, snapshots) -> Path:
    torch.manual_seed(tcfg["seed"])
    rows = ranks.part(tcfg["batch_size"])

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
    if tcfg["snapshot_every"] and snapshots is None:
        raise ValueError("train.snapshot_every is set but no snapshot folder was given (--snapshots)")
    snap_tmp = Path(resume_dir) / checkpoint.SNAPSHOTS
    model = build_model(spec["model"]).to(device)
    net = distributed.wrap(model, ranks, device)
    ema = EMA(model, tcfg["ema_decay"])
    optimizer = torch.optim.Adam(model.parameters(), lr=tcfg["lr"])
    use_amp = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)

    resume_path = Path(resume_dir) / "last.pt"
    step = 0
    if resume_path.exists():
        # on the CPU: RNG states must stay CPU ByteTensors; load_state_dict moves weights and optimizer state
        state = checkpoint.load(resume_path, map_location="cpu")
        if state["spec"] != _spec_hash(spec):
            raise RuntimeError(f"{resume_path} was written by a run with a different spec; delete it "
                               "(or the whole resume folder) to train this spec from scratch.")
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng_cpu"])
        if use_amp and "rng_cuda" in state:
            torch.cuda.set_rng_state(state["rng_cuda"])
        step = int(state["step"])
        log(f"[train] resumed from {resume_path} at step {step}")

    def save_resume():
        if not ranks.is_main:
            return
        state = {"spec": _spec_hash(spec), "model": model.state_dict(), "ema": ema.state_dict(),
                 "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict(), "step": step,
                 "rng_cpu": torch.get_rng_state()}
        if use_amp:
            state["rng_cuda"] = torch.cuda.get_rng_state()
        checkpoint.atomic_save(state, resume_path)

    # snapshots belong to this run up to its resume point; older leftovers (a deleted
    # resume state, a changed spec) must not end up in this run's curve
    if snap_tmp.exists() and ranks.is_main:
        for f in snap_tmp.glob("step*.pt"):
            if int(f.stem[4:]) > step:
                f.unlink()

    n_params = sum(p.numel() for p in model.parameters())
    log(f"[train] {spec['model']['name']} {n_params / 1e6:.2f}M params, {len(store)} songs, "
        f"p_original={tcfg['p_original']}, {tcfg['steps']} steps x batch {tcfg['batch_size']} on {device}"
        + (f" ({ranks.world} processes x {rows.stop - rows.start})" if ranks.world > 1 else ""))
    def _step(step, running):
        batch = sampler.batch(step, tcfg["batch_size"], rows)
        mixture = torch.from_numpy(batch.mixture).to(device)
        targets = torch.from_numpy(batch.targets).to(device)
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
            estimates = net(mixture)
        # mean over this rank's rows; DDP averages the ranks' gradients: the global batch's mean
        loss = torch.nn.functional.mse_loss(estimates.float(), targets)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if tcfg["grad_clip"] > 0:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), tcfg["grad_clip"])
        scaler.step(optimizer)
        scaler.update()
        ema.update(model)
        return step + 1, running + loss.item()

    model.train()
    t0, s0, running = time.perf_counter(), step, 0.0
    with StopRequest() as stop:
        while step < tcfg["steps"]:
            step, running = _step(step, running)
            if step % tcfg["log_every"] == 0 or step == tcfg["steps"]:
                n = step - s0
                rate = n / (time.perf_counter() - t0)
                log(f"[train] step {step}/{tcfg['steps']} loss "
                    f"{distributed.mean_over_ranks(running, ranks, device) / n:.6f} {rate:.2f} steps/s")
                t0, s0, running = time.perf_counter(), step, 0.0
            if tcfg["snapshot_every"] and step % tcfg["snapshot_every"] == 0 and ranks.is_main:
                checkpoint.save_model(snap_tmp / f"step{step:08d}.pt", spec, ema.state_dict(), step)
            if step % tcfg["checkpoint_every"] == 0 and step < tcfg["steps"]:
                save_resume()
            stop_here(stop, step, tcfg["steps"], save_resume, resume_path, ranks, device, log)

    if ranks.is_main:
        _finish(out, spec, ema, step, snap_tmp, snapshots, resume_path, log)
        checkpoint.keep_final(out, resume_dir, _spec_hash(spec), step)
    distributed.barrier(ranks)
    return Path(out)


def _finish(out, spec, ema, step, snap_tmp, snapshots, resume_path, log):
    if snapshots is not None:
        Path(snapshots).mkdir(parents=True, exist_ok=True)
        # links, not moves: the resume folder keeps them with the final state until the output is recorded
        for f in sorted(snap_tmp.glob("step*.pt")) if snap_tmp.exists() else []:
            checkpoint.link_or_copy(f, Path(snapshots) / f.name)
    checkpoint.save_model(out, spec, ema.state_dict(), step)
    # The finished model is the output now; a stale resume state would make a forced rerun a no-op.
    resume_path.unlink(missing_ok=True)
    log(f"[train] wrote {out}")

