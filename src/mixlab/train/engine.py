"""One training engine for every model of both papers (in the spirit of demucs' `solver.py`).

A paper contributes a *recipe* (`Recipe`): the model, its optimizer, the batch source
(a pure function of step), the loss of a batch, an optional lr schedule, EMA and
validation. The engine owns everything else, identically for all of them:

- resume: model, EMA, optimizer, GradScaler, step, CPU and CUDA RNG states and the run's
  history, written atomically every `checkpoint_every` steps and on SIGTERM/SIGUSR1
  (train/preemption.py); a checkpoint of another spec is refused;
- AMP on CUDA (`amp`: fp16 autocast around the forward + GradScaler, or bf16 without it),
  on the CPU bf16 autocast where it computes in bf16 (`cpu_amp`), else full precision;
- `compile`: the network through torch.compile (inductor), forward and backward;
- no host synchronisation per step: the loss stays on the device, summed there, and a
  non-finite loss is caught when the loss is logged and before anything is written;
- DDP under torchrun: each rank trains on its rows of the step's global batch;
  rank 0 alone writes logs, checkpoints and models (train/distributed.py);
- gradient accumulation (`accumulate`): each rank's rows in that many micro-batches, gradients
  summed before one optimizer step; DDP synchronises on the last micro-batch only. The global
  batch is processes x micro-batch x accumulate, the gradient that of its mean whatever the split;
- batches prefetched by `workers` background processes (a DataLoader over step
  indices): the same batches as in-process sampling, so the same weights;
- a non-finite loss stops every rank at the same point, naming its step;
- a progress line every `log_every` steps, the history (step, loss, lr, validation
  loss, steps/s) as CSV beside the model, TensorBoard events when it is installed;
- EMA snapshots every `snapshot_every` steps (Paper A Fig. 2);
- validation every `validate_every` steps on the recipe's held-out batches, the
  `keep_best` checkpoints with the lowest validation loss kept, and with
  `average_best` their average as the final model (Paper B's official habit);
- the final model written atomically, its state kept until Snakemake records it
  (checkpoint.keep_final).
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from mixlab.config import NOT_IN_WEIGHTS, ConfigError
from mixlab.models import io as model_io
from mixlab.train import checkpoint, distributed
from mixlab.train.defaults import with_defaults
from mixlab.train.preemption import StopRequest, stop_here

HISTORY = ("step", "loss", "lr", "valid_loss", "steps_per_s")


@dataclass
class Recipe:
    """What a paper's training contributes; shapes and units are the recipe's business."""
    model: torch.nn.Module                               # on its device; parameters the optimizer holds
    optimizer: torch.optim.Optimizer
    batches: Callable[[int, slice], Any]                 # (step, rows) -> those rows of step's global batch
    loss: Callable[[Any, Callable], torch.Tensor]        # (batch, forward) -> mean over the rows; forward runs the net
    lr: Callable[[int], float] | None = None             # schedule over steps; None: the optimizer's lr
    ema: Any = None                                      # train.ema.EMA: snapshots and the model hold it
    # (forward, batch_size) -> mean loss on held-out items, in batches of the training micro-batch (fits memory)
    validation: Callable[[Callable, int], float] | None = None
    describe: str = ""                                   # the start line
    loss_format: str = "{:.6f}"
    spec_out: dict | None = None                         # spec stored in the model file (default: the run's)

    def weights(self) -> dict:
        """What snapshots, best checkpoints and the final model hold: the EMA copy when there is one."""
        return (self.ema.model if self.ema is not None else self.model).state_dict()


def spec_key(spec: dict) -> str:
    """What a resume state must match: the spec, less settings that do not change the weights."""
    # workers, accumulate and activation checkpointing do not change the weights (beyond rounding): a run
    # resumes on other hardware
    train = {k: v for k, v in spec.get("train", {}).items() if k not in NOT_IN_WEIGHTS}
    # nor do the separation settings the model file carries, nor where the inputs lie (which ones are given does)
    rest = {k: v for k, v in spec.items() if k not in ("separate", "inputs")}
    return json.dumps({**rest, "train": train, "inputs": sorted(spec.get("inputs", {}))}, sort_keys=True)


def train(spec: dict, defaults: dict, build: Callable, out, resume_dir, device: str = "cpu", log=print,
          snapshots=None) -> Path:
    """Train the recipe `build(spec, inputs, device, log)` makes; write the final weights to `out`.

    `defaults` fill the spec's `train` section (a key they lack is an error) before anything else: the recipe,
    the resume key and the model file see the same complete spec."""
    spec = with_defaults(spec, defaults)
    tcfg = spec["train"]
    key = spec_key(spec)
    if checkpoint.restore_final(out, resume_dir, key, snapshots, log):
        return Path(out)
    ranks, dev = distributed.setup(device)
    log = log if ranks.is_main else (lambda *a, **k: None)
    try:
        torch.manual_seed(tcfg["seed"])
        micro = ranks.micro_batches(tcfg["batch_size"], tcfg.get("accumulate", 1))
        recipe = build(spec, spec.get("inputs", {}), dev, log)
        return Engine(recipe, spec, key, tcfg, dev, ranks, micro, log).run(out, resume_dir, snapshots)
    finally:
        distributed.teardown(ranks)


class _Steps(torch.utils.data.Dataset):
    """Step indices -> the step's micro-batches, for a DataLoader whose workers (forked) prepare them ahead."""

    def __init__(self, batches, micro, start, stop):
        self.batches, self.micro, self.start, self.stop = batches, micro, start, stop

    def __len__(self):
        return self.stop - self.start

    def __getitem__(self, i):
        return _shared([self.batches(self.start + i, rows) for rows in self.micro], True)


def _shared(x, to_torch: bool):
    """numpy arrays <-> torch tensors, through lists, tuples and dataclasses. A forked worker's tensors reach the
    training process in shared memory; numpy arrays would be pickled through a pipe, which costs more than
    sampling them (a batch of Paper A is ~40 MB)."""
    import dataclasses

    import numpy as np

    if to_torch and isinstance(x, np.ndarray):
        return torch.from_numpy(x)
    if not to_torch and isinstance(x, torch.Tensor):
        return x.numpy()
    if isinstance(x, (list, tuple)):
        return type(x)(_shared(v, to_torch) for v in x)
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return dataclasses.replace(x, **{f.name: _shared(getattr(x, f.name), to_torch) for f in dataclasses.fields(x)})
    return x


def batch_stream(batches, micro: list[slice], start: int, stop: int, workers: int):
    """For steps start..stop-1 in order, the list of the step's micro-batches (rows `micro` of its global
    batch), prepared by `workers` forked processes (0: here)."""
    if workers <= 0:
        for step in range(start, stop):
            yield [batches(step, rows) for rows in micro]
        return
    loader = torch.utils.data.DataLoader(
        _Steps(batches, micro, start, stop), batch_size=None, shuffle=False, num_workers=workers,
        prefetch_factor=2, multiprocessing_context="fork", collate_fn=lambda b: b,
        # its own generator: the loader's worker seed must not be drawn from the global RNG (dropout's)
        generator=torch.Generator().manual_seed(0))
    for micro_batches in loader:
        yield _shared(micro_batches, False)


def average_states(states: list[dict]) -> dict:
    """Element-wise mean of floating tensors; other tensors (counters) from the first state."""
    out = {}
    for k, v in states[0].items():
        if torch.is_floating_point(v):
            out[k] = torch.stack([s[k].float() for s in states]).mean(0).to(v.dtype)
        else:
            out[k] = v.clone()
    return out


def cpu_has_bf16() -> bool:
    """Whether this CPU computes in bf16 natively (AVX512-BF16 or AMX): elsewhere bf16 autocast is slower than fp32."""
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:       # private helpers of torch's CPU module; absent: read the flags
        try:
            flags = Path("/proc/cpuinfo").read_text()
        except OSError:
            return False
        return " avx512_bf16" in flags or " amx_bf16" in flags


def amp_dtype(setting: str, device: torch.device, log=print, cpu_setting: str = "fp32", key: str = "train"):
    """The autocast dtype on this device, or None (full precision).

    CUDA, `<key>.amp`: bf16, fp16 (with loss scaling in training), or fp32. CPU, `<key>.cpu_amp`: bf16 or fp32.
    A precision the device does not compute in is an error naming the key, not a silent switch: bf16 and fp16
    train differently (range, loss scaling), and a run must be the one its spec says.
    """
    if setting not in ("fp16", "bf16", "fp32"):
        raise ConfigError(f"{key}.amp must be fp16, bf16 or fp32, got {setting!r}")
    if device.type == "cpu":
        if cpu_setting not in ("bf16", "fp32"):
            raise ConfigError(f"{key}.cpu_amp must be bf16 or fp32, got {cpu_setting!r}")
        if cpu_setting == "bf16":
            if not cpu_has_bf16():
                raise ConfigError(f"{key}.cpu_amp is bf16 but this CPU has no native bf16 (AVX512-BF16 or AMX): "
                                 f"bf16 would run emulated, slower than fp32; set {key}.cpu_amp: fp32")
            return torch.bfloat16
        return None
    if device.type != "cuda" or setting == "fp32":
        return None
    if setting == "bf16":
        if not torch.cuda.is_bf16_supported():
            name = torch.cuda.get_device_name(device) if torch.cuda.is_available() else "this GPU"
            raise ConfigError(f"{key}.amp is bf16 but {name} has no bf16 (it needs compute capability 8.0, "
                             f"e.g. A100/H100); set {key}.amp: fp16 (loss-scaled) or fp32")
        return torch.bfloat16
    return torch.float16


class Engine:
    def __init__(self, recipe: Recipe, spec, key, tcfg, device, ranks, micro: list[slice], log):
        self.r, self.spec, self.key, self.tcfg = recipe, spec, key, tcfg
        self.device, self.ranks, self.micro, self.log = device, ranks, micro, log
        self.micro_size = micro[0].stop - micro[0].start
        if tcfg.get("checkpoint_activations"):
            switch = getattr(recipe.model, "checkpoint_activations", None)
            if switch is None:
                raise ConfigError(f"train.checkpoint_activations: {type(recipe.model).__name__} has no activation "
                                 "checkpointing; set it to false")
            switch(True)
        self.net = self.ddp = distributed.wrap(recipe.model, ranks, device)
        if tcfg["compile"]:
            # forward and backward compiled (inductor); the recipe's model keeps the parameters and state_dict
            self.net = torch.compile(self.net)
        self.use_amp = device.type == "cuda"
        self.amp_dtype = amp_dtype(tcfg["amp"], device, log, tcfg["cpu_amp"])
        # loss scaling only for fp16: bf16 has fp32's exponent range (the authors of Paper B train without it)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype is torch.float16)
        self.params = [p for p in recipe.model.parameters() if p.requires_grad]
        self.step = 0
        # the first step whose loss was not finite (-1: none), kept on the device: checked when the loss is
        # logged and before anything is saved, not by a host synchronisation every step
        self.bad_step = torch.full((), -1, dtype=torch.long, device=device)
        self.history: list[dict] = []
        self.best: list[dict] = []                         # {"loss", "step", "file"}, lowest first

    # ---- the forward pass the recipe's loss calls: autocast around the net only, losses in fp32
    def forward(self, *inputs):
        with torch.autocast(device_type=self.device.type, dtype=self.amp_dtype or torch.float32,
                            enabled=self.amp_dtype is not None):
            return self.net(*inputs)

    # ---- resume state
    def state(self) -> dict:
        s = {"spec": self.key, "model": self.r.model.state_dict(), "optimizer": self.r.optimizer.state_dict(),
             "scaler": self.scaler.state_dict(), "step": self.step, "rng_cpu": torch.get_rng_state(),
             "history": json.dumps(self.history), "best": json.dumps(self.best)}
        if self.r.ema is not None:
            s["ema"] = self.r.ema.state_dict()
        if self.use_amp:
            s["rng_cuda"] = torch.cuda.get_rng_state()
        return s

    def load(self, path: Path) -> None:
        # on the CPU: RNG states must stay CPU ByteTensors; load_state_dict moves weights and optimizer state
        s = checkpoint.load(path, map_location="cpu")
        if s["spec"] != self.key:
            raise RuntimeError(f"{path} was written by a run with a different spec; delete it "
                               "(or the whole resume folder) to train this spec from scratch.")
        self.r.model.load_state_dict(s["model"])
        if self.r.ema is not None:
            self.r.ema.load_state_dict(s["ema"])
        self.r.optimizer.load_state_dict(s["optimizer"])
        self.scaler.load_state_dict(s["scaler"])
        torch.set_rng_state(s["rng_cpu"])
        if self.use_amp and "rng_cuda" in s:
            torch.cuda.set_rng_state(s["rng_cuda"])
        self.step = int(s["step"])
        self.history = json.loads(s.get("history", "[]"))
        self.best = json.loads(s.get("best", "[]"))

    # ---- one optimisation step: the only place a gradient is taken
    def optimise(self, micro_batches: list) -> torch.Tensor:
        """One step over this rank's micro-batches; returns the loss of their mean as a detached tensor
        (no host synchronisation)."""
        opt = self.r.optimizer
        opt.zero_grad(set_to_none=True)
        n = len(micro_batches)
        value = torch.zeros((), device=self.device)
        for i, batch in enumerate(micro_batches):
            # equal micro-batches: the mean of their means is the mean over the rank's rows
            loss = self.r.loss(batch, self.forward) / n
            # DDP all-reduces gradients on the last micro-batch only; the others add up locally
            sync = i == n - 1 or not self.ranks.distributed
            with contextlib.nullcontext() if sync else self.ddp.no_sync():
                self.scaler.scale(loss).backward()
            value = value + loss.detach().float()
        self.bad_step = torch.where((self.bad_step < 0) & ~torch.isfinite(value), self.step, self.bad_step)
        if self.tcfg["grad_clip"] > 0:
            self.scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(self.params, self.tcfg["grad_clip"])
        self.scaler.step(opt)
        self.scaler.update()
        if self.r.ema is not None:
            self.r.ema.update(self.r.model)
        return value

    def check_finite(self) -> None:
        """Stop every rank, at the same point, if some rank's loss was not finite since the start.

        Called before the loss is logged and before anything is written, so no checkpoint or model ever
        holds the weights of a step that followed a non-finite loss.
        """
        bad = int(self.bad_step)
        if distributed.any_rank([bad >= 0], self.ranks, self.device)[0]:
            where = f"at step {bad}" if bad >= 0 else "on another rank"
            raise FloatingPointError(f"loss is not finite {where}; lower train.lr or check the data")

    def validate(self) -> float:
        model = self.r.ema.model if self.r.ema is not None else self.r.model
        was = model.training
        model.eval()
        with torch.no_grad():
            forward = (lambda *x: model(*x)) if self.r.ema is not None else self.forward
            value = self.r.validation(forward, self.micro_size)
        model.train(was)
        return distributed.mean_over_ranks(float(value), self.ranks, self.device)

    def keep_if_best(self, loss: float, best_dir: Path) -> None:
        k = self.tcfg["keep_best"]
        if k <= 0:
            return
        if len(self.best) >= k and loss >= self.best[-1]["loss"]:
            return
        file = best_dir / f"step{self.step:08d}.pt"
        model_io.save_model(file, self.spec_out(), self.r.weights(), self.step)
        self.best = sorted(self.best + [{"loss": loss, "step": self.step, "file": file.name}],
                           key=lambda b: (b["loss"], b["step"]))
        for dropped in self.best[k:]:
            (best_dir / dropped["file"]).unlink(missing_ok=True)
        self.best = self.best[:k]

    def spec_out(self) -> dict:
        return self.r.spec_out if self.r.spec_out is not None else self.spec

    def run(self, out, resume_dir, snapshots=None) -> Path:
        t = self.tcfg
        resume_dir = Path(resume_dir)
        resume_path, snap_tmp, best_dir = resume_dir / "last.pt", resume_dir / checkpoint.SNAPSHOTS, resume_dir / "best"
        main = self.ranks.is_main
        if t["snapshot_every"] and snapshots is None:
            raise ValueError("train.snapshot_every is set but no snapshot folder was given (--snapshots)")
        if (t["validate_every"] or t["keep_best"] or t["average_best"]) and self.r.validation is None:
            raise ValueError("train.validate_every/keep_best/average_best need held-out batches; this recipe has none")
        if t["average_best"] and not t["keep_best"]:
            raise ValueError("train.average_best needs train.keep_best > 0")
        if resume_path.exists():
            self.load(resume_path)
            self.log(f"[train] resumed from {resume_path} at step {self.step}")
        # files of this run up to its resume point only: leftovers (a deleted resume state, a changed
        # spec) must not end up in this run's curve or average
        if main:
            for folder in (snap_tmp, best_dir):
                for f in folder.glob("step*.pt") if folder.exists() else []:
                    keep = {b["file"] for b in self.best} if folder == best_dir else None
                    if int(f.stem[4:]) > self.step or (keep is not None and f.name not in keep):
                        f.unlink()

        def save_resume():
            self.check_finite()
            if main:
                checkpoint.atomic_save(self.state(), resume_path)

        board = _board(resume_dir) if main else None
        split = [f"{self.ranks.world} processes"] if self.ranks.world > 1 else []
        split += [f"{len(self.micro)} micro-batches"] if len(self.micro) > 1 else []
        self.log(self.r.describe + (f" ({' x '.join(split)} x {self.micro_size})" if split else ""))
        self.r.model.train()
        t0, s0, running = time.perf_counter(), self.step, torch.zeros((), dtype=torch.float64, device=self.device)
        lr = self.r.optimizer.param_groups[0]["lr"]
        stream = batch_stream(self.r.batches, self.micro, self.step, t["steps"], t["workers"])
        with StopRequest() as stop:
            for batch in stream:
                if self.r.lr is not None:
                    lr = self.r.lr(self.step)
                    for group in self.r.optimizer.param_groups:
                        group["lr"] = lr
                running += self.optimise(batch)
                self.step += 1
                step = self.step
                valid = None
                if t["validate_every"] and (step % t["validate_every"] == 0 or step == t["steps"]):
                    self.check_finite()
                    valid = self.validate()
                    if main:
                        self.keep_if_best(valid, best_dir)
                if step % t["log_every"] == 0 or step == t["steps"]:
                    self.check_finite()
                    n = step - s0
                    rate = n / (time.perf_counter() - t0)
                    loss = distributed.mean_over_ranks(float(running), self.ranks, self.device) / n
                    row = {"step": step, "loss": loss, "lr": lr, "valid_loss": valid, "steps_per_s": rate}
                    self.history.append(row)
                    if board is not None:
                        board.add_scalar("loss/train", loss, step)
                        board.add_scalar("lr", lr, step)
                        if valid is not None:
                            board.add_scalar("loss/valid", valid, step)
                    self.log(f"[train] step {step}/{t['steps']} loss {self.r.loss_format.format(loss)} lr {lr:.2e}"
                             + (f" valid {self.r.loss_format.format(valid)}" if valid is not None else "")
                             + f" {rate:.2f} steps/s")
                    t0, s0, running = time.perf_counter(), step, torch.zeros((), dtype=torch.float64, device=self.device)
                elif valid is not None:
                    self.history.append({"step": step, "loss": None, "lr": lr, "valid_loss": valid, "steps_per_s": None})
                if t["snapshot_every"] and step % t["snapshot_every"] == 0:
                    self.check_finite()
                    if main:
                        model_io.save_model(snap_tmp / f"step{step:08d}.pt", self.spec_out(), self.r.weights(), step)
                if step % t["checkpoint_every"] == 0 and step < t["steps"]:
                    save_resume()
                stop_here(stop, step, t["steps"], save_resume, resume_path, self.ranks, self.device, self.log)
        if board is not None:
            board.close()
        self.check_finite()
        if main:
            self.finish(Path(out), resume_dir, snap_tmp, snapshots, best_dir)
        distributed.barrier(self.ranks)
        return Path(out)

    def finish(self, out: Path, resume_dir: Path, snap_tmp: Path, snapshots, best_dir: Path) -> None:
        if snapshots is not None:
            Path(snapshots).mkdir(parents=True, exist_ok=True)
            # links, not moves: the resume folder keeps them with the final state until the output is recorded
            for f in sorted(snap_tmp.glob("step*.pt")) if snap_tmp.exists() else []:
                checkpoint.link_or_copy(f, Path(snapshots) / f.name)
        weights = self.r.weights()
        if self.tcfg["average_best"] and self.best:
            weights = average_states([checkpoint.load(best_dir / b["file"])["state_dict"] for b in self.best])
            self.log(f"[train] final model: average of the {len(self.best)} best checkpoints by validation loss "
                     f"(steps {', '.join(str(b['step']) for b in self.best)})")
        history = checkpoint.history_path(out)
        write_history(self.history, history)
        model_io.save_model(out, self.spec_out(), weights, self.step)
        checkpoint.keep_final(out, resume_dir, self.key, self.step)
        # The finished model is the output now; its final state stays (keep_final) until Snakemake records it.
        (resume_dir / "last.pt").unlink(missing_ok=True)
        self.log(f"[train] wrote {out} and {history.name}")


def write_history(rows: list[dict], path: Path) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=HISTORY, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r[k]) for k in HISTORY})
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(buf.getvalue())
    tmp.replace(path)


def _board(resume_dir: Path):
    """TensorBoard events under <resume dir>/tensorboard when the package is installed; else None."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except Exception:           # tensorboard is an optional extra
        return None
    return SummaryWriter(str(resume_dir / "tensorboard"))
