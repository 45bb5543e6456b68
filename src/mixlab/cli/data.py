"""`mixlab` subcommands of the data stage: corpora (synthetic, MUSDB18-HQ check and import, FMA), stem
stores, Paper A's test-set and training-store variants, Paper B's clips and source activity."""
from __future__ import annotations

import argparse
from pathlib import Path

from mixlab.cli._common import existing_folder, job_spec, log, settings_spec, spec_arg
from mixlab.config import ConfigError

# import-musdb: the songs and the excerpt a laptop scale uses (absent: every song, whole)
IMPORT_KEYS = ("sample_rate", "n_train", "n_valid", "n_test", "max_seconds")


def cmd_synth(a):
    from mixlab.data.synth import SynthSpec, build_corpus

    spec = SynthSpec(**job_spec(a, SynthSpec))
    log(f"[synth] {spec}")
    build_corpus(a.out, spec, progress=log)


def songs_split(n: int) -> dict:
    """N songs split as MUSDB18-HQ splits its 150: a third for test, 14 % of the rest for validation."""
    n_test = max(1, round(n / 3))
    n_valid = max(1, round((n - n_test) * 0.14)) if n - n_test > 1 else 0
    return {"n_train": n - n_test - n_valid, "n_valid": n_valid, "n_test": n_test}


def cmd_render_corpus(a):
    from mixlab.data.rendered import MissingTool, RenderSpec, build_corpus

    fields = job_spec(a, RenderSpec, flags=("seed", "seconds", "sample_rate", "singer"))
    if a.songs is not None:
        if a.songs < 3:
            raise ConfigError("--songs: at least 3 (train, valid and test need one each)")
        fields.update(songs_split(a.songs))
    try:
        spec = RenderSpec(**fields)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    log(f"[render] {spec}")
    try:
        build_corpus(a.out, spec, progress=log)
    except MissingTool as exc:
        raise ConfigError(str(exc)) from None


def cmd_check_musdb(a):
    from mixlab.data.check_musdb import check_musdb

    report = check_musdb(a.root)
    log(report.text())
    if not report.ok:
        raise SystemExit(2)


def cmd_import_musdb(a):
    from mixlab.data.musdb_import import import_musdb

    spec = job_spec(a, IMPORT_KEYS, flags=IMPORT_KEYS)
    if "sample_rate" not in spec:
        raise ConfigError("import-musdb needs the rate to resample to: --sample-rate or a spec's sample_rate")
    n = {k: spec.get(k) for k in ("n_train", "n_valid", "n_test")}
    import_musdb(a.root, a.out, spec["sample_rate"], n, spec.get("max_seconds"), progress=log)


def cmd_store(a):
    from mixlab.data.stem_store import build_store
    from mixlab.data.tracks import list_tracks

    names = list_tracks(a.root, a.split)
    build_store(a.root, a.split, names, a.out, a.sample_rate, a.min_length, progress=log)


def cmd_shift_testset(a):
    from mixlab.papers.random_mixing.shifted_testsets import build_shifted_testset

    build_shifted_testset(a.root, a.out, a.kind, a.value, a.seed, a.sample_rate, progress=log)


def cmd_pitch_bank(a):
    from mixlab.papers.random_mixing.pitch_bank import build_pitch_bank

    build_pitch_bank(a.store, a.out, a.semitones, progress=log)


def cmd_song_level_store(a):
    from mixlab.papers.random_mixing.song_level import build_song_level_store

    build_song_level_store(a.store, a.out, a.kind, a.seed, a.n_songs, progress=log)


def cmd_evalset(a):
    from mixlab.papers.random_mixing.evalsets import build_eval_set
    from mixlab.data.stem_store import StemStore

    recipe = build_eval_set(StemStore(a.store), a.chunk, a.seeds, a.max_chunks)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    recipe.to_csv(a.out, index=False)
    log(f"[evalset] {a.out}: " + ", ".join(f"{k} {n}" for k, n in recipe["kind"].value_counts().items()) + " chunks")


def cmd_fma_synth(a):
    from mixlab.papers.mixit.fma_synth import FMASynthSpec, build_fma_corpus

    from mixlab.data.rendered import MissingTool

    spec = FMASynthSpec(**job_spec(a, FMASynthSpec))
    log(f"[fma-synth] {spec}")
    try:
        build_fma_corpus(a.out, spec, progress=log)
    except (MissingTool, ValueError) as exc:
        raise ConfigError(str(exc)) from None


def cmd_fma_prep(a):
    from mixlab.papers.mixit.fma import ClipRule, prepare_subset, subset_dir

    spec = job_spec(a, ClipRule)
    if "sample_rate" not in spec:
        raise ConfigError("fma-prep needs the corpus rate: a spec's sample_rate (files below it are dropped)")
    rule = ClipRule(**spec)
    log(f"[fma-prep] {rule}")
    folder = subset_dir(a.root, a.subset) if a.subset else Path(a.root)
    prepare_subset(folder, a.out, rule, workers=a.workers, limit=a.limit, progress=log)


def cmd_activity(a):
    from mixlab.papers.mixit.activity import detect_store

    detect_store(a.store, a.out, **job_spec(a, ("segment_seconds", "n_chunks")), progress=log)


GROUP = "data"
GROUP_OF = {"fma-synth": "Paper B", "fma-prep": "Paper B", "activity": "Paper B"}

OUT_FOLDER = "folder to write (created; an existing one is completed or overwritten)"


def add_parsers(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("synth", help="build the synthetic multitrack corpus (MUSDB18-HQ layout)")
    s.add_argument("--out", required=True, help="corpus folder to write (train/, test/, manifest)")
    s.add_argument("--spec", type=spec_arg, default=None, help="SynthSpec fields (seed, sample_rate, n_train, n_valid, "
                   "n_test, min_seconds, max_seconds) as JSON or a JSON/YAML file; the workflow passes config `synth`")
    s.set_defaults(func=cmd_synth)

    s = sub.add_parser("render-corpus", help="render a realistic multitrack corpus (chorales arranged for a band, "
                       "sampled instruments, a sung lead) in MUSDB18-HQ layout",
                       description="Render songs in MUSDB18-HQ layout from Bach chorales (music21), MMA band "
                       "parts, recorded-sample soundfonts and a sung lead (pysinsy, else a voice patch); "
                       "deterministic by seed. Set-up: `make corpus-deps`.")
    s.add_argument("--out", required=True, help="corpus folder to write (train/, test/, manifest, ATTRIBUTION.md)")
    s.add_argument("--songs", type=int, default=None, help="songs in all, split like MUSDB18-HQ (a third test, "
                   "14 %% of the rest validation); default: the spec's n_train/n_valid/n_test (8/2/4)")
    s.add_argument("--seconds", type=float, default=None, help="length of every song (20)")
    s.add_argument("--seed", type=int, default=None, help="draws every song's composition, key, tempo, groove, "
                   "kit, instruments and mix (0)")
    s.add_argument("--sample-rate", type=int, default=None, help="rate of the stems (44100)")
    s.add_argument("--singer", choices=["auto", "sinsy", "patch"], default=None,
                   help="the lead: sung by Sinsy (pysinsy), a GM voice patch, or auto (Sinsy where installed)")
    s.add_argument("--spec", type=spec_arg, default=None, help="RenderSpec fields (seed, sample_rate, n_train, "
                   "n_valid, n_test, seconds, singer) as JSON or a JSON/YAML file; flags override it")
    s.set_defaults(func=cmd_render_corpus)

    s = sub.add_parser("check-musdb", help="check a whole MUSDB18-HQ tree; list every problem with its fix")
    s.add_argument("--root", required=True, help="the MUSDB18-HQ folder holding train/ and test/")
    s.set_defaults(func=cmd_check_musdb)

    s = sub.add_parser("import-musdb", help="MUSDB18-HQ songs resampled (and cut) to a scale's rate, same layout")
    s.add_argument("--root", required=True, type=existing_folder, help="the MUSDB18-HQ folder holding train/ and test/")
    s.add_argument("--out", required=True, help="corpus folder to write (MUSDB18-HQ layout)")
    s.add_argument("--spec", type=spec_arg, default=None, help="the keys below as JSON or a JSON/YAML file "
                   "(flags override it)")
    s.add_argument("--sample-rate", type=int, default=None, help="rate to resample to (Hz)")
    s.add_argument("--n-train", type=int, default=None, help="first N training songs (default: all)")
    s.add_argument("--n-valid", type=int, default=None, help="first N validation songs (default: all)")
    s.add_argument("--n-test", type=int, default=None, help="first N test songs (default: all)")
    s.add_argument("--max-seconds", type=float, default=None, help="the middle this many seconds of each song")
    s.set_defaults(func=cmd_import_musdb)

    s = sub.add_parser("store", help="decode the stems of a split once into a memory-mapped stem store")
    s.add_argument("--root", required=True, type=existing_folder, help="corpus root (MUSDB18-HQ layout)")
    s.add_argument("--split", required=True, choices=["train", "valid", "test"], help="which songs")
    s.add_argument("--out", required=True, help="store folder to write")
    s.add_argument("--sample-rate", type=int, required=True, help="the rate every stem must have (Hz)")
    s.add_argument("--min-length", type=int, default=0, help="reject tracks shorter than this (samples)")
    settings_spec(s)
    s.set_defaults(func=cmd_store)

    s = sub.add_parser("shift-testset", help="Fig. 4: a copy of the test set with every stem shifted on its own")
    s.add_argument("--root", required=True, type=existing_folder, help="corpus holding the test split")
    s.add_argument("--out", required=True, help="corpus folder to write (test/ only)")
    s.add_argument("--kind", required=True, choices=["time", "pitch"], help="shift in time or in pitch")
    s.add_argument("--value", type=float, required=True, help="t_s in seconds (time) or K semitones (pitch)")
    s.add_argument("--seed", type=int, required=True, help="seed of the random per-stem shifts")
    s.add_argument("--sample-rate", type=int, required=True, help="the corpus rate (Hz)")
    settings_spec(s)
    s.set_defaults(func=cmd_shift_testset)

    s = sub.add_parser("pitch-bank", help="pitch-shifted copies of a training stem store (Rubber Band), pooled in training")
    s.add_argument("--store", required=True, type=existing_folder, help="the original training store")
    s.add_argument("--semitones", type=int, required=True, help="shift of every stem, e.g. +1 or -2")
    s.add_argument("--out", required=True, help="store folder to write")
    s.set_defaults(func=cmd_pitch_bank)

    s = sub.add_parser("song-level-store", help="Table 1: song-level random songs or trimmed originals as a store")
    s.add_argument("--store", required=True, type=existing_folder, help="the original training store")
    s.add_argument("--kind", required=True, choices=["random", "original"],
                   help="random: each stem from another song; original: the songs trimmed to the same lengths")
    s.add_argument("--seed", type=int, required=True, help="seed of the draw")
    s.add_argument("--n-songs", type=int, default=None, help="songs to make (default: as many as the store has)")
    s.add_argument("--out", required=True, help="store folder to write")
    settings_spec(s)
    s.set_defaults(func=cmd_song_level_store)

    s = sub.add_parser("evalset", help="Fig. 2: fixed original/random-mix evaluation chunks of one split (a CSV recipe)")
    s.add_argument("--store", required=True, type=existing_folder, help="stem store of the split")
    s.add_argument("--chunk", type=int, required=True, help="chunk length in samples (the model's)")
    s.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds of the random mixes (0 1 2)")
    s.add_argument("--max-chunks", type=int, default=None, help="at most this many chunks per kind (default: all)")
    s.add_argument("--out", required=True, help="CSV recipe to write")
    settings_spec(s)
    s.set_defaults(func=cmd_evalset)

    s = sub.add_parser("fma-synth", help="FMA-like MP3 corpus (nested subsets, planted bad files)")
    s.add_argument("--out", required=True, help="folder to write (fma_small/ ... fma_full/)")
    s.add_argument("--spec", type=spec_arg, default=None, help="FMASynthSpec fields (seed, sample_rate, small, medium, "
                   "large, full, min_seconds, max_seconds, high_rate_every) as JSON or a file; the workflow passes mixit.fma")
    s.set_defaults(func=cmd_fma_synth)

    s = sub.add_parser("fma-prep", help="FMA subset -> 10 s clips (5 s hop), silent clips dropped, "
                                        "bad files listed in rejects.tsv")
    s.add_argument("--root", required=True, type=existing_folder,
                   help="folder holding fma_small/ ... (or one subset folder without --subset)")
    s.add_argument("--subset", default=None, choices=["small", "medium", "large", "full"], help="which FMA subset")
    s.add_argument("--out", required=True, help="clips folder to write")
    s.add_argument("--spec", type=spec_arg, required=True, help="ClipRule fields (sample_rate: files below it are "
                   "dropped, higher ones resampled; clip_seconds, hop_seconds, max_silent_seconds, silence_db, "
                   "mono: skip|duplicate, silence: paper|code) as JSON or a JSON/YAML file; the workflow passes mixit.clips")
    s.add_argument("--workers", type=int, default=1, help="decoding processes (1)")
    s.add_argument("--limit", type=int, default=None, help="first N files only (quick looks)")
    s.set_defaults(func=cmd_fma_prep)

    s = sub.add_parser("activity", help="source activity detection on a training stem store")
    s.add_argument("--store", required=True, type=existing_folder, help="training stem store")
    s.add_argument("--out", required=True, help="JSON of active segments to write")
    s.add_argument("--spec", type=spec_arg, default=None, help="segment_seconds, n_chunks as JSON or a file "
                   "(the workflow passes mixit.activity)")
    s.set_defaults(func=cmd_activity)
