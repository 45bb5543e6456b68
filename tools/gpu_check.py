"""The GPU checks of tools/gpu_check.sh, one section per argument; each prints markdown rows for BENCHMARKS.md
and writes them as JSON to $OUT (default /tmp/gpu_check).

    python tools/gpu_check.py precision memory separate          # on the GPU (paper configurations)
    python tools/gpu_check.py --tiny precision memory separate   # on the CPU, tiny configurations: the script runs
    python -m torch.distributed.run --nproc-per-node=N tools/gpu_check.py ddp   # NCCL, one process per GPU

precision: the engine's step (Engine.optimise: autocast, backward, optimizer, EMA) of both papers' models in every
  precision the schema offers (fp32, fp16, bf16) and compiled, at the paper's per-GPU batch: time, first loss
  (equal up to precision), peak memory.
memory: BS-Locoformer medium (N = 12, 6 s, bf16) peak memory at batch 1, 2 and 4: the memory per example and what
  fits 80 GB, with and without train.checkpoint_activations (recomputed separator blocks).
separate: the paper TFC-TDF (fp32, bf16) and BS-Locoformer medium (bf16) separating a 60 s track: real-time factor,
  the bf16 output's SNR re fp32.
ddp: a few accumulated steps of the paper TFC-TDF under torchrun (NCCL on CUDA, gloo on the CPU).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from mixlab.config import load  # noqa: E402
from mixlab.models import build_model  # noqa: E402
from mixlab.train import distributed, engine  # noqa: E402
from mixlab.train.defaults import ENGINE_DEFAULTS  # noqa: E402

OUT = Path(os.environ.get("OUT") or "/tmp/gpu_check")


def models(tiny: bool) -> dict:
    """(model spec, per-GPU batch) of both papers at the paper scale, or at the tests' tiny scale."""
    configs = [REPO / "config.yaml"] + ([REPO / ".test" / "config_tiny.yaml"] if tiny else [])
    P = load(configs, {"scale": "tiny" if tiny else "paper", "musdb_root": str(REPO)})
    M = P["mixit"]
    size = "small" if tiny else "medium"
    return {"tfc_tdf_v3": ({**P["model"], "sample_rate": P["sample_rate"]}, 2 if tiny else P["train"]["batch_size"]),
            "bs_locoformer": ({**M["model"], **M["sizes"][size], "sample_rate": P["sample_rate"],
                               "n_outputs": M["n_outputs"]}, 2 if tiny else 8)}


def recipe(name: str, spec: dict, batch: int, device: torch.device, seed: int = 0):
    """The papers' losses on random audio (timing and precision do not depend on the audio)."""
    from mixlab.losses.mixit import mixit_efficient
    from mixlab.train.ema import EMA

    torch.manual_seed(seed)
    net = build_model(spec).to(device)
    g = torch.Generator().manual_seed(1)
    T = net.cfg.chunk_size
    if name == "tfc_tdf_v3":
        opt = torch.optim.Adam(net.parameters(), lr=5e-5)
        ema = EMA(net, 0.999)
        batches = lambda step, rows: (torch.randn(batch, 2, T, generator=g)[rows],  # noqa: E731
                                      torch.randn(batch, 4, 2, T, generator=g)[rows])
        loss = lambda b, forward: torch.nn.functional.mse_loss(forward(b[0].to(device)).float(),  # noqa: E731
                                                               b[1].to(device))
    else:
        opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-2)
        ema = None
        batches = lambda step, rows: 0.1 * torch.randn(batch, 2, 2, T, generator=g)[rows]  # noqa: E731
        loss = lambda b, forward: mixit_efficient(b.to(device), forward(b.to(device).sum(1)).float())[0].mean()  # noqa: E731
    return engine.Recipe(model=net, optimizer=opt, batches=batches, loss=loss, ema=ema)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed_steps(name, spec, batch, device, settings, steps) -> dict:
    r = recipe(name, spec, batch, device)
    tcfg = {**ENGINE_DEFAULTS, **settings}
    eng = engine.Engine(r, {}, "", tcfg, device, distributed.Ranks(), [slice(0, batch)], lambda m: None)
    fixed = r.batches(0, slice(0, batch))
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    times, losses = [], []
    for _ in range(steps + 1):
        t0 = time.perf_counter()
        losses.append(eng.optimise([fixed]))
        sync(device)
        times.append(time.perf_counter() - t0)
    peak = torch.cuda.max_memory_allocated() / 2 ** 30 if device.type == "cuda" else None
    return {"first_s": times[0], "step_s": statistics.median(times[1:]), "loss0": float(losses[0]), "peak_gib": peak}


def variants(device: torch.device) -> dict:
    if device.type == "cuda":
        return {"fp32": {"amp": "fp32"}, "fp16": {"amp": "fp16"}, "bf16": {"amp": "bf16"},
                "bf16 compiled": {"amp": "bf16", "compile": True}}
    out = {"fp32": {"cpu_amp": "fp32"}}
    if engine.cpu_has_bf16():
        out["bf16"] = {"cpu_amp": "bf16"}
    return out


def section_precision(device, tiny, steps) -> list[dict]:
    rows = []
    for name, (spec, batch) in models(tiny).items():
        base = None
        for label, settings in variants(device).items():
            r = timed_steps(name, spec, batch, device, settings, steps)
            base = base or r
            r.update(model=name, batch=batch, variant=label, speedup=base["step_s"] / r["step_s"])
            rows.append(r)
            mem = f"{r['peak_gib']:.1f} GiB" if r["peak_gib"] is not None else "-"
            print(f"| {name} batch {batch} | {label} | {r['step_s']:.4f} s/step (first {r['first_s']:.1f} s) | "
                  f"{mem} | {r['speedup']:.2f}x; first loss {r['loss0']:.5f} vs {base['loss0']:.5f} |", flush=True)
    return rows


def section_memory(device, tiny, steps) -> list[dict]:
    spec, _ = models(tiny)["bs_locoformer"]
    settings = {"amp": "bf16"} if device.type == "cuda" else {"cpu_amp": "fp32"}
    rows = []
    for checkpoint in (False, True):
        peaks = {}
        for batch in (1, 2, 4):
            r = timed_steps("bs_locoformer", spec, batch, device, {**settings, "checkpoint_activations": checkpoint}, 1)
            peaks[batch] = r["peak_gib"]
            rows.append({"checkpoint": checkpoint, "batch": batch, **r})
        if device.type == "cuda":
            per = (peaks[4] - peaks[1]) / 3
            fits = int((80 - (peaks[1] - per)) // per)
            print(f"| BS-Locoformer medium N=12 6 s bf16, checkpoint_activations={checkpoint} | {per:.2f} GiB/example | "
                  f"peak {peaks[4]:.1f} GiB at batch 4 | ~{fits} x 6 s fit 80 GB; "
                  f"{r['step_s'] / 4:.3f} s/example |", flush=True)
        else:
            print(f"| BS-Locoformer (tiny) checkpoint={checkpoint} | steps ran | batches 1, 2, 4 |", flush=True)
    return rows


def section_separate(device, tiny, steps) -> list[dict]:
    from mixlab.separate import overlap_add

    P = load([REPO / "config.yaml"], {"scale": "paper", "musdb_root": str(REPO)})
    rows = []
    seconds = 8.0 if tiny else 60.0
    for name, (spec, _) in models(tiny).items():
        net = build_model(spec).to(device).eval()
        rate = spec["sample_rate"]
        if name == "tfc_tdf_v3":
            dim_t = 2 * spec["dim_t"] if tiny else P["separate"]["dim_t"]
            chunk, how = spec["hop_length"] * (dim_t - 1), {"overlap": P["separate"]["overlap"], "window": "hann"}
        else:
            chunk, how = int(round(2 * net.cfg.chunk_size)), {"overlap": 0.5, "window": "boxcar"}
        x = 0.1 * torch.randn(2, int(seconds * rate), generator=torch.Generator().manual_seed(0)).to(device)
        outs = {}
        for precision in ("fp32", "bf16"):
            if device.type == "cpu" and precision == "bf16" and not engine.cpu_has_bf16():
                continue
            dtype = None if precision == "fp32" else torch.bfloat16
            sync(device)
            t0 = time.perf_counter()
            outs[precision] = overlap_add(net, x, chunk, batch_size=1, autocast=dtype, **how)
            sync(device)
            rtf = (time.perf_counter() - t0) / seconds
            snr = None
            if precision != "fp32":
                ref = outs["fp32"]
                snr = float(10 * torch.log10(ref.square().sum() / (outs[precision] - ref).square().sum().clamp_min(1e-30)))
            rows.append({"model": name, "precision": precision, "rtf": rtf, "snr_db": snr})
            print(f"| separation {name}, {seconds:g} s track | {precision} | {1 / rtf:.1f}x real time | "
                  + (f"{snr:.0f} dB SNR re fp32 |" if snr is not None else "reference |"), flush=True)
    return rows


def section_ddp(device, tiny, steps) -> list[dict]:
    """Under torchrun: the engine's DDP path (process group, DDP wrapper, no_sync on accumulated micro-batches)."""
    ranks, dev = distributed.setup(device.type)
    spec, batch = models(tiny)["tfc_tdf_v3"]
    global_batch = batch * ranks.world * 2
    micro = ranks.micro_batches(global_batch, 2)
    r = recipe("tfc_tdf_v3", spec, global_batch, dev)
    tcfg = {**ENGINE_DEFAULTS, "accumulate": 2, "amp": "bf16" if dev.type == "cuda" else "fp32"}
    eng = engine.Engine(r, {}, "", tcfg, dev, ranks, micro, print if ranks.is_main else (lambda m: None))
    losses = []
    for step in range(steps):
        losses.append(float(eng.optimise([r.batches(step, rows) for rows in micro])))
    eng.check_finite()
    backend = torch.distributed.get_backend() if torch.distributed.is_initialized() else "none"
    if ranks.is_main:
        print(f"| DDP: {ranks.world} process(es), backend {backend}, accumulate 2 x {batch} | "
              f"{steps} steps | losses {', '.join(f'{v:.4f}' for v in losses)} |", flush=True)
    distributed.teardown(ranks)
    return [{"world": ranks.world, "backend": backend, "losses": losses}]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sections", nargs="+", choices=["precision", "memory", "separate", "ddp"])
    p.add_argument("--tiny", action="store_true", help="tiny configurations (a CPU run of the script itself)")
    p.add_argument("--steps", type=int, default=None, help="timed steps per variant (default 10 on CUDA, 2 on the CPU)")
    a = p.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    steps = a.steps or (10 if device.type == "cuda" else 2)
    OUT.mkdir(parents=True, exist_ok=True)
    if device.type == "cuda":
        print(f"# {torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}", flush=True)
    for name in a.sections:
        t0 = time.perf_counter()
        rows = globals()[f"section_{name}"](device, a.tiny, steps)
        if int(os.environ.get("RANK", "0")) == 0:
            print(f"({name}: {time.perf_counter() - t0:.0f} s)", flush=True)
            (OUT / f"{name}.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
