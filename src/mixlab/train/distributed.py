"""Data-parallel training across the GPUs of one job (torchrun + DDP).

`torchrun --nproc-per-node N` starts one process per GPU and sets RANK,
WORLD_SIZE and LOCAL_RANK; without them a run is a single process and every
helper here is a no-op. Each step's global batch stays a pure function of
(seed, step) and every rank trains on its own slice of it, so N processes
with batch B/N each take the same steps as one process with batch B (DDP
averages the ranks' gradients, which is the gradient of the mean over B)
and a run can be resumed on a different number of GPUs.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    torchrun: bool = False          # started by torchrun: in a process group even as its only process

    @property
    def distributed(self) -> bool:
        """DDP, all-reduces and barriers: several processes, or one that torchrun started (NCCL on one GPU)."""
        return self.world > 1 or self.torchrun

    @property
    def is_main(self) -> bool:
        """Rank 0 writes checkpoints, models and logs."""
        return self.rank == 0

    def part(self, batch_size: int) -> slice:
        """This rank's rows of the global batch."""
        return self.micro_batches(batch_size, 1)[0]

    def micro_batches(self, batch_size: int, accumulate: int) -> list[slice]:
        """This rank's rows of the global batch, as `accumulate` consecutive micro-batches."""
        if batch_size % (self.world * accumulate):
            from mixlab.config import ConfigError

            raise ConfigError(f"train.batch_size={batch_size} is not divisible by {self.world} GPU process(es) x "
                             f"train.accumulate={accumulate}: the global batch is processes x micro-batch x "
                             f"accumulate; choose an accumulate (or a gpu resource) that divides it")
        n = batch_size // (self.world * accumulate)
        first = self.rank * n * accumulate
        return [slice(first + i * n, first + (i + 1) * n) for i in range(accumulate)]


def setup(device: str) -> tuple[Ranks, torch.device]:
    """Join the process group when launched by torchrun; the device this process trains on."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    dev = torch.device(device)
    if "LOCAL_RANK" not in os.environ:
        return Ranks(), dev
    ranks = Ranks(int(os.environ["RANK"]), world, int(os.environ["LOCAL_RANK"]), torchrun=True)
    if dev.type == "cuda":
        dev = torch.device("cuda", ranks.local_rank)
        torch.cuda.set_device(dev)
    # NCCL for GPUs; gloo runs the same code on CPUs (tests, debugging)
    backend = os.environ.get("MIXLAB_DIST_BACKEND") or ("nccl" if dev.type == "cuda" else "gloo")
    if not dist.is_initialized():
        dist.init_process_group(backend)
    return ranks, dev


def wrap(model: torch.nn.Module, ranks: Ranks, device: torch.device) -> torch.nn.Module:
    """The module to call in training: DDP over `model` on several processes, `model` itself otherwise.

    Parameters are shared, so the optimizer, EMA and checkpoints keep using `model`.
    """
    if not ranks.distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def any_rank(flags: list[bool], ranks: Ranks, device: torch.device) -> list[bool]:
    """Element-wise OR of per-rank flags (stop requested, loss not finite): every rank takes the same branch."""
    if not ranks.distributed:
        return flags
    t = torch.tensor([float(f) for f in flags], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return [bool(v) for v in t.tolist()]


def mean_over_ranks(value: float, ranks: Ranks, device: torch.device) -> float:
    """A logged number (the running loss) averaged over ranks, i.e. over the global batch."""
    if not ranks.distributed:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.item() / ranks.world


def barrier(ranks: Ranks) -> None:
    if ranks.distributed:
        dist.barrier()


def teardown(ranks: Ranks) -> None:
    if ranks.distributed and dist.is_initialized():
        dist.destroy_process_group()
