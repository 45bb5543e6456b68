"""`mixlab` subcommands of the evaluation stage: separation, BSS Eval / uSDR scoring and the museval
cross-check, Fig. 2's snapshot curves, Paper B's channel selection."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from mixlab.cli._common import (DEVICE_HELP, THREADS_HELP, duration, existing_file, existing_folder, existing_path, job_spec,
                                keep_freed_memory, log, native_threads, settings_spec, spec_arg, threads)
from mixlab.config import ConfigError

def pick_device(asked: str) -> str:
    """--device auto: the first CUDA GPU, else Apple's GPU, else the CPU."""
    import torch

    if asked != "auto":
        return asked
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def song_name(path: str) -> str:
    """A song's output folder: the file's name without its suffix, or a track folder's name."""
    p = Path(path)
    return p.name if p.is_dir() else p.stem


def cmd_separate(a):
    from mixlab.models.io import load_model
    from mixlab.separate import SETTINGS, chunk_of, read_audio, separate_audio, settings_of, stem_names, write_estimates

    threads(a.threads)
    names = [song_name(s) for s in a.songs]
    clash = sorted({n for n in names if names.count(n) > 1})
    if clash:
        raise ConfigError(f"separate: several songs would write to the same folder {clash[0]!r} "
                          f"({', '.join(s for s in a.songs if song_name(s) == clash[0])}); rename one or separate them apart")
    device = pick_device(a.device)
    model, spec = load_model(a.model, device)
    # --spec, then flags given by hand, over the model file's settings
    overrides = {**(job_spec(a, SETTINGS) if a.spec else {}),
                 **{k: getattr(a, k) for k in SETTINGS if getattr(a, k) is not None}}
    settings = settings_of(spec, overrides)
    out = Path(a.out) / (a.name or Path(a.model).stem)
    source = "the model file's" if spec.get("separate") else "the training chunk and defaults (none in the model file)"
    log(f"[separate] {a.model} on {device}: chunks of {chunk_of(model.cfg, settings)} samples at {model.cfg.sample_rate} Hz, "
        f"{settings} ({source} settings{', overridden by hand' if overrides else ''})")
    bar = ChunkBar() if sys.stderr.isatty() else None
    t_all = time.perf_counter()
    for i, (song, name) in enumerate(zip(a.songs, names)):
        t0 = time.perf_counter()
        audio, rate = read_audio(song)
        if bar:
            bar.start(f"{i + 1}/{len(names)} {name}")
        est = separate_audio(model, audio, rate, settings, device, log=log, progress=bar)
        if bar:
            bar.end()
        write_estimates(out / name, est, rate, stem_names(len(est)))
        dur = audio.shape[-1] / rate
        log(f"[separate] {i + 1}/{len(names)} {name}: {dur:.1f} s of audio at {rate} Hz in "
            f"{time.perf_counter() - t0:.1f} s -> {out / name}/")
    if len(names) > 1:
        log(f"[separate] {len(names)} songs in {time.perf_counter() - t_all:.1f} s")


class ChunkBar:
    """A one-line progress bar on a terminal, redrawn after every batch of chunks."""

    def start(self, label: str) -> None:
        self.label, self.t0 = label, time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        width, spent = 30, time.perf_counter() - self.t0
        eta = f"ETA {duration(spent / done * (total - done))}" if 0 < done < total else ""
        fill = int(width * done / total)
        sys.stderr.write(f"\r  {self.label} [{'#' * fill}{'.' * (width - fill)}] {done}/{total} chunks {eta}   ")
        sys.stderr.flush()

    def end(self) -> None:
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


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
    from mixlab.data.layout import STEMS
    from mixlab.data.tracks import load_stems, wav_info
    from mixlab.errors import read_json
    from mixlab.metrics.bsseval import frames_array
    from mixlab.metrics.crosscheck import crosscheck

    for scores in a.scores:        # the JSONs first: a bad one is named before minutes of museval
        read_json(scores, "a museval per-track JSON", "score the track with `mixlab score`", keys=("targets",))
    reports = []
    for ref_dir, est_dir, scores in zip(a.references, a.estimates, a.scores):
        rate = wav_info(Path(ref_dir) / f"{STEMS[0]}.wav", None).samplerate
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
    from mixlab.papers.mixit.checkpoint_import import import_checkpoint
    from mixlab.separate import SETTINGS

    separate = job_spec(a, SETTINGS) if a.spec else None
    import_checkpoint(a.folder, a.out, trust_pickle=a.trust_pickle, drop_last_frame=not a.keep_last_frame, progress=log,
                      separate=separate)


GROUP = "separate and score"
GROUP_OF = {"import-checkpoint": "Paper B", "select-channels": "Paper B", "usdr": "Paper B",
            "curve": "figures and tables"}


def add_parsers(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("separate", help="separate songs into stems with a trained or imported model",
                       description="Separate songs -- WAV, FLAC, OGG or MP3 at any rate, mono or stereo, or track "
                       "folders of a corpus -- into OUT/<model>/<song>/<stem>.wav (32-bit float WAV at the song's "
                       "rate and length). The model file carries the chunking the workflow separates with; the "
                       "flags below override it.")
    s.add_argument("songs", nargs="+", type=existing_path, metavar="SONG",
                   help="audio file, or a track folder holding mixture.wav (or the stems, summed)")
    s.add_argument("--model", required=True, type=existing_file,
                   help="model file: results/<run>/models/<exp>/<model>.pt, or one made by `mixlab import-checkpoint`")
    s.add_argument("--out", default="separated", help="folder; stems go to OUT/<model>/<song>/<stem>.wav (separated)")
    s.add_argument("--name", default=None, help="the <model> folder under OUT (default: the model file's name)")
    s.add_argument("--device", default="auto", help="auto (a CUDA GPU, else Apple's, else the CPU), cpu, cuda, cuda:N")
    s.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    o = s.add_argument_group("chunking (default: the model file's; the training chunk where it has none)")
    o.add_argument("--spec", type=spec_arg, default=None, help="the settings below as JSON or a JSON/YAML file")
    o.add_argument("--dim-t", type=int, default=None, help="STFT frames per chunk (TFC-TDF)")
    o.add_argument("--chunk-seconds", type=float, default=None, help="chunk length in seconds (instead of --dim-t)")
    o.add_argument("--overlap", type=float, default=None, help="fraction of a chunk shared with the next")
    o.add_argument("--window", default=None, choices=["hann", "boxcar"], help="cross-fade window")
    o.add_argument("--batch-size", type=int, default=None, help="chunks per forward pass")
    o.add_argument("--amp", default=None, choices=["fp32", "bf16", "fp16"],
                   help="autocast on CUDA (bf16 as the authors of Paper B separate)")
    o.add_argument("--cpu-amp", default=None, choices=["fp32", "bf16"],
                   help="autocast on the CPU: bf16 where it computes in bf16")
    s.set_defaults(func=cmd_separate)

    s = sub.add_parser("score", help="museval BSS Eval v4 of tracks -> one museval per-track JSON each")
    s.add_argument("--references", nargs="+", required=True, type=existing_folder,
                   help="folders with vocals/drums/bass/other.wav, one per track")
    s.add_argument("--estimates", nargs="+", required=True, type=existing_folder,
                   help="estimate folders, paired with --references")
    s.add_argument("--out", nargs="+", required=True, help="JSON paths to write, paired with --references")
    s.add_argument("--sample-rate", type=int, default=None, help="expected rate (default: the references')")
    s.add_argument("--scorer", default="museval", choices=["museval", "fast"],
                   help="museval itself, or mixlab's exact reimplementation (same numbers within 1e-6 dB, ~20x faster)")
    s.add_argument("--device", default="cpu", help="the fast scorer's device: cpu (numpy/scipy) or a torch device")
    s.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    settings_spec(s)
    s.set_defaults(func=cmd_score)

    s = sub.add_parser("crosscheck", help="compare fast-scorer JSONs with museval; exit 1 on a mismatch")
    s.add_argument("--references", nargs="+", required=True, type=existing_folder, help="reference track folders")
    s.add_argument("--estimates", nargs="+", required=True, type=existing_folder, help="estimate folders, paired")
    s.add_argument("--scores", nargs="+", required=True, type=existing_file, help="fast-scorer JSONs, one per track")
    s.add_argument("--tolerance", type=float, default=1e-3, help="largest difference allowed, in dB (0.001)")
    s.add_argument("--out", required=True, help="JSON report to write")
    s.set_defaults(func=cmd_crosscheck)

    s = sub.add_parser("aggregate", help="per-track medians over frames of museval JSONs -> CSV")
    s.add_argument("scores", nargs="+", type=existing_file, metavar="SCORES", help="museval per-track JSONs")
    s.add_argument("--out", required=True, help="CSV to write (one row per track and stem)")
    s.set_defaults(func=cmd_aggregate)

    s = sub.add_parser("curve", help="Fig. 2: SDX SDR improvement of every training snapshot on evaluation sets")
    s.add_argument("--snapshots", required=True, type=existing_folder, help="folder of step*.pt snapshots")
    s.add_argument("--splits", nargs="+", required=True, help="names of the evaluation sets (train valid)")
    s.add_argument("--stores", nargs="+", required=True, type=existing_folder, help="stem store of each split")
    s.add_argument("--sets", nargs="+", required=True, type=existing_file, help="evaluation-set recipe CSV of each split")
    s.add_argument("--out", required=True, help="CSV to write")
    s.add_argument("--device", default="cpu", help=DEVICE_HELP)
    s.add_argument("--batch-size", type=int, default=16, help="chunks per forward pass (16)")
    s.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    settings_spec(s)
    s.set_defaults(func=cmd_curve)

    s = sub.add_parser("select-channels", help="pick 4 of the N MixIT outputs by majority vote")
    s.add_argument("--model", required=True, type=existing_file, help="pre-trained MixIT model file")
    s.add_argument("--store", required=True, type=existing_folder, help="validation stem store")
    s.add_argument("--chunk-seconds", type=float, default=6.0, help="chunk length of the vote (6)")
    s.add_argument("--rule", choices=["paper", "code"], default="paper",
                   help="paper: all channels, distinct outputs; code: the authors' (channel 0, plain argmax)")
    s.add_argument("--out", required=True, help="JSON to write")
    s.add_argument("--device", default="cpu", help=DEVICE_HELP)
    s.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    settings_spec(s)
    s.set_defaults(func=cmd_select_channels)

    s = sub.add_parser("usdr", help="song-level SNR per stem of separated tracks -> CSV")
    s.add_argument("--tracks", nargs="+", required=True, help="track names, one per reference folder")
    s.add_argument("--references", nargs="+", required=True, type=existing_folder, help="reference track folders")
    s.add_argument("--estimates", nargs="+", required=True, type=existing_folder, help="estimate folders, paired")
    s.add_argument("--sample-rate", type=int, required=True, help="the tracks' rate (Hz)")
    s.add_argument("--mode", required=True, choices=["joint", "channel_mean"],
                   help="one SNR over both channels (MDX, the paper's citation) or the mean of per-channel SNRs "
                        "(the authors' code); the workflow passes mixit.usdr")
    s.add_argument("--out", required=True, help="CSV to write")
    settings_spec(s)
    s.set_defaults(func=cmd_usdr)

    s = sub.add_parser("import-checkpoint", help="the authors' released model folder -> a mixlab model file")
    s.add_argument("folder", type=existing_path, metavar="FOLDER",
                   help="released model folder (checkpoints/*.pth|*.ckpt + merged_config.yaml); several "
                   "checkpoints are averaged, last.ckpt left out, as the authors' loader does")
    s.add_argument("--out", required=True, help="mixlab model file to write (load it with mixlab.models.load)")
    s.add_argument("--keep-last-frame", action="store_true", help="keep the last STFT frame the authors' code drops "
                   "(default: drop it, to reproduce their outputs exactly)")
    s.add_argument("--trust-pickle", action="store_true", help="read checkpoints that hold more than tensors "
                   "(full unpickling: only for files from a source you trust)")
    s.add_argument("--spec", type=spec_arg, default=None, help="separation settings the model file carries, as JSON or "
                   "a file (default: the authors' -- 12 s chunks, 6 s overlap, bf16 on CUDA)")
    s.set_defaults(func=cmd_import_checkpoint)
