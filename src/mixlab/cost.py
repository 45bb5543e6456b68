"""What a run will cost before it starts: trainings, steps, GPU-hours on a named GPU, wall time on N GPUs, disk.

Everything is read off `plan()` of the resolved config, as the workflow reads it, so an override changes the
estimate as it changes the run. GPU time comes from measured rates (gpu_rates.yaml, BENCHMARKS.md): a model
configuration that was timed costs what was measured; any other configuration of the same architecture is
scaled by its FLOPs per example (counted on fake tensors: no memory, no compute) with a floor per step.
The corpus comes from the data when it is at hand (MUSDB18-HQ headers), else from its published size.
"""
from __future__ import annotations

import functools
import heapq
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

RATES = Path(__file__).with_name("gpu_rates.yaml")
# MUSDB18-HQ: 150 songs, ~10 h (sigsep); musdb's split: 86 train, 14 valid, 50 test
MUSDB_SONGS = {"train": 86, "valid": 14, "test": 50}
MUSDB_MEAN_S = 10 * 3600 / 150
# FMA (Defferrard et al. 2017): 30 s clips of 8k / 25k / 106,574 tracks; fma_full: 106,574 untrimmed tracks, 343 days
FMA_SECONDS = {"small": 8000 * 30.0, "medium": 25000 * 30.0, "large": 106574 * 30.0, "full": 343 * 86400.0}
FMA_FILES = {"small": 8000, "medium": 25000, "large": 106574, "full": 106574}
GB = 1e9


@dataclass
class Job:
    kind: str                      # train | separate | curve | channels
    name: str                      # the model id (with its experiment) or the test set
    targets: set = field(default_factory=set)
    steps: int = 0
    batch: int = 0
    gpus: int = 1                  # GPUs the job holds at once (resources.train.gpu)
    gpu_s: float = 0.0             # GPU-seconds in all (held GPUs x wall)
    basis: str = ""                # measured | FLOP-scaled


def rates(gpu: str) -> dict:
    table = yaml.safe_load(RATES.read_text())
    if gpu not in table:
        raise ValueError(f"no measured rates for GPU {gpu!r}; known: {', '.join(table)} (src/mixlab/gpu_rates.yaml)")
    return table[gpu]


@functools.lru_cache(maxsize=None)
def _base() -> dict:
    """The papers' numbers (config.yaml's base): the model configurations the rates were measured on."""
    path = Path(__file__).resolve().parents[2] / "config.yaml"
    if not path.exists():
        raise FileNotFoundError(f"{path}: the workflow's config.yaml names the measured reference models")
    return yaml.safe_load(path.read_text())["base"]


# ---- FLOPs per example, counted on fake tensors ---------------------------------------------------------------
def _cache_file() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mixlab" / "flops.json"


@functools.lru_cache(maxsize=None)
def _flops(model_json: str, samples: int, backward: bool) -> float:
    """Counting a paper-size model takes seconds: kept on disk by model, length, pass and torch version."""
    import torch

    key = f"{torch.__version__} {samples} {int(backward)} {model_json}"
    file = _cache_file()
    try:
        cached = json.loads(file.read_text())
    except (OSError, ValueError):
        cached = {}
    if key not in cached:
        cached[key] = _count_flops(model_json, samples, backward)
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            tmp = file.with_name(f"{file.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(cached))
            tmp.replace(file)
        except OSError:          # a read-only home: count again next time
            pass
    return cached[key]


def _count_flops(model_json: str, samples: int, backward: bool) -> float:
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.utils.flop_counter import FlopCounterMode

    from mixlab.models import build_model

    def istft_shape_only(spec, n_fft, hop_length=None, win_length=None, window=None, center=True,
                         normalized=False, onesided=None, length=None, return_complex=False):
        # torch.istft checks its window's envelope (data-dependent): a fake tensor cannot. FFTs are not
        # counted by FlopCounterMode anyway; the shape (and a path for the gradient) is all that matters here.
        return spec.real.mean(dim=(-2, -1), keepdim=True)[..., 0].expand(*spec.shape[:-2], length)

    real_istft = torch.istft
    torch.istft = istft_shape_only
    try:
        with FakeTensorMode():
            model = build_model(json.loads(model_json))
            x = torch.randn(1, 2, samples)
            with FlopCounterMode(display=False) as counter:
                y = model(x)
                if backward:      # the gradients a training step takes (counted, not kept)
                    torch.autograd.grad(y.float().square().mean(), [p for p in model.parameters() if p.requires_grad])
    finally:
        torch.istft = real_istft
    return float(counter.get_total_flops())


def train_flops(model: dict) -> float:
    """FLOPs of one training example (forward + backward) at the model's training chunk."""
    from mixlab.models import model_chunk

    return _flops(json.dumps(model, sort_keys=True), model_chunk(model), True)


def infer_flops(model: dict, samples: int) -> float:
    return _flops(json.dumps(model, sort_keys=True), samples, False)


# ---- the corpus --------------------------------------------------------------------------------------------
def corpus(P: dict, tracks: dict) -> dict:
    """split -> (songs, seconds in all) of the corpus the run reads, and where the numbers come from."""
    if P["dataset"] == "synthetic":
        s = P["synth"]
        mean = (s["min_seconds"] + s["max_seconds"]) / 2
        return {"splits": {k: (len(v), len(v) * mean) for k, v in tracks.items()},
                "source": f"synthetic corpus, {s['min_seconds']:g}-{s['max_seconds']:g} s songs"}
    if P["dataset"] == "rendered":
        r = P["render"]
        return {"splits": {k: (len(v), len(v) * r["seconds"]) for k, v in tracks.items()},
                "source": f"rendered corpus, {r['seconds']:g} s songs"}
    cap = (P.get("musdb") or {}).get("max_seconds")
    if P.get("musdb_root") and Path(P["musdb_root"]).is_dir() and tracks.get("_seconds"):
        seconds = tracks["_seconds"]
        out = {k: (len(v), sum(min(seconds[t], cap or math.inf) for t in v)) for k, v in tracks.items()
               if not k.startswith("_")}
        return {"splits": out, "source": f"MUSDB18-HQ headers under {P['musdb_root']}"}
    mean = min(MUSDB_MEAN_S, cap or math.inf)
    return {"splits": {k: (len(v), len(v) * mean) for k, v in tracks.items() if not k.startswith("_")},
            "source": "MUSDB18-HQ's published size (150 songs, ~10 h; no musdb_root given)"}


def musdb_tracks(P: dict) -> dict:
    """Track lists as the workflow selects them: from the tree when it is given, else MUSDB18-HQ's split."""
    root = P.get("musdb_root")
    if root and Path(root).is_dir() and any(Path(root).glob("train/*/mixture.wav")):
        import soundfile as sf

        from mixlab.data import musdb_import
        from mixlab.data.check_musdb import check_musdb

        report = check_musdb(root)
        picked = musdb_import.select(report.tracks, P.get("musdb") or {})
        seconds = {}
        for split, names in picked.items():
            folder = "test" if split == "test" else "train"
            for t in names:
                info = sf.info(str(Path(root) / folder / t / "mixture.wav"))
                seconds[t] = info.frames / info.samplerate
        return {**picked, "_seconds": seconds}
    cfg = P.get("musdb") or {}
    return {split: [f"{split} song {i + 1}" for i in range(min(n, cfg.get(f"n_{split}") or n))]
            for split, n in MUSDB_SONGS.items()}


# ---- the estimate ------------------------------------------------------------------------------------------
class Estimator:
    def __init__(self, P: dict, tracks: dict, gpu: str = "h100"):
        from mixlab.plan import plan

        self.P, self.M = P, P["mixit"]
        self.rates = rates(gpu)
        self.data = corpus(P, tracks)
        self.plan = plan(P, {k: v for k, v in tracks.items() if not k.startswith("_")})
        self.jobs: dict[tuple, Job] = {}
        self.disk: dict[str, float] = {}

    # the measured reference of an architecture: its row of gpu_rates.yaml and its model spec
    def _reference(self, arch: str, what: str) -> dict:
        row = self.rates[what][arch]
        base = _base()
        if row["model"] == "base.model":
            model = {**base["model"], "sample_rate": base["sample_rate"]}
        else:
            size = row["model"].rsplit(".", 1)[1]
            M = base["mixit"]
            model = {**M["model"], **M["sizes"][size], "sample_rate": base["sample_rate"], "n_outputs": M["n_outputs"]}
        return {**row, "spec": model}

    def step_seconds(self, model: dict, batch: int) -> tuple[float, str]:
        ref = self._reference(model["name"], "train")
        per_example = ref["seconds_per_step"] / ref["batch"]
        if model == ref["spec"]:
            return batch * per_example, "measured"
        scaled = batch * per_example * train_flops(model) / train_flops(ref["spec"])
        return max(self.rates["min_step_s"], scaled), "FLOP-scaled"

    def separation_seconds(self, model: dict, chunk: int, overlap: float, songs: int, seconds: float) -> tuple[float, str]:
        """GPU seconds to separate `songs` songs of `seconds` in all, in chunks of `chunk` samples."""
        ref = self._reference(model["name"], "separate")
        rate = model["sample_rate"]
        ref_chunk, ref_overlap = self._ref_chunking(ref)
        per_chunk = ref["seconds"] / _chunks(ref["track_seconds"] * ref["spec"]["sample_rate"], ref_chunk, ref_overlap)
        n = songs * _chunks(seconds / max(songs, 1) * rate, chunk, overlap)
        if model == ref["spec"] and chunk == ref_chunk:
            return n * per_chunk, "measured"
        scale = infer_flops(model, chunk) / infer_flops(ref["spec"], ref_chunk)
        return n * per_chunk * scale, "FLOP-scaled"

    def _ref_chunking(self, ref) -> tuple[int, float]:
        base = _base()
        m = ref["spec"]
        if m["name"] == "tfc_tdf_v3":
            return m["hop_length"] * (base["separate"]["dim_t"] - 1), base["separate"]["overlap"]
        sep = base["mixit"]["separate"]
        return int(round(sep["chunk_seconds"] * m["sample_rate"])), sep["overlap"]

    def add(self, kind: str, name: str, target: str, **kw) -> Job:
        key = (kind, name)
        if key not in self.jobs:
            self.jobs[key] = Job(kind, name, **kw)
        self.jobs[key].targets.add(target)
        return self.jobs[key]

    def training(self, target: str, name: str, model: dict, train: dict, gpus: int) -> None:
        if ("train", name) not in self.jobs:
            t, basis = self.step_seconds(model, train["batch_size"])
            self.add("train", name, target, steps=train["steps"], batch=train["batch_size"], gpus=gpus,
                     gpu_s=train["steps"] * t, basis=basis)
            self._model_disk(name, model, train)
        self.jobs[("train", name)].targets.add(target)

    def _model_disk(self, name, model, train) -> None:
        """Final model + resume state (weights, EMA, Adam's two moments) + snapshots + kept best checkpoints."""
        n = _parameters(model)
        copies = 1 + 4 + (1 if "ema_decay" in train else 0)
        if train.get("snapshot_every"):
            copies += train["steps"] // train["snapshot_every"]
        copies += train.get("keep_best", 0)
        self.disk["models and checkpoints"] = self.disk.get("models and checkpoints", 0.0) + 4 * n * copies

    def separation(self, target: str, name: str, model: dict, how: dict, songs: int, seconds: float) -> None:
        if ("separate", name) in self.jobs:
            self.jobs[("separate", name)].targets.add(target)
            return
        if "chunk_seconds" in how:
            chunk = int(round(how["chunk_seconds"] * model["sample_rate"]))
        else:
            chunk = model["hop_length"] * (how["dim_t"] - 1)
        t, basis = self.separation_seconds(model, chunk, how["overlap"], songs, seconds)
        self.add("separate", name, target, gpu_s=t, basis=basis)
        # float32 WAV estimates: 4 stems x 2 channels
        self.disk["separated estimates"] = self.disk.get("separated estimates", 0.0) + seconds * model["sample_rate"] * 32

    # ---- Paper A
    def paper_a(self) -> None:
        P, plan = self.P, self.plan
        gpus = max(1, P["resources"]["train"]["gpu"])
        test_songs, test_s = self.data["splits"]["test"]
        model = {**P["model"], "sample_rate": P["sample_rate"]}
        targets = {}
        for _, _, m in plan.fig1_models:
            targets.setdefault(("fig1", m), set()).add("fig1")
            if plan.run_spec("fig1", m)["train"].get("snapshot_every"):
                targets[("fig1", m)].add("fig2")
        for _, testset, m in plan.fig4_rows():
            targets.setdefault(("fig1", m), set()).add("fig4")
        for exp in ("fig3", "table1"):
            for m in plan.models.get(exp, []):
                targets.setdefault((exp, m), set()).add(exp)
        for _, exp, m in plan.fig5_rows():
            targets.setdefault((exp, m), set()).add("fig5")
        for (exp, m), tset in targets.items():
            spec = plan.run_spec(exp, m)
            for target in sorted(tset):
                self.training(target, f"{exp}/{m}", spec["model"], spec["train"], gpus)
                if target != "fig2":       # Fig. 2 scores snapshots on training-length chunks (below)
                    self.separation(target, f"{exp}/{m} on test", model, P["separate"], test_songs, test_s)
        for _, testset, m in plan.fig4_rows():
            self.separation("fig4", f"fig1/{m} on {testset}", model, P["separate"], test_songs, test_s)
        # Fig. 2: every snapshot on chunks of {train, valid} x {original, random mixes}
        chunk_s = model["hop_length"] * (model["dim_t"] - 1) / P["sample_rate"]
        for p in plan.fig2_p:
            steps = P["train"]["steps"]
            snaps = steps // P["fig2"]["every"]
            chunks = 0
            for split in ("train", "valid"):
                n = int(self.data["splits"][split][1] // chunk_s)
                n = min(n, P["fig2"]["max_chunks"] or n)
                chunks += n * (1 + len(P["fig2"]["seeds"]))
            t, basis = self.separation_seconds(model, model["hop_length"] * (model["dim_t"] - 1), 0.0, chunks,
                                               chunks * chunk_s)
            self.add("curve", f"fig2 curve p={p}", "fig2", gpu_s=snaps * t, basis=basis)
        # stem stores (int16 as MUSDB18-HQ's PCM_16) and pitch banks (2K copies of the training store)
        rate = P["sample_rate"]
        for split, (_, seconds) in self.data["splits"].items():
            self.disk["stem stores"] = self.disk.get("stem stores", 0.0) + seconds * rate * 4 * 2 * 2
        K = P["augment"]["pitch_max"]
        self.disk["pitch banks"] = 2 * K * self.data["splits"]["train"][1] * rate * 4 * 2 * 2

    # ---- Paper B
    def paper_b(self) -> None:
        P, M, plan = self.P, self.M, self.plan
        rate = P["sample_rate"]
        res = {**P["resources"], **M.get("resources", {})}
        gpus = max(1, res["train"]["gpu"])
        test_songs, test_s = self.data["splits"]["test"]
        rows = plan.mixit_rows()
        need = {}
        for table, table_rows in rows.items():
            for _, mid in table_rows:
                for m in plan.mixit_seeded_ids(mid):
                    need.setdefault(m, set()).add(f"mixit/{table}")
        for m, tset in need.items():
            p = plan.mixit_parts(m)
            for target in sorted(tset):
                if p["subset"] is not None and P.get("mixit_pretrained", "train") == "train":
                    pre = plan.mixit_pretrain_spec(p["size"])
                    self.training(target, f"mixit pre-training {p['size']}_{p['subset']}", pre["model"],
                                  pre["train"], gpus)
                ft = plan.mixit_finetune_spec(m)
                self.training(target, f"mixit/{m}", ft["model"], ft["train"], gpus)
                self.separation(target, f"mixit/{m} on test", ft["model"], {"overlap": 0.5, **M["separate"]},
                                test_songs, test_s)
        # FMA clip store: the decoded files, int16 stereo
        if M["fma"] == "fma":
            subsets = {plan.mixit_parts(m)["subset"] for m in need} - {None}
            for s in sorted(subsets, key=list(FMA_SECONDS).index):
                self.disk[f"FMA {s} decoded clips"] = FMA_SECONDS[s] * rate * 2 * 2
        else:
            mean = (M["fma"]["min_seconds"] + M["fma"]["max_seconds"]) / 2
            self.disk["FMA-like decoded clips"] = sum(M["fma"][s] for s in ("small", "medium", "large", "full")) \
                * mean * rate * 2 * 2

    def targets(self) -> list[str]:
        seen = []
        for j in self.jobs.values():
            for t in sorted(j.targets):
                if t not in seen:
                    seen.append(t)
        order = ["fig1", "fig2", "fig3", "fig4", "fig5", "table1", "mixit/table1", "mixit/table2", "mixit/table3"]
        return sorted(seen, key=lambda t: order.index(t) if t in order else len(order))


def _chunks(samples: float, chunk: int, overlap: float) -> int:
    """Chunks mixlab.separate.overlap_add runs over a track of `samples` samples."""
    hop = chunk - int(round(overlap * chunk))
    left = chunk - hop
    return int(math.ceil((left + samples) / hop))


@functools.lru_cache(maxsize=None)
def _parameters_json(model_json: str) -> int:
    import torch

    from mixlab.models import build_model

    with torch.device("meta"):
        return sum(p.numel() for p in build_model(json.loads(model_json)).parameters())


def _parameters(model: dict) -> int:
    return _parameters_json(json.dumps(model, sort_keys=True))


def wall_seconds(jobs: list[Job], n_gpus: int) -> float:
    """Wall time of the jobs on n_gpus GPUs: longest job first onto the GPUs that free up first (jobs that hold
    several GPUs wait for that many). Every job is independent here; Snakemake orders the few that are not."""
    free = [0.0] * n_gpus
    for job in sorted(jobs, key=lambda j: -j.gpu_s / j.gpus):
        k = min(job.gpus, n_gpus)
        taken = [heapq.heappop(free) for _ in range(k)]
        end = max(taken) + job.gpu_s / k
        for _ in range(k):
            heapq.heappush(free, end)
    return max(free) if jobs else 0.0


def estimate(P: dict, tracks: dict, gpu: str = "h100", papers=("a", "b")) -> Estimator:
    est = Estimator(P, tracks, gpu)
    if "a" in papers:
        est.paper_a()
    if "b" in papers:
        est.paper_b()
    return est


def _hours(s: float) -> str:
    h = s / 3600
    return f"{h:,.0f}" if h >= 100 else f"{h:,.1f}" if h >= 1 else f"{h:.2f}"


def _wall(s: float) -> str:
    if s >= 86400 * 2:
        return f"{s / 86400:,.1f} d"
    if s >= 3600:
        return f"{s / 3600:.1f} h"
    return f"{s / 60:.0f} min"


def report(est: Estimator, n_gpus: list[int]) -> str:
    """A markdown report: per target, then the whole run, then disk."""
    lines = [f"GPU: {est.rates['name']} (rates: {est.rates['source']})",
             f"corpus: {est.data['source']}: " + ", ".join(f"{k} {n} songs / {s / 3600:.1f} h"
                                                        for k, (n, s) in est.data["splits"].items()), ""]
    head = "| target | trainings | steps (x batch) | separations | GPU-hours | " + \
           " | ".join(f"wall on {n} GPU{'s' * (n > 1)}" for n in n_gpus) + " |"
    lines += [head, "|" + "---|" * (5 + len(n_gpus))]

    def row(label, jobs):
        trainings = [j for j in jobs if j.kind == "train"]
        steps = {}
        for j in trainings:
            steps[(j.steps, j.batch)] = steps.get((j.steps, j.batch), 0) + 1
        step_text = ", ".join(f"{n} x {s:,} (x {b})" for (s, b), n in steps.items()) or "-"
        seps = sum(1 for j in jobs if j.kind != "train")
        gpu_s = sum(j.gpu_s for j in jobs)
        walls = " | ".join(_wall(wall_seconds(jobs, n)) for n in n_gpus)
        return f"| {label} | {len(trainings)} | {step_text} | {seps} | {_hours(gpu_s)} | {walls} |"
    for target in est.targets():
        lines.append(row(target, [j for j in est.jobs.values() if target in j.targets]))
    lines.append(row("**all (shared runs once)**", list(est.jobs.values())))
    basis = {j.basis for j in est.jobs.values()}
    lines += ["", "GPU time: " + ("measured model configurations" if basis == {"measured"} else
              "measured where the configuration was timed, FLOP-scaled from it elsewhere")
              + "; wall: independent jobs scheduled longest first, each on its resources' GPUs. "
              "Data preparation and scoring run on CPUs and are not counted.", "",
              "| disk | GB |", "|---|---|"]
    for what, b in est.disk.items():
        lines.append(f"| {what} | {b / GB:,.1f} |")
    lines.append(f"| **all** | {sum(est.disk.values()) / GB:,.1f} |")
    return "\n".join(lines)
