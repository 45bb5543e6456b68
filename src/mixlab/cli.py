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


def cmd_check_musdb(a):
    from mixlab.data.check_musdb import check_musdb

    report = check_musdb(a.root)
    _log(report.text())
    if not report.ok:
        raise SystemExit(2)


def cmd_import_musdb(a):
    from mixlab.data.musdb_import import import_musdb

    n = {"n_train": a.n_train, "n_valid": a.n_valid, "n_test": a.n_test}
    import_musdb(a.root, a.out, a.sample_rate, n, a.max_seconds, progress=_log)


def cmd_store(a):
    from mixlab.data.stem_store import build_store
    from mixlab.data.tracks import list_tracks

    names = list_tracks(a.root, a.split)
    build_store(a.root, a.split, names, a.out, a.sample_rate, a.min_length, progress=_log)


def cmd_train(a):
    from mixlab.train.loop import train

    _threads(a.threads)
    train(_read_spec(a.spec), a.store if len(a.store) > 1 else a.store[0], a.out, a.resume_dir, device=a.device,
          log=_log, snapshots=a.snapshots)


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
    if a.chunk_seconds:      # time-domain chunking (Paper B: 12 s chunks, 6 s overlap)
        chunk = int(round(a.chunk_seconds * sample_rate))
    elif hasattr(cfg, "dim_t"):
        chunk = cfg.hop_length * ((a.dim_t or cfg.dim_t) - 1)
    else:
        chunk = cfg.chunk_size
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

    if not (len(a.references) == len(a.estimates) == len(a.out)):
        raise SystemExit("score: --references, --estimates and --out need one entry per track each "
                         f"(got {len(a.references)}, {len(a.estimates)}, {len(a.out)})")
    _threads(a.threads)
    # One process scores many tracks: start-up (torch, museval) costs more than scoring a demo track.
    for i, (ref, est, out) in enumerate(zip(a.references, a.estimates, a.out)):
        t0 = time.perf_counter()
        text = score_dirs(ref, est, a.sample_rate, a.scorer, a.device)
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(out).with_name(Path(out).name + ".part")
        tmp.write_text(text)
        tmp.replace(out)
        _log(f"[score] {i + 1}/{len(a.out)} {a.scorer}: {out} ({time.perf_counter() - t0:.1f} s)")


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


def cmd_fig3(a):
    from mixlab.plots.fig3 import fig3_table, plot_fig3

    if len(a.models) != len(a.tables):
        raise SystemExit("--models and --tables must have the same length")
    table = fig3_table(a.models, a.tables)
    table.round(3).to_csv(a.csv, index=False)
    plot_fig3(table, a.out, a.caption)
    _log(f"[fig3] {a.out}, {a.csv}\n{table.round(2).to_string()}")


def cmd_evalset(a):
    from mixlab.data.evalsets import build_eval_set
    from mixlab.data.stem_store import StemStore

    recipe = build_eval_set(StemStore(a.store), a.chunk, a.seeds, a.max_chunks)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    recipe.to_csv(a.out, index=False)
    _log(f"[evalset] {a.out}: " + ", ".join(f"{k} {n}" for k, n in recipe["kind"].value_counts().items()) + " chunks")


def cmd_curve(a):
    from mixlab.curves import score_snapshots

    _threads(a.threads)
    if len(a.stores) != len(a.sets) or len(a.stores) != len(a.splits):
        raise SystemExit("--splits, --stores and --sets must have the same length")
    table = score_snapshots(a.snapshots, {sp: (st, se) for sp, st, se in zip(a.splits, a.stores, a.sets)},
                            device=a.device, batch_size=a.batch_size, log=_log)
    table.to_csv(a.out, index=False)
    _log(f"[curve] {a.out}")


def cmd_fig2(a):
    from mixlab.plots.fig2 import fig2_table, plot_fig2

    if len(a.p) != len(a.curves):
        raise SystemExit("--p and --curves must have the same length")
    table = fig2_table(a.p, a.curves)
    table.round(4).to_csv(a.csv, index=False)
    plot_fig2(table, a.out, a.caption)
    _log(f"[fig2] {a.out}, {a.csv}")


def cmd_pitch_bank(a):
    from mixlab.data.pitch_bank import build_pitch_bank

    build_pitch_bank(a.store, a.out, a.semitones, progress=_log)


def cmd_song_level_store(a):
    from mixlab.data.song_level import build_song_level_store

    build_song_level_store(a.store, a.out, a.kind, a.seed, a.n_songs, progress=_log)


def cmd_table1(a):
    from mixlab.tables import table1, write_table1

    if len(a.models) != len(a.tables):
        raise SystemExit("--models and --tables must have the same length")
    per_model, summary = table1(a.models, a.tables)
    paths = write_table1(summary, a.out, a.caption)
    _log(per_model.round(2).to_string() + "\n" + Path(paths[0]).read_text())


def cmd_shift_testset(a):
    from mixlab.data.shifts import build_shifted_testset

    build_shifted_testset(a.root, a.out, a.kind, a.value, a.seed, a.sample_rate, progress=_log)


def cmd_shift_figure(a):
    from mixlab.plots.shifts import plot_fig4, plot_fig5, shift_table

    rows = json.loads(a.rows)
    if len(rows) != len(a.tables):
        raise SystemExit("--rows and --tables must have the same length")
    table = shift_table(rows, a.tables)
    table.round(3).to_csv(a.csv, index=False)
    (plot_fig4 if a.figure == 4 else plot_fig5)(table, a.out, a.caption)
    _log(f"[fig{a.figure}] {a.out}, {a.csv}\n{table.round(2).to_string()}")


def cmd_histories(a):
    from mixlab.plots.histories import history_table, plot_histories

    if len(a.labels) != len(a.histories):
        raise SystemExit("--labels and --histories must have the same length")
    table = history_table(a.labels, a.histories)
    table.to_csv(a.csv, index=False)
    plot_histories(table, a.out, a.caption)
    _log(f"[histories] {len(a.labels)} models -> {a.out}, {a.csv}")


def cmd_check_config(a):
    from mixlab.config import load

    overrides = dict(kv.split("=", 1) for kv in a.set)
    preset = load(a.config, overrides)
    _log(f"config OK: scale={preset['scale']} dataset={preset['dataset']}")


def cmd_launch(a):
    from mixlab.launch import launch

    command = a.command_line[1:] if a.command_line[:1] == ["--"] else a.command_line
    launch(a.gpus, command, log=_log)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mixlab", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("launch", help="run a training command on its own GPUs (torchrun when more than one)")
    s.add_argument("--gpus", type=int, required=True, help="GPUs of the job (Snakemake's resources.gpu); 0: CPU")
    s.add_argument("command_line", nargs=argparse.REMAINDER, help="-- COMMAND ARGS...")
    s.set_defaults(func=cmd_launch)

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

    s = sub.add_parser("check-musdb", help="check a whole MUSDB18-HQ tree; list every problem with its fix")
    s.add_argument("root", help="the MUSDB18-HQ folder holding train/ and test/")
    s.set_defaults(func=cmd_check_musdb)

    s = sub.add_parser("import-musdb", help="MUSDB18-HQ songs resampled (and cut) to a scale's rate, same layout")
    s.add_argument("--root", required=True, help="the MUSDB18-HQ folder holding train/ and test/")
    s.add_argument("--out", required=True)
    s.add_argument("--sample-rate", type=int, required=True)
    s.add_argument("--n-train", type=int, default=None, help="first N training songs (default: all)")
    s.add_argument("--n-valid", type=int, default=None, help="first N validation songs (default: all)")
    s.add_argument("--n-test", type=int, default=None, help="first N test songs (default: all)")
    s.add_argument("--max-seconds", type=float, default=None, help="the middle this many seconds of each song")
    s.set_defaults(func=cmd_import_musdb)

    s = sub.add_parser("store", help="decode the stems of a split once into a memory-mapped stem store")
    s.add_argument("--root", required=True, help="corpus root (MUSDB18-HQ layout)")
    s.add_argument("--split", required=True, choices=["train", "valid", "test"])
    s.add_argument("--out", required=True)
    s.add_argument("--sample-rate", type=int, required=True)
    s.add_argument("--min-length", type=int, default=0, help="reject tracks shorter than this (samples)")
    s.set_defaults(func=cmd_store)

    s = sub.add_parser("train", help="train a separator; rerun the same command to resume after a kill")
    s.add_argument("--spec", required=True, help="run spec {model: ..., train: ...}: inline JSON or a file")
    s.add_argument("--store", required=True, nargs="+", help="stem store(s) of the training songs, pooled")
    s.add_argument("--snapshots", default=None, help="folder for EMA weights every train.snapshot_every steps")
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
    s.add_argument("--chunk-seconds", type=float, default=None, help="chunk length in seconds (instead of --dim-t)")
    s.add_argument("--out", required=True, help="folder; estimates go to OUT/<track>/<stem>.wav")
    s.add_argument("--dim-t", type=int, default=None, help="frames per chunk (default: the training chunk)")
    s.add_argument("--overlap", type=float, default=0.5)
    s.add_argument("--window", default="hann", choices=["hann", "boxcar"])
    s.add_argument("--batch-size", type=int, default=4)
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

    s = sub.add_parser("evalset", help="Fig. 2: fixed original/random-mix evaluation chunks of one split (a CSV recipe)")
    s.add_argument("--store", required=True)
    s.add_argument("--chunk", type=int, required=True, help="chunk length in samples (the model's)")
    s.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    s.add_argument("--max-chunks", type=int, default=None)
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_evalset)

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

    s = sub.add_parser("fig2", help="Paper A Fig. 2 from per-model training curves")
    s.add_argument("--p", type=float, nargs="+", required=True)
    s.add_argument("--curves", nargs="+", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--csv", required=True)
    s.add_argument("--caption", default="")
    s.set_defaults(func=cmd_fig2)

    s = sub.add_parser("pitch-bank", help="pitch-shifted copies of a training stem store (Rubber Band), pooled in training")
    s.add_argument("--store", required=True, help="the original training store")
    s.add_argument("--semitones", type=int, required=True)
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_pitch_bank)

    s = sub.add_parser("song-level-store", help="Table 1: song-level random songs or trimmed originals as a store")
    s.add_argument("--store", required=True, help="the original training store")
    s.add_argument("--kind", required=True, choices=["random", "original"])
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--n-songs", type=int, default=None, help="songs to make (default: as many as the store has)")
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_song_level_store)

    s = sub.add_parser("table1", help="Paper A Table 1 (.md, .csv, .tex) from per-model per-track tables")
    s.add_argument("--models", nargs="+", required=True, help="ids <original|random>_s<seed>")
    s.add_argument("--tables", nargs="+", required=True)
    s.add_argument("--out", required=True, help="path without suffix")
    s.add_argument("--caption", default="")
    s.set_defaults(func=cmd_table1)

    s = sub.add_parser("shift-testset", help="Fig. 4: a copy of the test set with every stem shifted on its own")
    s.add_argument("--root", required=True, help="corpus holding the test split")
    s.add_argument("--out", required=True)
    s.add_argument("--kind", required=True, choices=["time", "pitch"])
    s.add_argument("--value", type=float, required=True, help="t_s in seconds (time) or K semitones (pitch)")
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--sample-rate", type=int, required=True)
    s.set_defaults(func=cmd_shift_testset)

    s = sub.add_parser("shift-figure", help="Paper A Fig. 4 or 5 from labelled per-model per-track tables")
    s.add_argument("--figure", type=int, required=True, choices=[4, 5])
    s.add_argument("--rows", required=True, help="JSON list, one dict of labels (model, kind, value, ...) per table")
    s.add_argument("--tables", nargs="+", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--csv", required=True)
    s.add_argument("--caption", default="")
    s.set_defaults(func=cmd_shift_figure)

    s = sub.add_parser("fig3", help="Paper A Fig. 3 from per-model per-track tables")
    s.add_argument("--models", nargs="+", required=True, help="Fig. 3 model ids (full_r<f>, half<seed>_r<f>)")
    s.add_argument("--tables", nargs="+", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--csv", required=True)
    s.add_argument("--caption", default="")
    s.set_defaults(func=cmd_fig3)

    from mixlab.cli_mixit import add_parsers as add_mixit_parsers

    add_mixit_parsers(sub)

    s = sub.add_parser("histories", help="every model's training curve (<model>.history.csv) in one figure")
    s.add_argument("--labels", nargs="+", required=True, help="model ids, e.g. fig1/p0.50 (panel = up to the last /)")
    s.add_argument("--histories", nargs="+", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--csv", required=True)
    s.add_argument("--caption", default="")
    s.set_defaults(func=cmd_histories)

    s = sub.add_parser("check-config", help="validate a config.yaml against the schema")
    s.add_argument("config", nargs="+", help="config file(s); later ones merge onto earlier ones")
    s.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    s.set_defaults(func=cmd_check_config)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from mixlab.config import ConfigError
    from mixlab.data.tracks import TrackError
    from mixlab.train.preemption import EXIT_PREEMPTED, Preempted

    try:
        args.func(args)
    except (ConfigError, TrackError) as exc:
        print(f"mixlab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except Preempted as exc:
        # not done: SLURM requeues a preempted job, Snakemake retries one stopped before its time limit
        print(f"mixlab {args.command}: {exc}", file=sys.stderr)
        return EXIT_PREEMPTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
