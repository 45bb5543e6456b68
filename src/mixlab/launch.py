"""Start a training command on its own GPUs: `mixlab launch --gpus N -- mixlab train ...`.

- N = 0: the command runs as it is (CPU).
- Devices: under SLURM the allocation's devices (CUDA_VISIBLE_DEVICES) are used
  as they are. On a workstation Snakemake's `--resources gpu=K` only counts GPUs,
  so each job claims N free devices among the visible ones by an exclusive lock
  file per device (in MIXLAB_GPU_LOCKS, default /tmp/mixlab-gpu-locks-<uid>) and
  sees only those through CUDA_VISIBLE_DEVICES.
  The locks are inherited by the command and released when it exits, however it exits.
- N > 1: the command is started by torchrun, one process per device, on one node
  (train/distributed.py does the rest).
"""
from __future__ import annotations

import fcntl
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


def default_lock_dir() -> Path:
    return Path(os.environ.get("MIXLAB_GPU_LOCKS") or Path(tempfile.gettempdir()) / f"mixlab-gpu-locks-{os.getuid()}")


def visible_gpu_count() -> int:
    import torch

    return torch.cuda.device_count()


def claim_gpus(n: int, devices: list[str], lock_dir: Path, wait_s: float = 600.0, log=print) -> tuple[list[str], list[int]]:
    """Lock n of `devices` (CUDA ids) that no other job holds -> (the locked ids, their open lock fds)."""
    if n > len(devices):
        raise RuntimeError(f"this job asks for {n} GPUs but the machine has {len(devices)}; lower the preset's "
                           "resources.*.gpu or run it where there are enough")
    lock_dir.mkdir(parents=True, exist_ok=True)
    deadline, said = time.monotonic() + wait_s, False
    while True:
        ids, fds = [], []
        for d in devices:
            fd = os.open(lock_dir / f"gpu{d}.lock", os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            ids.append(d)
            fds.append(fd)
            if len(ids) == n:
                return ids, fds
        for fd in fds:
            os.close(fd)
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {n} free GPUs after {wait_s:.0f} s (locks in {lock_dir}); is another "
                               "workflow using them? Snakemake's --resources gpu=K must not exceed the GPUs here")
        if not said:
            log(f"[launch] waiting for {n} free GPU(s) of {len(devices)} (locks in {lock_dir})")
            said = True
        time.sleep(2.0)


def command_for(n_gpus: int, command: list[str]) -> list[str]:
    """The command line to exec: torchrun over n_gpus processes when there is more than one."""
    if n_gpus <= 1:
        return command
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={n_gpus}"]
    if command[0].endswith("python") or Path(command[0]).name.startswith("python"):
        return torchrun + command[1:]
    # a console script such as `mixlab`: torchrun runs it as it is in every process
    return torchrun + ["--no-python", shutil.which(command[0]) or command[0], *command[1:]]


def launch(n_gpus: int, command: list[str], lock_dir: Path | None = None, log=print) -> None:
    """Replace this process by the command on its devices (does not return)."""
    if not command:
        raise SystemExit("mixlab launch: no command given (mixlab launch --gpus N -- COMMAND ...)")
    env = dict(os.environ)
    wants_cuda = any(a == "--device" and b.startswith("cuda") for a, b in zip(command, command[1:]))
    if n_gpus == 0 and wants_cuda:
        # Snakemake scales a job's resources down to the global --resources budget
        raise SystemExit("mixlab launch: this job trains on CUDA but was given gpu=0; run Snakemake with "
                         "--resources gpu=N (N >= 1, the GPUs of this machine) or use a preset whose "
                         "resources.train.gpu is 0")
    if n_gpus > 0:
        visible = [d.strip() for d in env.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
        if "SLURM_JOB_ID" in env and visible:
            # SLURM's allocation: these devices are this job's alone
            if len(visible) < n_gpus:
                raise SystemExit(f"mixlab launch: the job asks for {n_gpus} GPUs but its allocation has "
                                 f"CUDA_VISIBLE_DEVICES={env['CUDA_VISIBLE_DEVICES']}")
            log(f"[launch] {n_gpus} GPU(s) of the SLURM allocation: CUDA_VISIBLE_DEVICES={env['CUDA_VISIBLE_DEVICES']}")
        else:
            # a workstation: other jobs of this (or another) workflow share the devices
            devices = visible or [str(d) for d in range(visible_gpu_count())]
            try:
                ids, fds = claim_gpus(n_gpus, devices, lock_dir or default_lock_dir(), log=log)
            except RuntimeError as exc:
                raise SystemExit(f"mixlab launch: {exc}")
            for fd in fds:
                os.set_inheritable(fd, True)   # held by the command until it exits
            env["CUDA_VISIBLE_DEVICES"] = ",".join(ids)
            log(f"[launch] claimed GPU(s) {env['CUDA_VISIBLE_DEVICES']}")
    argv = command_for(n_gpus, command)
    if shutil.which(argv[0], path=env.get("PATH")) is None:
        raise SystemExit(f"mixlab launch: {argv[0]}: no such command; check its name and that it is on PATH")
    sys.stdout.flush()
    os.execvpe(argv[0], argv, env)
