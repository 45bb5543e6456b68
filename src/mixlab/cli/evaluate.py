"""`mixlab` subcommands of the evaluation stage: separation, BSS Eval / uSDR scoring and the museval
cross-check, Fig. 2's snapshot curves, Paper B's channel selection."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from mixlab.cli._common import job_spec, keep_freed_memory, log, native_threads, threads
from mixlab.config import ConfigError

# separate: the chunking of overlap-add (absent: the training chunk, overlap_add's defaults)
SEPARATE_KEYS = ("dim_t", "chunk_seconds", "overlap", "window", "batch_size", "amp", "cpu_amp")


def cmd_separate(a):
    import numpy as np
    import torch

    from mixlab.data.tracks import list_tracks, load_mixture, track_dir
    from mixlab.separate import overlap_add, write_estimates
    from mixlab.models.io import load_model
    from mixlab.train.engine import amp_dtype

    threads(a.threads)
    s = job_spec(a, SEPARATE_KEYS, flags=SEPARATE_KEYS)
    if "dim_t" in s and "chunk_seconds" in s:
        raise ConfigError("separate: give the chunk as dim_t (STFT frames) or chunk_seconds, not both")
    model, spec = load_model(a.model, a.device)
    cfg = model.cfg
    sample_rate = cfg.sample_rate
    if "chunk_seconds" in s:      # time-domain chunking (Paper B: 12 s chunks, 6 s overlap)
        chunk = int(round(s["chunk_seconds"] * sample_rate))
    elif hasattr(cfg, "dim_t"):
        chunk = cfg.hop_length * (s.get("dim_t", cfg.dim_t) - 1)
    else:
        chunk = cfg.chunk_size
    how = {k: s[k] for k in ("overlap", "window", "batch_size") if k in s}    # absent: overlap_add's defaults
    # fp32 unless asked: amp on CUDA, cpu_amp (bf16 where the CPU computes in it) on the CPU
    how["autocast"] = amp_dtype(s.get("amp", "fp32"), torch.device(a.device), log, s.get("cpu_amp", "fp32"), key="separate")
    log(f"[separate] {a.model}: chunks of {chunk} samples, {how}")
    names = a.tracks or list_tracks(a.root, a.split)
    for i, name in enumerate(names):
        t0 = time.perf_counter()
        mixture = torch.from_numpy(np.ascontiguousarray(load_mixture(track_dir(a.root, a.split, name), sample_rate).T))
        est = overlap_add(model, mixture.to(a.device), chunk, **how)
        write_estimates(Path(a.out) / name, est.cpu().numpy(), sample_rate)
        dur = mixture.shape[-1] / sample_rate
        log(f"[separate] {i + 1}/{len(names)} {name}: {dur:.1f} s audio in {time.perf_counter() - t0:.1f} s")


def cmd_score(a):
    if not (len(a.references) == len(a.estimates) == len(a.out)):
        raise SystemExit("score: --references, --estimates and --out need one entry per track each "
                         f"(got {len(a.references)}, {len(a.estimates)}, {len(a.out)})")
    # On the CPU no scorer needs torch (2.4 s to import, longer than scoring a short track).
    native_threads(a.threads)
    keep_freed_memory()
    if a.device != "cpu":
        threads(a.threads)
    from mixlab.metrics.bsseval import preload, score_dirs

    preload(a.scorer, a.device)
    # One process scores many tracks: each track's time below is reading, scoring and writing it.
    for i, (ref, est, out) in enumerate(zip(a.references, a.estimates, a.out)):
        t0 = time.perf_counter()
        text = score_dirs(ref, est, a.sample_rate, a.scorer, a.device, a.threads)
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(out).with_name(Path(out).name + ".part")
        tmp.write_text(text)
        tmp.replace(out)
        log(f"[score] {i + 1}/{len(a.out)} {a.scorer}: {out} ({time.perf_counter() - t0:.1f} s)")


def cmd_crosscheck(a):
    import soundfile as sf

    from mixlab.data.layout import STEMS
    from mixlab.data.tracks import load_stems
    from mixlab.metrics.bsseval import frames_array
    from mixlab.metrics.crosscheck import crosscheck

    reports = []
    for ref_dir, est_dir, scores in zip(a.references, a.estimates, a.scores):
        rate = sf.info(str(Path(ref_dir) / f"{STEMS[0]}.wav")).samplerate
        t0 = time.perf_counter()
        report = crosscheck(load_stems(ref_dir, rate), load_stems(est_dir, rate),
                            frames_array(Path(scores).read_text()), rate, a.tolerance)
        report["scores"] = str(scores)
        reports.append(report)
        log(f"[crosscheck] {scores}: max |diff| {report['max_abs_diff_db']} dB, ill-posed "
             f"{report['ill_posed_frames']}, failed {report['failed_frames']} ({time.perf_counter() - t0:.1f} s)")
    ok = all(r["ok"] for r in reports)
    if ok:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps({"ok": ok, "tracks": reports}, indent=1))
    else:
        raise SystemExit(f"crosscheck: the fast scorer differs from museval by more than {a.tolerance} dB "
                         "on some frame (see the log); rerun with --config scorer=museval")


def cmd_aggregate(a):
    from mixlab.metrics.bsseval import track_medians

    table = track_medians(a.scores)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(a.out, index=False)
    log(f"[aggregate] {len(a.scores)} tracks -> {a.out}")


def cmd_curve(a):
    from mixlab.papers.random_mixing.curves import score_snapshots

    threads(a.threads)
    if len(a.stores) != len(a.sets) or len(a.stores) != len(a.splits):
        raise SystemExit("--splits, --stores and --sets must have the same length")
    table = score_snapshots(a.snapshots, {sp: (st, se) for sp, st, se in zip(a.splits, a.stores, a.sets)},
                            device=a.device, batch_size=a.batch_size, log=log)
    table.to_csv(a.out, index=False)
    log(f"[curve] {a.out}")


def cmd_select_channels(a):
    from mixlab.papers.mixit.channel_selection import select_channels
    from mixlab.models.io import load_model

    threads(a.threads)
    model, _ = load_model(a.model, a.device)
    t0 = time.perf_counter()
    result = select_channels(model, a.store, a.chunk_seconds, a.device, progress=log, rule=a.rule)
    result["model"] = str(a.model)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=1))
    log(f"[channels] {dict(zip(result['stems'], result['channels']))} from {result['chunks']} chunks "
         f"({time.perf_counter() - t0:.1f} s)")


def cmd_usdr(a):
    from mixlab.metrics.usdr import usdr_table

    if not (len(a.tracks) == len(a.references) == len(a.estimates)):
        raise SystemExit("usdr: --tracks, --references and --estimates need one entry per track each")
    table = usdr_table(a.tracks, a.references, a.estimates, a.sample_rate, progress=log, mode=a.mode)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(a.out, index=False)


def cmd_import_checkpoint(a):
    from mixlab.models.released import import_checkpoint

    import_checkpoint(a.folder, a.out, trust_pickle=a.trust_pickle, drop_last_frame=not a.keep_last_frame, progress=log)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("import-checkpoint", help="Paper B: the authors' released model folder -> a mixlab model file")
    s.add_argument("folder", help="released model folder (checkpoints/*.pth|*.ckpt + merged_config.yaml); several "
                   "checkpoints are averaged, last.ckpt left out, as the authors' loader does")
    s.add_argument("--out", required=True, help="mixlab model file to write (load it with mixlab.models.load)")
    s.add_argument("--keep-last-frame", action="store_true", help="keep the last STFT frame the authors' code drops "
                   "(default: drop it, to reproduce their outputs exactly)")
    s.add_argument("--trust-pickle", action="store_true", help="read checkpoints that hold more than tensors "
                   "(full unpickling: only for files from a source you trust)")
    s.set_defaults(func=cmd_import_checkpoint)

    s = sub.add_parser("separate", help="separate full tracks by overlap-add")
    s.add_argument("--model", required=True)
    s.add_argument("--root", required=True)
    s.add_argument("--split", default="test", choices=["train", "valid", "test"])
    s.add_argument("--tracks", nargs="*", default=None, help="track names (default: the whole split)")
    s.add_argument("--out", required=True, help="folder; estimates go to OUT/<track>/<stem>.wav")
    s.add_argument("--spec", default=None, help="the chunking below as JSON or a JSON/YAML file (flags override "
                   "it); the workflow passes config `separate` (Paper B: mixit.separate)")
    s.add_argument("--dim-t", type=int, default=None, help="frames per chunk (default: the training chunk)")
    s.add_argument("--chunk-seconds", type=float, default=None, help="chunk length in seconds (instead of --dim-t)")
    s.add_argument("--overlap", type=float, default=None, help="fraction of a chunk shared with the next (0.5)")
    s.add_argument("--window", default=None, choices=["hann", "boxcar"], help="cross-fade window (hann)")
    s.add_argument("--batch-size", type=int, default=None, help="chunks per forward pass (4)")
    s.add_argument("--amp", default=None, choices=["fp32", "bf16", "fp16"],
                   help="autocast on CUDA (fp32: none, the default; bf16 as the authors of Paper B separate)")
    s.add_argument("--cpu-amp", default=None, choices=["fp32", "bf16"],
                   help="autocast on the CPU: bf16 where it computes in bf16 (fp32: none, the default)")
    s.add_argument("--device", default="cpu")
    s.add_argument("--threads", type=int, default=None)
    s.set_defaults(func=cmd_separate)

    s = sub.add_parser("score", help="museval BSS Eval v4 of tracks -> one museval per-track JSON each")
    s.add_argument("--references", nargs="+", required=True,
                   help="folders with vocals/drums/bass/other.wav, one per track")
    s.add_argument("--estimates", nargs="+", required=True, help="estimate folders, paired with --references")
    s.add_argument("--out", nargs="+", required=True, help="JSON paths, paired with --references")
    s.add_argument("--sample-rate", type=int, default=None, help="expected rate (default: the references')")
    s.add_argument("--scorer", default="museval", choices=["museval", "fast"],
                   help="museval itself, or mixlab's exact reimplementation (same numbers within 1e-6 dB, ~20x faster)")
    s.add_argument("--device", default="cpu", help="the fast scorer's device: cpu (numpy/scipy) or a torch device")
    s.add_argument("--threads", type=int, default=None)
    s.set_defaults(func=cmd_score)

    s = sub.add_parser("crosscheck", help="compare fast-scorer JSONs with museval; exit 1 on a mismatch")
    s.add_argument("--references", nargs="+", required=True)
    s.add_argument("--estimates", nargs="+", required=True)
    s.add_argument("--scores", nargs="+", required=True, help="fast-scorer JSONs, one per track")
    s.add_argument("--tolerance", type=float, default=1e-3, help="dB")
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_crosscheck)

    s = sub.add_parser("aggregate", help="per-track medians over frames of museval JSONs -> CSV")
    s.add_argument("scores", nargs="+")
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_aggregate)

    s = sub.add_parser("curve", help="Fig. 2: SDX SDR improvement of every training snapshot on evaluation sets")
    s.add_argument("--snapshots", required=True, help="folder of step*.pt snapshots")
    s.add_argument("--splits", nargs="+", required=True)
    s.add_argument("--stores", nargs="+", required=True)
    s.add_argument("--sets", nargs="+", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--device", default="cpu")
    s.add_argument("--batch-size", type=int, default=16)
    s.add_argument("--threads", type=int, default=None)
    s.set_defaults(func=cmd_curve)

    s = sub.add_parser("select-channels", help="Paper B: pick 4 of the N MixIT outputs by majority vote")
    s.add_argument("--model", required=True)
    s.add_argument("--store", required=True, help="validation stem store")
    s.add_argument("--chunk-seconds", type=float, default=6.0)
    s.add_argument("--rule", choices=["paper", "code"], default="paper",
                   help="paper: all channels, distinct outputs; code: the authors' (channel 0, plain argmax)")
    s.add_argument("--out", required=True)
    s.add_argument("--device", default="cpu")
    s.add_argument("--threads", type=int, default=None)
    s.set_defaults(func=cmd_select_channels)

    s = sub.add_parser("usdr", help="Paper B: song-level SNR per stem of separated tracks -> CSV")
    s.add_argument("--tracks", nargs="+", required=True)
    s.add_argument("--references", nargs="+", required=True)
    s.add_argument("--estimates", nargs="+", required=True)
    s.add_argument("--sample-rate", type=int, required=True)
    s.add_argument("--mode", required=True, choices=["joint", "channel_mean"],
                   help="one SNR over both channels (MDX, the paper's citation) or the mean of per-channel SNRs "
                        "(the authors' code); the workflow passes mixit.usdr")
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_usdr)
