"""`mixlab` subcommands of the report stage: figures and tables of both papers, the training histories,
the config check."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from mixlab.cli._common import log


def cmd_fig1(a):
    from mixlab.papers.random_mixing.fig1 import fig1_table, plot_fig1

    if len(a.p) != len(a.tables) or (a.seeds and len(a.seeds) != len(a.tables)):
        raise SystemExit("--p, --tables (and --seeds) must have the same length")
    table = fig1_table(a.p, a.tables, a.seeds)
    table.round(3).to_csv(a.csv)
    plot_fig1(table, a.out, a.caption)
    log(f"[fig1] {a.out}, {a.csv}\n{table.round(2).to_string()}")


def cmd_effects(a):
    from mixlab.papers.random_mixing.effects import effects_table
    from mixlab.papers.verdicts import write_effects

    table = effects_table({k: getattr(a, k) for k in ("fig1", "fig2", "fig3", "fig4", "fig5", "table1")})
    write_effects(table, a.out, a.caption)
    log(f"[effects] {a.out}\n{table[['effect', 'shown']].to_string(index=False)}")


def cmd_mixit_effects(a):
    from mixlab.papers.mixit.effects import effects_table
    from mixlab.papers.verdicts import write_effects

    table = effects_table({k: getattr(a, k) for k in ("table1", "table2", "table3")})
    write_effects(table, a.out, a.caption)
    log(f"[mixit-effects] {a.out}\n{table[['effect', 'shown']].to_string(index=False)}")


def cmd_fig2(a):
    from mixlab.papers.random_mixing.fig2 import fig2_table, plot_fig2

    if len(a.p) != len(a.curves):
        raise SystemExit("--p and --curves must have the same length")
    table = fig2_table(a.p, a.curves)
    table.round(4).to_csv(a.csv, index=False)
    plot_fig2(table, a.out, a.caption)
    log(f"[fig2] {a.out}, {a.csv}")


def cmd_fig3(a):
    from mixlab.papers.random_mixing.fig3 import fig3_table, plot_fig3

    if len(a.models) != len(a.tables):
        raise SystemExit("--models and --tables must have the same length")
    table = fig3_table(a.models, a.tables)
    table.round(3).to_csv(a.csv, index=False)
    plot_fig3(table, a.out, a.caption)
    log(f"[fig3] {a.out}, {a.csv}\n{table.round(2).to_string()}")


def cmd_shift_figure(a):
    from mixlab.papers.random_mixing.shifts import plot_fig4, plot_fig5, shift_table

    rows = json.loads(a.rows)
    if len(rows) != len(a.tables):
        raise SystemExit("--rows and --tables must have the same length")
    table = shift_table(rows, a.tables)
    table.round(3).to_csv(a.csv, index=False)
    (plot_fig4 if a.figure == 4 else plot_fig5)(table, a.out, a.caption)
    log(f"[fig{a.figure}] {a.out}, {a.csv}\n{table.round(2).to_string()}")


def cmd_table1(a):
    from mixlab.papers.random_mixing.tables import table1, write_table1

    if len(a.models) != len(a.tables):
        raise SystemExit("--models and --tables must have the same length")
    per_model, summary = table1(a.models, a.tables)
    paths = write_table1(summary, a.out, a.caption)
    log(per_model.round(2).to_string() + "\n" + Path(paths[0]).read_text())


def cmd_mixit_table(a):
    from mixlab.papers.mixit.tables import build_table, write_table

    labels = json.loads(a.rows)
    n = len(a.seeds or [None])
    if not (len(labels) * n == len(a.csdr) == len(a.usdr)):
        raise SystemExit(f"mixit-table: --csdr and --usdr need one entry per row and seed each ({len(labels)} rows x "
                         f"{n} seeds; got {len(a.csdr)} and {len(a.usdr)})")
    table = build_table(labels, a.csdr, a.usdr, a.seeds)
    for p in write_table(table, list(labels[0]), a.out, a.caption):
        log(f"[mixit-table] wrote {p}")


def cmd_histories(a):
    from mixlab.plots.histories import history_table, plot_histories

    if len(a.labels) != len(a.histories):
        raise SystemExit("--labels and --histories must have the same length")
    table = history_table(a.labels, a.histories)
    table.to_csv(a.csv, index=False)
    plot_histories(table, a.out, a.caption)
    log(f"[histories] {len(a.labels)} models -> {a.out}, {a.csv}")


def cmd_check_config(a):
    from mixlab.config import load

    overrides = dict(kv.split("=", 1) for kv in a.set)
    preset = load(a.config, overrides)
    log(f"config OK: scale={preset['scale']} dataset={preset['dataset']}")


def cmd_cost(a):
    import tempfile

    import yaml
    from snakemake.cli import parse_config
    from snakemake.utils import update_config

    from mixlab.config import ConfigError, merge, validate
    from mixlab.cost import estimate, musdb_tracks, report

    config = {}
    for f in a.configfile:
        if not Path(f).is_file():
            raise ConfigError(f"--configfile {f}: no such file")
        config = merge(config, yaml.safe_load(Path(f).read_text()))
    # the workflow's own --config syntax and merge (nested values as YAML), so an override costs what it runs
    update_config(config, parse_config(a.config))
    if a.scale:
        config["scale"] = a.scale
    with tempfile.TemporaryDirectory() as placeholder:
        given = config.get("musdb_root")
        if not given:                 # cost needs no data: MUSDB18-HQ's published size stands in
            config["musdb_root"] = placeholder
        P = validate(config)
        if not given:
            P["musdb_root"] = None
    if P["dataset"] == "synthetic":
        from mixlab.data import synth

        spec = synth.SynthSpec(sample_rate=P["sample_rate"], **P["synth"])
        tracks = {split: synth.track_names(spec, split) for split in ("train", "valid", "test")}
    else:
        tracks = musdb_tracks(P)
    papers = {"a": ("a",), "b": ("b",), "both": ("a", "b")}[a.paper]
    est = estimate(P, tracks, a.gpu, papers)
    print(f"# cost of scale={P['scale']} ({P['run']}), {'both papers' if a.paper == 'both' else 'Paper ' + a.paper.upper()}")
    print(report(est, a.gpus))


def cmd_released_table(a):
    from mixlab.papers.mixit.released import compare_table, write_compare

    labels, published = json.loads(a.rows), json.loads(a.published)
    if not (len(labels) == len(a.models) == len(a.csdr) == len(a.usdr)):
        raise SystemExit("released-table: --rows, --models, --csdr and --usdr need one entry per model each")
    table = compare_table(labels, a.models, a.csdr, a.usdr, published)
    for p in write_compare(table, list(labels[0]), a.out, a.caption):
        log(f"[released-table] wrote {p}")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("fig1", help="Paper A Fig. 1 from per-model per-track tables")
    s.add_argument("--p", type=float, nargs="+", required=True)
    s.add_argument("--seeds", type=int, nargs="+", default=None, help="training seed of each table (default: one seed)")
    s.add_argument("--tables", nargs="+", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--csv", required=True)
    s.add_argument("--caption", default="")
    s.set_defaults(func=cmd_fig1)

    s = sub.add_parser("effects", help="Paper A: each headline effect, measured, with a fixed criterion -> Markdown")
    for name in ("fig1", "fig2", "fig3", "fig4", "fig5", "table1"):
        s.add_argument(f"--{name}", default=None, help=f"results/{name}.csv")
    s.add_argument("--out", required=True)
    s.add_argument("--caption", default="")
    s.set_defaults(func=cmd_effects)

    s = sub.add_parser("mixit-effects", help="Paper B: each headline effect, measured, with a fixed criterion -> Markdown")
    for name in ("table1", "table2", "table3"):
        s.add_argument(f"--{name}", default=None, help=f"results/mixit/{name}.csv")
    s.add_argument("--out", required=True)
    s.add_argument("--caption", default="")
    s.set_defaults(func=cmd_mixit_effects)

    s = sub.add_parser("fig2", help="Paper A Fig. 2 from per-model training curves")
    s.add_argument("--p", type=float, nargs="+", required=True)
    s.add_argument("--curves", nargs="+", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--csv", required=True)
    s.add_argument("--caption", default="")
    s.set_defaults(func=cmd_fig2)

    s = sub.add_parser("fig3", help="Paper A Fig. 3 from per-model per-track tables")
    s.add_argument("--models", nargs="+", required=True, help="Fig. 3 model ids (full_r<f>, half<seed>_r<f>)")
    s.add_argument("--tables", nargs="+", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--csv", required=True)
    s.add_argument("--caption", default="")
    s.set_defaults(func=cmd_fig3)

    s = sub.add_parser("shift-figure", help="Paper A Fig. 4 or 5 from labelled per-model per-track tables")
    s.add_argument("--figure", type=int, required=True, choices=[4, 5])
    s.add_argument("--rows", required=True, help="JSON list, one dict of labels (model, kind, value, ...) per table")
    s.add_argument("--tables", nargs="+", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--csv", required=True)
    s.add_argument("--caption", default="")
    s.set_defaults(func=cmd_shift_figure)

    s = sub.add_parser("table1", help="Paper A Table 1 (.md, .csv, .tex) from per-model per-track tables")
    s.add_argument("--models", nargs="+", required=True, help="ids <original|random>_s<seed>")
    s.add_argument("--tables", nargs="+", required=True)
    s.add_argument("--out", required=True, help="path without suffix")
    s.add_argument("--caption", default="")
    s.set_defaults(func=cmd_table1)

    s = sub.add_parser("mixit-table", help="Paper B Table 1, 2 or 3 (.md, .csv, .tex)")
    s.add_argument("--rows", required=True, help="JSON list of label dicts, one per row")
    s.add_argument("--seeds", type=int, nargs="+", default=None,
                   help="fine-tuning seeds: the tables below are then row-major, one per row and seed (default: one)")
    s.add_argument("--csdr", nargs="+", required=True, help="per-track museval medians CSVs")
    s.add_argument("--usdr", nargs="+", required=True, help="uSDR CSVs")
    s.add_argument("--out", required=True, help="path without suffix")
    s.add_argument("--caption", default="")
    s.set_defaults(func=cmd_mixit_table)

    s = sub.add_parser("released-table", help="Paper B: the authors' released models scored by mixlab, beside the "
                                              "paper's numbers (.md, .csv)")
    s.add_argument("--rows", required=True, help="JSON list of label dicts, one per model")
    s.add_argument("--models", nargs="+", required=True, help="mixlab model ids of the released models")
    s.add_argument("--csdr", nargs="+", required=True, help="per-track museval medians CSVs")
    s.add_argument("--usdr", nargs="+", required=True, help="uSDR CSVs")
    s.add_argument("--published", required=True, help="JSON {model: {stem|average: [cSDR, uSDR]}} (the paper's)")
    s.add_argument("--out", required=True, help="path without suffix")
    s.add_argument("--caption", default="")
    s.set_defaults(func=cmd_released_table)

    s = sub.add_parser("histories", help="every model's training curve (<model>.history.csv) in one figure")
    s.add_argument("--labels", nargs="+", required=True, help="model ids, e.g. fig1/p0.50 (panel = up to the last /)")
    s.add_argument("--histories", nargs="+", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--csv", required=True)
    s.add_argument("--caption", default="")
    s.set_defaults(func=cmd_histories)

    s = sub.add_parser("cost", help="trainings, steps, GPU-hours, wall time on N GPUs and disk of a run, before it starts",
                       description="What `snakemake --config ...` would run, costed with the GPU rates measured in "
                                   "BENCHMARKS.md (FLOP-scaled for model configurations not timed). Needs no data.")
    s.add_argument("--configfile", nargs="+", default=["config.yaml"], help="config file(s), as Snakemake's --configfile")
    s.add_argument("--config", nargs="*", default=[], metavar="KEY=VALUE",
                   help="overrides in Snakemake's --config syntax, e.g. scale=paper 'presets={paper: {train: {steps: 1000}}}'")
    s.add_argument("--scale", default=None, help="shorthand for --config scale=SCALE")
    s.add_argument("--gpu", default="h100", help="GPU whose measured rates to use (src/mixlab/gpu_rates.yaml)")
    s.add_argument("--gpus", type=int, nargs="+", default=[1, 8, 64], help="wall time on this many GPUs (default 1 8 64)")
    s.add_argument("--paper", choices=["a", "b", "both"], default="both")
    s.set_defaults(func=cmd_cost)

    s = sub.add_parser("check-config", help="validate a config.yaml against the schema")
    s.add_argument("config", nargs="+", help="config file(s); later ones merge onto earlier ones")
    s.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    s.set_defaults(func=cmd_check_config)
