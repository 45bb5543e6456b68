"""`mixlab` command line: the entry points the workflow's rules call, usable by hand."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import yaml


def _log(msg: str) -> None:
    print(msg, flush=True)


def _read_spec(arg: str) -> dict:
    """A run spec given inline as JSON or as a path to a JSON/YAML file."""
    if arg.lstrip().startswith("{"):
        return json.loads(arg)
    return yaml.safe_load(Path(arg).read_text())


def _threads(n: int | None) -> None:
    if n:
        import torch

        torch.set_num_threads(n)


def cmd_synth(a):
    from mixlab.data.synth import SynthSpec, build_corpus

    spec = SynthSpec(seed=a.seed, sample_rate=a.sample_rate, n_train=a.n_train, n_valid=a.n_valid,
                     n_test=a.n_test, min_seconds=a.min_seconds, max_seconds=a.max_seconds)
    build_corpus(a.out, spec, progress=_log)


def cmd_store(a):
    from mixlab.data.stem_store import build_store
    from mixlab.data.tracks import list_tracks

    names = list_tracks(a.root, a.split)
    build_store(a.root, a.split, names, a.out, a.sample_rate, a.min_length, progress=_log)


def cmd_train(a):
    from mixlab.train.loop import train

    _threads(a.threads)
    train(_read_spec(a.spec), a.store, a.out, a.resume_dir, device=a.device, log=_log)


def cmd_separate(a):
    import numpy as np
    import torch

    from mixlab.data.tracks import list_tracks, load_mixture, track_dir
    from mixlab.separate import overlap_add, write_estimates
    from mixlab.train.checkpoint import load_model

    _threads(a.threads)
    model, spec = load_model(a.model, a.device)
    cfg = model.cfg
    sample_rate = cfg.sample_rate
    dim_t = a.dim_t or cfg.dim_t
    chunk = cfg.hop_length * (dim_t - 1)
    names = a.tracks or list_tracks(a.root, a.split)
    for i, name in enumerate(names):
        t0 = time.perf_counter()
        mixture = torch.from_numpy(np.ascontiguousarray(load_mixture(track_dir(a.root, a.split, name), sample_rate).T))
        est = overlap_add(model, mixture.to(a.device), chunk, a.overlap, a.window, a.batch_size)
        write_estimates(Path(a.out) / name, est.cpu().numpy(), sample_rate)
        dur = mixture.shape[-1] / sample_rate
        _log(f"[separate] {i + 1}/{len(names)} {name}: {dur:.1f} s audio in {time.perf_counter() - t0:.1f} s")


def cmd_score(a):
    from mixlab.metrics.bsseval import score_dirs

    _threads(a.threads)
    t0 = time.perf_counter()
    text = score_dirs(a.references, a.estimates, a.sample_rate, a.scorer, a.device)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(text)
    _log(f"[score] {a.scorer}: {a.out} ({time.perf_counter() - t0:.1f} s)")


def cmd_crosscheck(a):
    import soundfile as sf

    from mixlab.data.synth import STEMS
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
        _log(f"[crosscheck] {scores}: max |diff| {report['max_abs_diff_db']} dB, ill-posed "
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
    _log(f"[aggregate] {len(a.scores)} tracks -> {a.out}")


def cmd_fig1(a):
    from mixlab.plots.fig1 import fig1_table, plot_fig1

    if len(a.p) != len(a.tables):
        raise SystemExit("--p and --tables must have the same length")
    table = fig1_table(a.p, a.tables)
    table.round(3).to_csv(a.csv)
    plot_fig1(table, a.out, a.caption)
    _log(f"[fig1] {a.out}, {a.csv}\n{table.round(2).to_string()}")


def cmd_check_config(a):
    from mixlab.config import load

    overrides = dict(kv.split("=", 1) for kv in a.set)
    preset = load(a.config, overrides)
    _log(f"config OK: scale={preset['scale']} dataset={preset['dataset']}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mixlab", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("synth", help="build the synthetic multitrack corpus (MUSDB18-HQ layout)")
    s.add_argument("--out", required=True)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--sample-rate", type=int, default=16000)
    s.add_argument("--n-train", type=int, default=10)
    s.add_argument("--n-valid", type=int, default=2)
    s.add_argument("--n-test", type=int, default=4)
    s.add_argument("--min-seconds", type=float, default=16.0)
    s.add_argument("--max-seconds", type=float, default=24.0)
    s.set_defaults(func=cmd_synth)

    s = sub.add_parser("store", help="decode the stems of a split once into a memory-mapped stem store")
    s.add_argument("--root", required=True, help="corpus root (MUSDB18-HQ layout)")
    s.add_argument("--split", required=True, choices=["train", "valid", "test"])
    s.add_argument("--out", required=True)
    s.add_argument("--sample-rate", type=int, required=True)
    s.add_argument("--min-length", type=int, default=0, help="reject tracks shorter than this (samples)")
    s.set_defaults(func=cmd_store)

    s = sub.add_parser("train", help="train a separator; rerun the same command to resume after a kill")
    s.add_argument("--spec", required=True, help="run spec {model: ..., train: ...}: inline JSON or a file")
    s.add_argument("--store", required=True, help="stem store of the training songs")
    s.add_argument("--out", required=True, help="model file to write (EMA weights + spec)")
    s.add_argument("--resume-dir", required=True, help="where resume checkpoints live")
    s.add_argument("--device", default="cpu")
    s.add_argument("--threads", type=int, default=None)
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("separate", help="separate full tracks by overlap-add")
    s.add_argument("--model", required=True)
    s.add_argument("--root", required=True)
    s.add_argument("--split", default="test", choices=["train", "valid", "test"])
    s.add_argument("--tracks", nargs="*", default=None, help="track names (default: the whole split)")
    s.add_argument("--out", required=True, help="folder; estimates go to OUT/<track>/<stem>.wav")
    s.add_argument("--dim-t", type=int, default=None, help="frames per chunk (default: the training chunk)")
    s.add_argument("--overlap", type=float, default=0.5)
    s.add_argument("--window", default="hann", choices=["hann", "boxcar"])
    s.add_argument("--batch-size", type=int, default=4)
    s.add_argument("--device", default="cpu")
    s.add_argument("--threads", type=int, default=None)
    s.set_defaults(func=cmd_separate)

    s = sub.add_parser("score", help="museval BSS Eval v4 of one track -> museval per-track JSON")
    s.add_argument("--references", required=True, help="folder with vocals/drums/bass/other.wav")
    s.add_argument("--estimates", required=True, help="folder with vocals/drums/bass/other.wav")
    s.add_argument("--out", required=True)
    s.add_argument("--sample-rate", type=int, default=None, help="expected rate (default: the references')")
    s.add_argument("--scorer", default="museval", choices=["museval", "fast"],
                   help="museval itself, or mixlab's exact reimplementation (same numbers, ~20x faster)")
    s.add_argument("--device", default="cpu", help="torch device of the fast scorer")
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

    s = sub.add_parser("fig1", help="Paper A Fig. 1 from per-model per-track tables")
    s.add_argument("--p", type=float, nargs="+", required=True)
    s.add_argument("--tables", nargs="+", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--csv", required=True)
    s.add_argument("--caption", default="")
    s.set_defaults(func=cmd_fig1)

    s = sub.add_parser("check-config", help="validate a config.yaml against the schema")
    s.add_argument("config")
    s.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    s.set_defaults(func=cmd_check_config)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from mixlab.config import ConfigError
    from mixlab.data.tracks import TrackError

    try:
        args.func(args)
    except (ConfigError, TrackError) as exc:
        print(f"mixlab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
