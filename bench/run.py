"""mixlab benchmark suite: one command, ratios measured side by side in one run.

    .venv/bin/python bench/run.py                  # everything (~10 min on 2 CPU cores)
    .venv/bin/python bench/run.py --only scorer    # one section: scorer sampler step train separate dag locoformer mixit
    .venv/bin/python bench/run.py --device cuda    # model timings on a GPU (AMP for training)

Every measurement that needs its own peak memory runs in a fresh child
process (this file with --child), which reports wall time and its peak RSS
(or CUDA peak allocation). Results are printed as a table and, with --json,
written to a file; BENCHMARKS.md records them with the machine they ran on.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB.

    Linux's VmHWM belongs to the address space and starts afresh at exec;
    getrusage's ru_maxrss survives fork + exec, so a child would report its
    parent's peak whenever that is larger (it did: 1.9 GB for a 1.4 GB run).
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child(args: list[str]) -> dict:
    """Run one measurement in a fresh interpreter; it prints a JSON line last."""
    res = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{res.stdout[-2000:]}\n{res.stderr[-4000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------- data
def make_long_track(folder: Path, seconds: float, sample_rate: int = 44100) -> Path:
    """A 4-stem stereo synthetic song written as 16-bit WAVs, plus noisy 'estimates'."""
    import soundfile as sf

    from mixlab.data.synth import STEMS, render_song

    refs_dir, ests_dir = folder / "refs", folder / "ests"
    if (ests_dir / "other.wav").exists():
        return folder
    refs_dir.mkdir(parents=True, exist_ok=True)
    ests_dir.mkdir(parents=True, exist_ok=True)
    song = render_song(11, "test", 0, sample_rate, seconds, seconds)
    rng = np.random.default_rng(0)
    for stem, snr in zip(STEMS, [-5, 5, 15, 30]):
        ref = np.round(song[stem] * 32767) / 32767
        sf.write(refs_dir / f"{stem}.wav", ref, sample_rate, subtype="PCM_16")
        power = np.mean(ref ** 2)
        est = ref + 0.1 * np.roll(ref, 64, axis=0) + np.sqrt(power * 10 ** (-snr / 10)) * rng.standard_normal(ref.shape)
        sf.write(ests_dir / f"{stem}.wav", est.astype(np.float32), sample_rate, subtype="FLOAT")
    return folder


def make_corpus(folder: Path, n_songs: int, seconds: float, sample_rate: int = 44100) -> Path:
    from mixlab.data.synth import SynthSpec, build_corpus

    if not (folder / "mixlab_corpus.json").exists():
        build_corpus(folder, SynthSpec(seed=5, sample_rate=sample_rate, n_train=n_songs, n_valid=0, n_test=1,
                                       min_seconds=seconds, max_seconds=seconds), progress=lambda m: None)
    return folder


# ------------------------------------------------------------------- children
def child_scorer(scorer: str, folder: str, out: str, device: str) -> dict:
    """The scorer function alone on tracks already in memory (no start-up, reading or writing).

    scorer: museval, fast (numpy on the CPU, torch on a GPU) or fast-torch (the torch implementation on `device`).
    """
    from mixlab.cli._common import keep_freed_memory
    from mixlab.data.tracks import load_stems
    from mixlab.metrics.bsseval import bss_eval, preload

    keep_freed_memory()                        # as `mixlab score` does
    gpu = device.startswith("cuda")
    if scorer == "fast-torch" or gpu:
        import torch

        torch.set_num_threads(os.cpu_count() or 1)
    if scorer == "fast-torch":
        from mixlab.metrics.fast_bsseval_torch import bss_eval_v4

        score = lambda r, e: bss_eval_v4(r, e, 44100, 44100, device=device)      # noqa: E731
    else:
        preload(scorer, device)
        score = lambda r, e: bss_eval(r, e, 44100, scorer, device=device)        # noqa: E731
    refs = load_stems(Path(folder) / "refs", 44100)
    ests = load_stems(Path(folder) / "ests", 44100)
    if gpu:
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    metrics = np.array(score(refs, ests))
    seconds = time.perf_counter() - t0
    np.save(out, metrics)
    return {"seconds": seconds, "peak_rss_mb": peak_rss_mb(),
            "gpu_peak_mb": torch.cuda.max_memory_allocated() / 2 ** 20 if gpu else None}


def score_command(scorer: str, folder: Path, out: Path, device: str = "cpu") -> dict:
    """`mixlab score` as a user runs it: wall time of the whole process, and the per-track time it reports."""
    cmd = [sys.executable, "-m", "mixlab", "score", "--scorer", scorer, "--references", str(folder / "refs"),
           "--estimates", str(folder / "ests"), "--out", str(out), "--device", device]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise RuntimeError(f"{cmd} failed:\n{res.stdout[-2000:]}\n{res.stderr[-4000:]}")
    reported = float(res.stdout.strip().splitlines()[-1].rsplit("(", 1)[1].split(" s)")[0])
    return {"wall": wall, "reported": reported}


def timed_steps(model, opt, loss_fn, x, steps: int, amp: bool) -> dict:
    """Median wall time of `steps` training steps after one warm-up, peak memory, parameter count."""
    import torch

    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    times = []
    for _ in range(steps + 1):                    # first step is warm-up
        t0 = time.perf_counter()
        with torch.autocast(device_type="cuda" if amp else "cpu", dtype=torch.float16, enabled=amp):
            out = model(x)
        loss = loss_fn(out)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        if amp:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    gpu = torch.cuda.max_memory_allocated() / 2 ** 20 if amp else None
    return {"step_s": float(np.median(times[1:])), "peak_rss_mb": peak_rss_mb(), "gpu_peak_mb": gpu,
            "params": sum(p.numel() for p in model.parameters())}


def child_train(preset: str, batch: int, device: str, steps: int) -> dict:
    import torch

    from mixlab.config import load
    from mixlab.models import build_model

    cfg = load(REPO / "config.yaml", {"scale": preset, "musdb_root": str(REPO)})
    model = build_model({**cfg["model"], "sample_rate": cfg["sample_rate"]}).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    amp = device.startswith("cuda")
    x = torch.randn(batch, 2, model.cfg.chunk_size, device=device)
    y = torch.randn(batch, 4, 2, model.cfg.chunk_size, device=device)
    r = timed_steps(model, opt, lambda out: torch.nn.functional.mse_loss(out.float(), y), x, steps, amp)
    return {**r, "chunk_s": model.cfg.chunk_size / cfg["sample_rate"]}


STEP_VARIANTS = {            # engine settings of each measured variant (train.cpu_amp / train.amp, train.compile)
    "eager": {}, "bf16": {"cpu_amp": "bf16", "amp": "bf16"},
    "compile": {"compile": True}, "compile+bf16": {"compile": True, "cpu_amp": "bf16", "amp": "bf16"},
}


def child_step(model_name: str, variant: str, device: str, steps: int, seconds: float) -> dict:
    """The engine's own training step (Engine.optimise: autocast, backward, optimizer, EMA) at a paper's
    configuration, in one variant; median over `steps` steps after the first (which compiles, if asked).

    TFC-TDF-UNet v3: Paper A's config, batch 1 x 5.9 s, Adam, EMA, MSE. BS-Locoformer small: Paper B's
    pre-training step, N = 12, batch 1 x `seconds`, AdamW, MixIT. The same seed and input in every variant,
    so the first step's loss shows that each computes the same function."""
    import torch

    from mixlab.train import distributed, engine
    from mixlab.train.defaults import ENGINE_DEFAULTS
    from mixlab.train.ema import EMA

    torch.manual_seed(0)
    dev = torch.device(device)
    g = torch.Generator().manual_seed(1)
    if model_name == "tfc_tdf_v3":
        from mixlab.config import load
        from mixlab.models import build_model

        cfg = load(REPO / "config.yaml", {"scale": "paper", "musdb_root": str(REPO)})
        net = build_model({**cfg["model"], "sample_rate": cfg["sample_rate"]}).to(dev)
        opt = torch.optim.Adam(net.parameters(), lr=5e-5)
        ema = EMA(net, 0.999)
        T = net.cfg.chunk_size
        batch = (torch.randn(1, 2, T, generator=g).to(dev), torch.randn(1, 4, 2, T, generator=g).to(dev))
        loss = lambda b, forward: torch.nn.functional.mse_loss(forward(b[0]).float(), b[1])   # noqa: E731
    else:
        from mixlab.losses.mixit import mixit_efficient
        from mixlab.models.bs_locoformer import BSLocoformer, BSLocoformerConfig

        net = BSLocoformer(BSLocoformerConfig.from_dict({"size": "small", "chunk_seconds": seconds})).to(dev)
        opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-2)
        ema = None
        T = net.cfg.chunk_size
        batch = (0.1 * torch.randn(1, 2, 2, T, generator=g)).to(dev)
        loss = lambda b, forward: mixit_efficient(b, forward(b.sum(1)).float())[0].mean()  # noqa: E731
    recipe = engine.Recipe(model=net, optimizer=opt, batches=None, loss=loss, ema=ema)
    tcfg = {**ENGINE_DEFAULTS, **STEP_VARIANTS[variant]}
    said = []
    eng = engine.Engine(recipe, {}, "", tcfg, dev, distributed.Ranks(), [slice(0, 1)], said.append)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times, losses = [], []
    for _ in range(steps + 1):
        t0 = time.perf_counter()
        losses.append(eng.optimise([batch]))
        sync()
        times.append(time.perf_counter() - t0)
    return {"first_s": times[0], "step_s": float(np.median(times[1:])), "loss0": float(losses[0]),
            "peak_rss_mb": peak_rss_mb(), "params": sum(p.numel() for p in net.parameters()),
            "gpu_peak_mb": torch.cuda.max_memory_allocated() / 2 ** 20 if dev.type == "cuda" else None,
            "chunk_s": T / 44100, "said": said}


def child_locoformer(size: str, batch: int, device: str, steps: int, seconds: float) -> dict:
    """One MixIT pre-training step of the paper's BS-Locoformer (44.1 kHz, N = 12) on `seconds` of audio."""
    import torch

    from mixlab.losses.mixit import mixit_efficient
    from mixlab.models.bs_locoformer import BSLocoformer, BSLocoformerConfig

    model = BSLocoformer(BSLocoformerConfig.from_dict({"size": size, "chunk_seconds": seconds})).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    amp = device.startswith("cuda")
    x = torch.randn(batch, 2, 2, model.cfg.chunk_size, device=device) * 0.1
    r = timed_steps(model, opt, lambda est: mixit_efficient(x, est.float())[0].mean(), x.sum(1), steps, amp)
    return {**r, "separator": model.separator_parameters()}


def child_mixit(solver: str, n_outputs: int, batch: int, seconds: float, device: str) -> dict:
    """The MixIT loss alone (forward + backward) on noisy copies of true sources."""
    import torch

    from mixlab.losses.mixit import mixit_efficient, mixit_exhaustive

    g = torch.Generator().manual_seed(0)
    T = int(seconds * 44100)
    src = torch.randn(batch, n_outputs, 2, T, generator=g)
    assign = torch.randint(0, 2, (batch, n_outputs), generator=g)
    mixtures = torch.stack([(src * (assign == k)[..., None, None]).sum(1) for k in (0, 1)], 1).to(device)
    est = (src + 0.1 * torch.randn(src.shape, generator=g)).to(device).requires_grad_(True)
    fn = mixit_efficient if solver == "efficient" else mixit_exhaustive
    times = []
    for _ in range(2):
        t0 = time.perf_counter()
        loss, found = fn(mixtures, est)
        loss.mean().backward()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    # MixIT is symmetric in the two mixtures only up to relabelling: compare losses, not labels
    return {"s": float(min(times)), "loss": float(loss.mean()), "peak_rss_mb": peak_rss_mb()}


def child_separate(preset: str, seconds: float, device: str, precision: str = "fp32") -> dict:
    """Real-time factor of overlap-add separation with the preset's settings on a `seconds` track.

    With mode 'chunk' (paper models on a CPU, where a whole track takes hours) one
    chunk is timed and the track's time computed as n_chunks x chunk time.
    precision: fp32, or bf16 autocast (`separate.amp` on CUDA, `separate.cpu_amp` on the CPU).
    """
    import torch

    from mixlab.config import load
    from mixlab.models import build_model
    from mixlab.separate import overlap_add
    from mixlab.train.engine import amp_dtype

    torch.manual_seed(0)                       # the same weights and input in both precisions
    cfg = load(REPO / "config.yaml", {"scale": preset, "musdb_root": str(REPO)})
    model = build_model({**cfg["model"], "sample_rate": cfg["sample_rate"]}).to(device).eval()
    sep = cfg["separate"]
    chunk = model.cfg.hop_length * (sep["dim_t"] - 1)
    length = int(seconds * cfg["sample_rate"])
    hop = chunk - int(round(sep["overlap"] * chunk))
    n_chunks = int(np.ceil((chunk - hop + length) / hop))
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    dtype = amp_dtype(precision, torch.device(device), cpu_setting=precision)
    one = torch.randn(2, chunk, device=device)
    # one chunk through overlap_add (its batching, inference mode and autocast) as warm-up, or as the timing
    # itself where a whole track would take hours
    t0 = time.perf_counter()
    single = overlap_add(model, one, chunk, 0.0, "boxcar", 1, autocast=dtype)
    sync()
    one_chunk = time.perf_counter() - t0
    if preset == "paper" and not device.startswith("cuda"):
        wall, mode = n_chunks * one_chunk, "computed from 1 chunk"
    else:
        mix = torch.randn(2, length, device=device)
        t0 = time.perf_counter()
        overlap_add(model, mix, chunk, sep["overlap"], sep["window"], sep["batch_size"], autocast=dtype)
        sync()
        wall, mode = time.perf_counter() - t0, "measured"
    np.save(Path(tempfile.gettempdir()) / f"mixlab-bench-sep-{preset}-{precision}.npy", single.float().cpu().numpy())
    return {"seconds": wall, "rtf": wall / seconds, "peak_rss_mb": peak_rss_mb(), "mode": mode,
            "n_chunks": n_chunks, "chunk_s": chunk / cfg["sample_rate"]}


def child_sampler(store: str, method: str, chunk: int, n_batches: int) -> dict:
    """method store/wav: chunks/s of raw random mixes; paper: Paper A's batches of 4 at its settings -- stems
    pooled with their pitch-bank copies (store:bank:bank...), BS.1770 loudness normalisation to -14 LUFS."""
    import soundfile as sf

    from mixlab.papers.random_mixing.sampling import MixSampler
    from mixlab.data.stem_store import StemStore
    from mixlab.data.tracks import list_tracks, track_dir

    if method.startswith("workers"):
        # Paper A's batches through the engine's own prefetching (train.workers background processes)
        from mixlab.train.engine import batch_stream

        workers = int(method[len("workers"):])
        sampler = MixSampler(StemStore(store.split(":")), chunk, p_original=0.0, seed=0, target_lufs=-14.0)
        stream = batch_stream(lambda step, rows: sampler.batch(step, 4, rows), [slice(0, 4)], 0,
                              n_batches + 2 * max(workers, 1), workers)
        for _ in range(2 * max(workers, 1)):          # workers started, first batches delivered
            next(stream)
        t0 = time.perf_counter()
        for _ in range(n_batches):
            next(stream)
        return {"chunks_per_s": 4 * n_batches / (time.perf_counter() - t0)}
    if method == "paper":
        sampler = MixSampler(StemStore(store.split(":")), chunk, p_original=0.0, seed=0, target_lufs=-14.0)
        sampler.batch(0, 4)                               # first touch of the mmaps
        t0 = time.perf_counter()
        for step in range(1, n_batches + 1):
            sampler.batch(step, 4)
        return {"chunks_per_s": 4 * n_batches / (time.perf_counter() - t0)}
    st = StemStore(store)
    sampler = MixSampler(st, chunk, p_original=0.0, seed=0, target_lufs=None)
    t0 = time.perf_counter()
    if method == "store":
        for step in range(n_batches):
            sampler.batch(step, 4)
    else:  # the reference code's way: one soundfile seek + read per stem per item
        root = Path(store).parent / "corpus"
        names = list_tracks(root, "train")
        for step in range(n_batches):
            _, songs, offsets = sampler.draw(np.random.default_rng([0, step]), 4)
            for b in range(4):
                for s, stem in enumerate(st.stems):
                    path = track_dir(root, "train", names[songs[b, s]]) / f"{stem}.wav"
                    sf.read(str(path), start=int(offsets[b, s]), frames=chunk, dtype="float32")
    wall = time.perf_counter() - t0
    return {"chunks_per_s": 4 * n_batches / wall}


# ------------------------------------------------------------------- sections
def bench_scorer(work: Path, device: str, seconds: float) -> list[tuple]:
    """museval against the fast scorer: the function alone, and `mixlab score` end to end (start-up, reading,
    scoring, writing the JSON) on a long track and on a 1 s one, where start-up is all that is left."""
    from mixlab.metrics.bsseval import frames_array

    folder = make_long_track(work / f"track_{int(seconds)}s", seconds)
    short = make_long_track(work / "track_1s", 1.0)
    # museval runs once each way (minutes); the fast scorer three times around it, median, so that a noisy
    # moment of the machine does not decide the ratio
    runs = [child(["scorer", "fast", str(folder), str(work / "fast.npy"), device])]
    cli = [score_command("fast", folder, work / "fast.json", device)]
    ref = child(["scorer", "museval", str(folder), str(work / "museval.npy"), "cpu"])
    ref_cli = score_command("museval", folder, work / "museval.json")
    for _ in range(2):
        runs.append(child(["scorer", "fast", str(folder), str(work / "fast.npy"), device]))
        cli.append(score_command("fast", folder, work / "fast.json", device))
    torch_run = child(["scorer", "fast-torch", str(folder), str(work / "fast_torch.npy"), "cpu"])
    short_cli = [score_command("fast", short, work / "short.json", device) for _ in range(3)]
    med = lambda xs, key: sorted(x[key] for x in xs)[1]        # noqa: E731
    fast, fast_wall, fast_rep = med(runs, "seconds"), med(cli, "wall"), med(cli, "reported")
    rss = max(r["peak_rss_mb"] for r in runs)
    print("  fast scorer runs:", ", ".join(f"{r['seconds']:.1f} s" for r in runs), "| mixlab score:",
          ", ".join(f"{r['wall']:.1f} s" for r in cli))
    from mixlab.metrics.crosscheck import frame_differences

    diff = frame_differences(np.load(work / "fast.npy"), np.load(work / "museval.npy"))
    same_json = frame_differences(frames_array((work / "fast.json").read_text()),
                                  frames_array((work / "museval.json").read_text())).max()
    track = f"{seconds:.0f} s 4-stem stereo 44.1 kHz track"
    rows = [
        (f"scorer function, {track}", "museval", f"{ref['seconds']:.1f} s", f"{ref['peak_rss_mb']:.0f} MB", ""),
        ("", f"fast, numpy/scipy ({device}), median of 3", f"{fast:.1f} s", f"{rss:.0f} MB",
         f"{ref['seconds'] / fast:.1f}x faster, {rss / ref['peak_rss_mb']:.0%} of peak RSS"),
        ("", "fast, torch (CPU), the implementation before issue 16", f"{torch_run['seconds']:.1f} s",
         f"{torch_run['peak_rss_mb']:.0f} MB", f"{ref['seconds'] / torch_run['seconds']:.1f}x faster"),
        ("", "max |fast - museval|", ", ".join(f"{m} {d:.1e}" for m, d in zip(("SDR", "ISR", "SIR", "SAR"),
                                                                            diff.reshape(4, -1).max(1))) + " dB", "", ""),
        (f"`mixlab score` end to end, {track}", "--scorer museval (wall of the process)", f"{ref_cli['wall']:.1f} s",
         "", f"reports {ref_cli['reported']:.1f} s per track"),
        ("", "--scorer fast, median of 3 (wall of the process)", f"{fast_wall:.1f} s", "",
         f"{ref_cli['wall'] / fast_wall:.1f}x faster end to end; reports {fast_rep:.1f} s per track; "
         f"JSONs differ by <= {same_json:.0e} dB (5 decimals)"),
        ("`mixlab score --scorer fast` end to end, 1 s track", "wall of the process, median of 3",
         f"{med(short_cli, 'wall'):.2f} s", "", f"reports {med(short_cli, 'reported'):.2f} s per track"),
    ]
    return rows


def bench_sampler(work: Path) -> list[tuple]:
    from mixlab.data.stem_store import build_store
    from mixlab.data.tracks import list_tracks

    corpus = make_corpus(work / "sampler" / "corpus", n_songs=12, seconds=60.0)
    store = work / "sampler" / "store"
    if not (store / "store.json").exists():
        build_store(corpus, "train", list_tracks(corpus, "train"), store, 44100, progress=lambda m: None)
    chunk = 6 * 44100
    a = child(["sampler", str(store), "store", str(chunk), "60"])
    b = child(["sampler", str(store), "wav", str(chunk), "60"])
    from mixlab.papers.random_mixing.pitch_bank import build_pitch_bank

    # Paper A's settings on a small corpus (Rubber Band takes minutes per copy of a big one); the reads are
    # mmap slices at random offsets, so the rate does not depend on the corpus size
    small = make_corpus(work / "sampler_paper" / "corpus", n_songs=4, seconds=20.0)
    store = work / "sampler_paper" / "store"
    if not (store / "store.json").exists():
        build_store(small, "train", list_tracks(small, "train"), store, 44100, progress=lambda m: None)
    banks = []
    for k in (-2, -1, 1, 2):                         # the reference's pitch grid, Rubber Band copies of every song
        bank = work / "sampler_paper" / f"pitch{k:+d}"
        if not (bank / "store.json").exists():
            build_pitch_bank(store, bank, k, progress=lambda m: None)
        banks.append(str(bank))
    paper_chunk = 2048 * 127                         # Paper A's training chunk, 5.9 s at 44.1 kHz
    c = child(["sampler", ":".join([str(store), *banks]), "paper", str(paper_chunk), "40"])
    # per-worker rate and scaling through the engine's DataLoader (fork); at most the cores this machine has
    cores = os.cpu_count() or 1
    scaling = {w: child(["sampler", ":".join([str(store), *banks]), f"workers{w}", str(paper_chunk), "60"])
               for w in sorted({0, 1, 2, min(4, cores), min(8, cores)})}
    return [("sampler, random-mix 6 s stereo chunks (warm page cache)", "stem store (mmap)",
             f"{a['chunks_per_s']:.0f} chunks/s", "", f"{a['chunks_per_s'] / b['chunks_per_s']:.1f}x"),
            ("", "WAV + soundfile seek", f"{b['chunks_per_s']:.0f} chunks/s", "", "1.0x"),
            ("sampler at Paper A's settings: batch 4 x 5.9 s, 44.1 kHz, originals + 4 pitch banks, -14 LUFS",
             "one process (`train.workers` adds processes)", f"{c['chunks_per_s'] / 4:.1f} batches/s", "",
             f"{c['chunks_per_s']:.0f} examples/s: {c['chunks_per_s'] / 12.5:.1f}x the 12.5/s of an H100 "
             "step (batch 1, 0.08 s; BENCHMARKS.md)")] + [
            ("" if w else f"... through the engine's prefetching (`train.workers`), {cores} cores",
             f"{w} worker(s)" if w else "0 (in the training process)", f"{r['chunks_per_s'] / 4:.1f} batches/s", "",
             f"{r['chunks_per_s'] / scaling[0]['chunks_per_s']:.2f}x of 0 workers"
             + (f", {r['chunks_per_s'] / 4 / w:.1f} batches/s per worker" if w else ""))
            for w, r in scaling.items()]


def bench_train(device: str, batch: int) -> list[tuple]:
    rows = []
    for preset in ("paper", "demo"):
        r = child(["train", preset, str(batch), device, "3"])
        mem = f"{r['peak_rss_mb']:.0f} MB RSS" + (f", GPU {r['gpu_peak_mb']:.0f} MB" if r["gpu_peak_mb"] else "")
        rows.append((f"train step, TFC-TDF-UNet v3 {preset} ({r['params'] / 1e6:.1f}M), batch {batch} x "
                     f"{r['chunk_s']:.1f} s", device + (" AMP" if device.startswith("cuda") else ""),
                     f"{r['step_s']:.2f} s/step", mem, ""))
    return rows


def bench_step(device: str, compile_too: bool) -> list[tuple]:
    """The engine's training step at both papers' configurations: eager fp32 (the reference code's speed)
    against bf16 autocast and, when asked (minutes to compile on a CPU), torch.compile."""
    cuda = device.startswith("cuda")
    variants = ["eager", "bf16"] + (["compile", "compile+bf16"] if compile_too or cuda else [])
    rows = []
    # Paper B's 6 s chunks (~25 s a step on a 2-core CPU)
    for model_name, seconds, label in (("tfc_tdf_v3", 0.0, "TFC-TDF-UNet v3 paper config (45.8M), batch 1 x 5.9 s"),
                                       ("bs_locoformer", 6.0,
                                        "BS-Locoformer small, MixIT pre-training, N = 12, batch 1 x {:g} s")):
        runs = {}
        for v in variants:
            runs[v] = child(["step", model_name, v, device, "3", str(seconds)])
            r = runs[v]
            print(f"  {model_name} {v}: first step {r['first_s']:.1f} s, then {r['step_s']:.2f} s/step, "
                  f"loss {r['loss0']:.6f}" + (f" ({'; '.join(r['said'])})" if r["said"] else ""), flush=True)
        base = runs["eager"]
        for v, r in runs.items():
            mem = f"{r['peak_rss_mb']:.0f} MB RSS" + (f", GPU {r['gpu_peak_mb']:.0f} MB" if r["gpu_peak_mb"] else "")
            ratio = "1.0x (reference)" if v == "eager" else (
                f"{base['step_s'] / r['step_s']:.2f}x; first loss {r['loss0']:.5f} vs {base['loss0']:.5f}; "
                f"first step {r['first_s']:.0f} s")
            rows.append((f"train step (engine), {label.format(seconds)}" if v == "eager" else "", f"{device} {v}",
                         f"{r['step_s']:.2f} s/step", mem, ratio))
    return rows


def bench_locoformer(device: str, batch: int) -> list[tuple]:
    # the paper's 6 s chunks on a GPU; 1 s on a CPU, where a 6 s step of the large model takes minutes
    seconds = 6.0 if device.startswith("cuda") else 1.0
    rows = []
    for size in ("small", "medium", "large"):
        r = child(["locoformer", size, str(batch), device, "1", str(seconds)])
        mem = f"{r['peak_rss_mb']:.0f} MB RSS" + (f", GPU {r['gpu_peak_mb']:.0f} MB" if r["gpu_peak_mb"] else "")
        rows.append((f"MixIT pre-training step, BS-Locoformer {size} ({r['params'] / 1e6:.1f}M, separator "
                     f"{r['separator'] / 1e6:.2f}M), N=12, batch {batch} x {seconds:g} s 44.1 kHz",
                     device + (" AMP" if device.startswith("cuda") else ""), f"{r['step_s']:.2f} s/step", mem, ""))
    return rows


def bench_mixit(device: str) -> list[tuple]:
    args = ["12", "4", "1.0", device]
    eff = child(["mixit", "efficient", *args])
    exh = child(["mixit", "exhaustive", *args])
    same = abs(eff["loss"] - exh["loss"]) < 1e-4
    return [("MixIT loss fwd+bwd, N=12, batch 4 x 1 s stereo 44.1 kHz: exhaustive 2^12", device,
             f"{exh['s']:.2f} s", f"{exh['peak_rss_mb']:.0f} MB", ""),
            ("... efficient (least squares + argmax)", device, f"{eff['s']:.3f} s", f"{eff['peak_rss_mb']:.0f} MB",
             f"{exh['s'] / eff['s']:.0f}x faster, same loss: {same} ({eff['loss']:.4f} vs {exh['loss']:.4f} dB)")]


def bench_separate(device: str) -> list[tuple]:
    """fp32 (as before) against bf16 autocast; the bf16 chunk's output compared with the fp32 one's (same seed)."""
    rows = []
    for preset in ("paper", "demo"):
        runs = {p: child(["separate", preset, "240", device, p]) for p in ("fp32", "bf16")}
        ref = np.load(Path(tempfile.gettempdir()) / f"mixlab-bench-sep-{preset}-fp32.npy")
        for p, r in runs.items():
            out = np.load(Path(tempfile.gettempdir()) / f"mixlab-bench-sep-{preset}-{p}.npy")
            snr = 10 * np.log10(np.sum(ref ** 2) / max(np.sum((out - ref) ** 2), 1e-30))
            rows.append((f"separation, TFC-TDF-UNet v3 {preset}, 240 s stereo track, {r['n_chunks']} chunks of "
                         f"{r['chunk_s']:.1f} s" if p == "fp32" else "", f"{device} {p} ({r['mode']})",
                         f"RTF {r['rtf']:.2f}", f"{r['peak_rss_mb']:.0f} MB",
                         "1.0x" if p == "fp32" else f"{runs['fp32']['rtf'] / r['rtf']:.2f}x; output {snr:.0f} dB SNR "
                         "re fp32"))
    return rows


def bench_dag(work: Path) -> list[tuple]:
    """snakemake -n for the paper-scale DAG over a fake MUSDB18-HQ tree of real-format (1 s) WAVs."""
    sys.path.insert(0, str(REPO))            # the tests' fake trees
    from tests.conftest import write_fake_paper_trees

    root, fma = write_fake_paper_trees(work)
    from mixlab.data.check_musdb import check_musdb

    t0 = time.perf_counter()
    report = check_musdb(root)        # runs inside every `snakemake` call on real data (below)
    wall = time.perf_counter() - t0
    if not report.ok:
        raise RuntimeError(report.text())
    rows = [("mixlab check-musdb, 150 tracks (750 WAV headers, musdb split)", "", f"{wall:.2f} s", "", "")]
    for target in ("results/paper/fig1.pdf", "results/paper/fig3.pdf", "paper_a", "paper_b"):
        t0 = time.perf_counter()
        res = subprocess.run([str(Path(sys.executable).parent / "snakemake"), "-n", target, "-s",
                              str(REPO / "workflow" / "Snakefile"), "--directory", str(work / "dag"), "--configfile",
                              str(REPO / "config.yaml"), "--config", "scale=paper", f"musdb_root={root}",
                              f"fma_root={fma}"], capture_output=True, text=True)
        wall = time.perf_counter() - t0
        out = res.stdout + res.stderr
        total = [line.split()[-1] for line in out.splitlines() if line.startswith("total")]
        if res.returncode != 0 or not total:
            raise RuntimeError(out[-3000:])
        rows.append((f"snakemake -n {target}, paper scale (fake MUSDB18-HQ and FMA trees)", "", f"{wall:.1f} s",
                     f"{total[0]} jobs", ""))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", default="scorer,sampler,step,train,separate,dag,locoformer,mixit")
    p.add_argument("--compile", action="store_true", help="step: also torch.compile (on a CPU: long compiles)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--track-seconds", type=float, default=240.0, help="length of the scorer's test track")
    p.add_argument("--train-batch", type=int, default=1, help="batch of the training-step timing")
    p.add_argument("--work", default=None, help="scratch folder (default: a temporary one)")
    p.add_argument("--json", default=None, help="also write the rows here")
    p.add_argument("--child", nargs=argparse.REMAINDER)
    a = p.parse_args()
    if a.child:
        kind, *rest = a.child
        fn = {"scorer": child_scorer, "train": child_train, "separate": child_separate, "sampler": child_sampler,
              "locoformer": child_locoformer, "mixit": child_mixit, "step": child_step}[kind]
        conv = {"train": (str, int, str, int), "separate": (str, float, str, str), "sampler": (str, str, int, int),
                "step": (str, str, str, int, float),
                "scorer": (str, str, str, str), "locoformer": (str, int, str, int, float),
                "mixit": (str, int, int, float, str)}[kind]
        print(json.dumps(fn(*[c(v) for c, v in zip(conv, rest)])))
        return

    work = Path(a.work or tempfile.mkdtemp(prefix="mixlab-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    import torch

    print(f"# mixlab bench: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, device {a.device}", flush=True)
    rows = []
    sections = {"scorer": lambda: bench_scorer(work, a.device, a.track_seconds), "sampler": lambda: bench_sampler(work),
                "train": lambda: bench_train(a.device, a.train_batch), "separate": lambda: bench_separate(a.device),
                "step": lambda: bench_step(a.device, a.compile),
                "dag": lambda: bench_dag(work), "locoformer": lambda: bench_locoformer(a.device, a.train_batch),
                "mixit": lambda: bench_mixit(a.device)}
    for name in a.only.split(","):
        t0 = time.perf_counter()
        print(f"[bench] {name} ...", flush=True)
        new = sections[name]()
        rows += new
        for r in new:
            print("  " + " | ".join(x for x in r if x), flush=True)
        print(f"[bench] {name} done in {time.perf_counter() - t0:.0f} s", flush=True)
    print("\n| benchmark | variant | time | memory | ratio |\n|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
