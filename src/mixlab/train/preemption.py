"""Stop a training run cleanly on SIGTERM / SIGUSR1.

SLURM sends SIGTERM before it kills a preempted job (GraceTime) and, with
`--signal=USR1@<seconds>`, SIGUSR1 before the time limit. The handler only
records the signal; the training loop checks it after each optimizer step,
writes its resume checkpoint and raises `Preempted`, and the CLI exits with
EXIT_PREEMPTED. The requeued (SLURM) or rerun (Snakemake retries, a user)
job then resumes from that checkpoint.
"""
from __future__ import annotations

import signal

# EX_TEMPFAIL: "try again later"; non-zero so SLURM and Snakemake treat the job as not done
EXIT_PREEMPTED = 75
STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)


class Preempted(Exception):
    """Training stopped on a signal after writing its resume checkpoint."""


class StopRequest:
    """Context manager: while active, SIGTERM/SIGUSR1 set `signal` instead of killing the process."""

    def __init__(self, signals=STOP_SIGNALS):
        self.signals = signals
        self.signal: int | None = None
        self._previous = {}

    def _handle(self, signum, frame):
        self.signal = signum

    @property
    def requested(self) -> bool:
        return self.signal is not None

    def name(self) -> str:
        return signal.Signals(self.signal).name if self.signal is not None else "none"

    def __enter__(self):
        for s in self.signals:
            self._previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc):
        for s, h in self._previous.items():
            signal.signal(s, h)
        return False


def stop_here(stop: StopRequest, step: int, steps: int, save_resume, resume_path, ranks, device, log) -> None:
    """After an optimizer step: when any rank got a stop signal, write the resume checkpoint and raise
    `Preempted` on every rank at this same step (the ranks agree through one all-reduce)."""
    from mixlab.train import distributed

    if step >= steps or not distributed.any_rank([stop.requested], ranks, device)[0]:
        return
    save_resume()
    distributed.barrier(ranks)
    log(f"[train] {stop.name()}: resume checkpoint written at step {step}; rerun to continue")
    raise Preempted(f"stopped by {stop.name()} at step {step}/{steps}; {resume_path} resumes it")
