"""`mixlab` subcommands of Paper B (MixIT): FMA corpus and preparation, activity detection,
pre-training / fine-tuning, channel selection, uSDR and the tables."""
from __future__ import annotations

import json
import time
from pathlib import Path

from mixlab.cli import _log, _read_spec, _threads


def cmd_fma_synth(a):
    from mixlab.data.fma_synth import FMASynthSpec, build_fma_corpus

    spec = FMASynthSpec(seed=a.seed, sample_rate=a.sample_rate, small=a.sizes[0], medium=a.sizes[1],
                        large=a.sizes[2], full=a.sizes[3], min_seconds=a.min_seconds, max_seconds=a.max_seconds)
    build_fma_corpus(a.out, spec, progress=_log)


def cmd_fma_prep(a):
    from mixlab.data.fma import ClipRule, prepare_subset, subset_dir

    rule = ClipRule(a.sample_rate, a.clip_seconds, a.hop_seconds, a.max_silent_seconds, a.silence_db, a.mono)
    folder = subset_dir(a.root, a.subset) if a.subset else Path(a.root)
    prepare_subset(folder, a.out, rule, workers=a.workers, limit=a.limit, progress=_log)


def cmd_activity(a):
    from mixlab.data.activity import detect_store

    detect_store(a.store, a.out, a.segment_seconds, a.n_chunks, progress=_log)


def cmd_train_mixit(a):
    from mixlab.train.paper_b import train

    _threads(a.threads)
    train(_read_spec(a.spec), a.out, a.resume_dir, a.device, log=_log, clips=a.clips, store=a.store,
          activity=a.activity, init=a.init, channels=a.channels)


def cmd_select_channels(a):
    from mixlab.channel_selection import select_channels
    from mixlab.train.checkpoint import load_model

    _threads(a.threads)
    model, _ = load_model(a.model, a.device)
    t0 = time.perf_counter()
    result = select_channels(model, a.store, a.chunk_seconds, a.device, progress=_log)
    result["model"] = str(a.model)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=1))
    _log(f"[channels] {dict(zip(result['stems'], result['channels']))} from {result['chunks']} chunks "
         f"({time.perf_counter() - t0:.1f} s)")


def cmd_usdr(a):
    from mixlab.metrics.usdr import usdr_table

    if not (len(a.tracks) == len(a.references) == len(a.estimates)):
        raise SystemExit("usdr: --tracks, --references and --estimates need one entry per track each")
    table = usdr_table(a.tracks, a.references, a.estimates, a.sample_rate, progress=_log)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(a.out, index=False)


def cmd_mixit_table(a):
    from mixlab.mixit_tables import build_table, write_table

    labels = json.loads(a.rows)
    if not (len(labels) == len(a.csdr) == len(a.usdr)):
        raise SystemExit("mixit-table: --rows, --csdr and --usdr need one entry per model each")
    table = build_table(labels, a.csdr, a.usdr)
    for p in write_table(table, list(labels[0]), a.out, a.caption):
        _log(f"[mixit-table] wrote {p}")


def add_parsers(sub) -> None:
    s = sub.add_parser("fma-synth", help="Paper B: FMA-like MP3 corpus (nested subsets, planted bad files)")
    s.add_argument("--out", required=True)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--sample-rate", type=int, default=16000)
    s.add_argument("--sizes", type=int, nargs=4, default=[8, 12, 16, 24], metavar=("SMALL", "MEDIUM", "LARGE", "FULL"))
    s.add_argument("--min-seconds", type=float, default=20.0)
    s.add_argument("--max-seconds", type=float, default=30.0)
    s.set_defaults(func=cmd_fma_synth)

    s = sub.add_parser("fma-prep", help="Paper B: FMA subset -> 10 s clips (5 s hop), silent clips dropped, "
                                        "bad files listed in rejects.tsv")
    s.add_argument("--root", required=True, help="folder holding fma_small/ ... (or one subset folder without --subset)")
    s.add_argument("--subset", default=None, choices=["small", "medium", "large", "full"])
    s.add_argument("--out", required=True)
    s.add_argument("--sample-rate", type=int, required=True, help="files below are dropped, higher ones resampled")
    s.add_argument("--clip-seconds", type=float, default=10.0)
    s.add_argument("--hop-seconds", type=float, default=5.0)
    s.add_argument("--max-silent-seconds", type=float, default=5.0)
    s.add_argument("--silence-db", type=float, default=-60.0, help="1 s blocks below this mean power are silent")
    s.add_argument("--mono", default="skip", choices=["skip", "duplicate"],
                   help="mono files: skip (the authors' code) or copy the channel to both sides")
    s.add_argument("--workers", type=int, default=1)
    s.add_argument("--limit", type=int, default=None, help="first N files only (quick looks)")
    s.set_defaults(func=cmd_fma_prep)

    s = sub.add_parser("activity", help="Paper B: source activity detection on a training stem store")
    s.add_argument("--store", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--segment-seconds", type=float, default=8.0)
    s.add_argument("--n-chunks", type=int, default=16)
    s.set_defaults(func=cmd_activity)

    s = sub.add_parser("train-mixit", help="Paper B: MixIT pre-training or fine-tuning; rerun to resume after a kill")
    s.add_argument("--spec", required=True, help="{stage: pretrain|finetune, model: ..., train: ...}: JSON or a file")
    s.add_argument("--out", required=True)
    s.add_argument("--resume-dir", required=True)
    s.add_argument("--clips", default=None, help="pretrain: prepared FMA clips")
    s.add_argument("--store", default=None, help="finetune: training stem store")
    s.add_argument("--activity", default=None, help="finetune: active segments JSON")
    s.add_argument("--init", default=None, help="finetune: pre-trained model (default: random init)")
    s.add_argument("--channels", default=None, help="finetune from --init: selected channels JSON")
    s.add_argument("--device", default="cpu")
    s.add_argument("--threads", type=int, default=None)
    s.set_defaults(func=cmd_train_mixit)

    s = sub.add_parser("select-channels", help="Paper B: pick 4 of the N MixIT outputs by majority vote")
    s.add_argument("--model", required=True)
    s.add_argument("--store", required=True, help="validation stem store")
    s.add_argument("--chunk-seconds", type=float, default=6.0)
    s.add_argument("--out", required=True)
    s.add_argument("--device", default="cpu")
    s.add_argument("--threads", type=int, default=None)
    s.set_defaults(func=cmd_select_channels)

    s = sub.add_parser("usdr", help="Paper B: song-level SNR per stem of separated tracks -> CSV")
    s.add_argument("--tracks", nargs="+", required=True)
    s.add_argument("--references", nargs="+", required=True)
    s.add_argument("--estimates", nargs="+", required=True)
    s.add_argument("--sample-rate", type=int, required=True)
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_usdr)

    s = sub.add_parser("mixit-table", help="Paper B Table 1, 2 or 3 (.md, .csv, .tex)")
    s.add_argument("--rows", required=True, help="JSON list of label dicts, one per model")
    s.add_argument("--csdr", nargs="+", required=True, help="per-track museval medians CSVs")
    s.add_argument("--usdr", nargs="+", required=True, help="uSDR CSVs")
    s.add_argument("--out", required=True, help="path without suffix")
    s.add_argument("--caption", default="")
    s.set_defaults(func=cmd_mixit_table)
