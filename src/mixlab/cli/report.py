"""`mixlab` subcommands of the report stage: figures and tables of both papers, the training histories,
the config check."""
from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

from mixlab.cli._common import existing_file, log


def sibling(out: str, suffix: str) -> Path:
    """A figure's data and caption files share its name: fig1.pdf -> fig1.csv, fig1.png, fig1.md."""
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    return Path(out).with_suffix(suffix)


def stem(out: str) -> Path:
    """A table's --out is its Markdown file; the .csv (and .tex) beside it share its name."""
    from mixlab.config import ConfigError

    if Path(out).suffix != ".md":
        raise ConfigError(f"--out {out}: a table is written as Markdown with its CSV (and LaTeX) beside it; "
                          f"give a .md path, e.g. {Path(out).with_suffix('.md')}")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    return Path(out).with_suffix("")


def cmd_fig1(a):
    from mixlab.papers.random_mixing.fig1 import fig1_table, plot_fig1

    if len(a.p) != len(a.tables) or (a.seeds and len(a.seeds) != len(a.tables)):
        raise SystemExit("--p, --tables (and --seeds) must have the same length")
    table = fig1_table(a.p, a.tables, a.seeds)
    table.round(3).to_csv(sibling(a.out, ".csv"))
    plot_fig1(table, a.out, a.caption)
    log(f"[fig1] {a.out}\n{table.round(2).to_string()}")


def cmd_effects(a):
    from mixlab.papers.random_mixing.claims import effects_table
    from mixlab.papers.verdicts import write_effects

    table = effects_table({k: getattr(a, k) for k in ("fig1", "fig2", "fig3", "fig4", "fig5", "table1")})
    write_effects(table, a.out, a.caption)
    log(f"[effects] {a.out}\n{table[['effect', 'shown']].to_string(index=False)}")


def cmd_mixit_effects(a):
    from mixlab.papers.mixit.claims import effects_table
    from mixlab.papers.verdicts import write_effects

    table = effects_table({k: getattr(a, k) for k in ("table1", "table2", "table3")})
    write_effects(table, a.out, a.caption)
    log(f"[mixit-effects] {a.out}\n{table[['effect', 'shown']].to_string(index=False)}")


def cmd_fig2(a):
    from mixlab.papers.random_mixing.fig2 import fig2_table, plot_fig2

    if len(a.p) != len(a.curves):
        raise SystemExit("--p and --curves must have the same length")
    table = fig2_table(a.p, a.curves)
    table.round(4).to_csv(sibling(a.out, ".csv"), index=False)
    plot_fig2(table, a.out, a.caption)
    log(f"[fig2] {a.out}")


def cmd_fig3(a):
    from mixlab.papers.random_mixing.fig3 import fig3_table, plot_fig3

    if len(a.models) != len(a.tables):
        raise SystemExit("--models and --tables must have the same length")
    table = fig3_table(a.models, a.tables, examples=a.examples)
    table.round(3).to_csv(sibling(a.out, ".csv"), index=False)
    plot_fig3(table, a.out, a.caption, examples=a.examples, songs=a.songs)
    log(f"[fig3] {a.out}\n{table.round(2).to_string()}")


def cmd_shift_figure(a):
    from mixlab.papers.random_mixing.fig4_fig5 import plot_fig4, plot_fig5, shift_table

    rows = json.loads(a.rows)
    if len(rows) != len(a.tables):
        raise SystemExit("--rows and --tables must have the same length")
    table = shift_table(rows, a.tables)
    table.round(3).to_csv(sibling(a.out, ".csv"), index=False)
    (plot_fig4 if a.figure == 4 else plot_fig5)(table, a.out, a.caption)
    log(f"[fig{a.figure}] {a.out}\n{table.round(2).to_string()}")


def cmd_table1(a):
    from mixlab.papers.random_mixing.tables import table1, write_table1

    if len(a.models) != len(a.tables):
        raise SystemExit("--models and --tables must have the same length")
    per_model, summary = table1(a.models, a.tables)
    paths = write_table1(summary, stem(a.out), a.caption)
    log(per_model.round(2).to_string() + "\n" + Path(paths[0]).read_text())


def cmd_mixit_table(a):
    from mixlab.papers.mixit.tables import build_table, write_table

    labels = json.loads(a.rows)
    n = len(a.seeds or [None])
    if not (len(labels) * n == len(a.csdr) == len(a.usdr)):
        raise SystemExit(f"mixit-table: --csdr and --usdr need one entry per row and seed each ({len(labels)} rows x "
                         f"{n} seeds; got {len(a.csdr)} and {len(a.usdr)})")
    table = build_table(labels, a.csdr, a.usdr, a.seeds)
    for p in write_table(table, list(labels[0]), stem(a.out), a.caption):
        log(f"[mixit-table] wrote {p}")


def cmd_histories(a):
    from mixlab.plots.histories import history_table, plot_histories

    if len(a.labels) != len(a.histories):
        raise SystemExit("--labels and --histories must have the same length")
    table = history_table(a.labels, a.histories)
    table.to_csv(sibling(a.out, ".csv"), index=False)
    plot_histories(table, a.out, a.caption)
    log(f"[histories] {len(a.labels)} models -> {a.out}")


def read_config(configfiles: list[str], overrides: list[str]) -> dict:
    """The config Snakemake would run: --configfile files merged in order, then --config overrides parsed and
    merged as Snakemake does (values as YAML, nested mappings merged), so what one accepts the other does."""
    from snakemake.cli import parse_config
    from snakemake.utils import update_config

    from mixlab.config import ConfigError, merge
    from mixlab.errors import read_yaml

    config = {}
    for f in configfiles:
        config = merge(config, read_yaml(f, "a YAML config", "pass a config file such as config.yaml") or {})
    try:
        parsed = parse_config(overrides)
    except Exception as exc:  # noqa: BLE001 -- Snakemake's own message says which entry
        raise ConfigError(f"--config: {exc}; entries are KEY=VALUE, values in YAML "
                          "(e.g. 'presets={demo: {train: {steps: 100}}}')") from None
    files = copy.deepcopy(config)
    update_config(config, parsed)
    return config, files


def cmd_check_config(a):
    from mixlab.config import validate_run

    P = validate_run(*read_config(a.configfile, a.config))
    log(f"config OK: scale={P['scale']} dataset={P['dataset']}; results go to results/{P['run']}/")


def cmd_cost(a):
    import tempfile

    from mixlab.config import validate_run
    from mixlab.cost import estimate, musdb_tracks, report

    # the workflow's own --config syntax and merge, so an override costs what it runs
    config, files = read_config(a.configfile, a.config)
    if a.scale:
        config["scale"] = a.scale
    with tempfile.TemporaryDirectory() as placeholder:
        given = config.get("musdb_root")
        if not given:                 # cost needs no data: MUSDB18-HQ's published size stands in
            config["musdb_root"] = placeholder
        P = validate_run(config, files)
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
    for p in write_compare(table, list(labels[0]), stem(a.out), a.caption):
        log(f"[released-table] wrote {p}")


GROUP = "figures and tables"
GROUP_OF = {"mixit-table": "Paper B", "mixit-effects": "Paper B", "released-table": "Paper B",
            "cost": "configuration and cost", "check-config": "configuration and cost"}

SCORE_TABLES = "per-track score tables (CSV, `mixlab aggregate`), one per model"
CAPTION = "caption: written beside the output (.md), not into the image"


def figure_out(s) -> None:
    s.add_argument("--out", required=True, help="PDF to write; the PNG, the CSV of the plotted numbers and the "
                   "caption (.md) go beside it with the same name")
    s.add_argument("--caption", default="", help=CAPTION)


def table_out(s) -> None:
    s.add_argument("--out", required=True, help="Markdown file to write; the .csv (and .tex) go beside it")
    s.add_argument("--caption", default="", help="caption line of the table")


def configs(s) -> None:
    s.add_argument("--configfile", nargs="+", default=["config.yaml"], type=existing_file,
                   help="config file(s), merged in order, as Snakemake's --configfile (config.yaml)")
    s.add_argument("--config", nargs="*", default=[], metavar="KEY=VALUE",
                   help="overrides exactly as Snakemake's --config, e.g. scale=paper "
                        "'presets={paper: {train: {steps: 1000}}}'")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("fig1", help="Paper A Fig. 1 from per-model per-track tables")
    s.add_argument("--p", type=float, nargs="+", required=True, help="p of each table (share of original mixes)")
    s.add_argument("--seeds", type=int, nargs="+", default=None, help="training seed of each table (default: one seed)")
    s.add_argument("--tables", nargs="+", required=True, type=existing_file, help=SCORE_TABLES)
    figure_out(s)
    s.set_defaults(func=cmd_fig1)

    s = sub.add_parser("fig2", help="Paper A Fig. 2 from per-model training curves")
    s.add_argument("--p", type=float, nargs="+", required=True, help="p of each curve")
    s.add_argument("--curves", nargs="+", required=True, type=existing_file, help="curve CSVs (`mixlab curve`)")
    figure_out(s)
    s.set_defaults(func=cmd_fig2)

    s = sub.add_parser("fig3", help="Paper A Fig. 3 from per-model per-track tables")
    s.add_argument("--models", nargs="+", required=True, help="Fig. 3 model ids (full_r<f>, half<seed>_r<f>)")
    s.add_argument("--tables", nargs="+", required=True, type=existing_file, help=SCORE_TABLES)
    s.add_argument("--examples", type=int, default=None,
                   help="training examples of a run (steps x batch): the x axis then also counts the mixes")
    s.add_argument("--songs", type=int, default=None, help="training songs of the full set (for the legend)")
    figure_out(s)
    s.set_defaults(func=cmd_fig3)

    s = sub.add_parser("shift-figure", help="Paper A Fig. 4 or 5 from labelled per-model per-track tables")
    s.add_argument("--figure", type=int, required=True, choices=[4, 5], help="which figure")
    s.add_argument("--rows", required=True, help="JSON list, one dict of labels (model, kind, value, ...) per table")
    s.add_argument("--tables", nargs="+", required=True, type=existing_file, help=SCORE_TABLES)
    figure_out(s)
    s.set_defaults(func=cmd_shift_figure)

    s = sub.add_parser("table1", help="Paper A Table 1 (.md, .csv, .tex) from per-model per-track tables")
    s.add_argument("--models", nargs="+", required=True, help="ids <original|random>_s<seed>")
    s.add_argument("--tables", nargs="+", required=True, type=existing_file, help=SCORE_TABLES)
    table_out(s)
    s.set_defaults(func=cmd_table1)

    s = sub.add_parser("effects", help="Paper A: each headline effect, measured, with a fixed criterion -> Markdown")
    for name in ("fig1", "fig2", "fig3", "fig4", "fig5", "table1"):
        s.add_argument(f"--{name}", default=None, type=existing_file, help=f"the run's {name}.csv (absent: not measured)")
    s.add_argument("--out", required=True, help="Markdown file to write")
    s.add_argument("--caption", default="", help="caption line")
    s.set_defaults(func=cmd_effects)

    s = sub.add_parser("histories", help="every model's training curve (<model>.history.csv) in one figure")
    s.add_argument("--labels", nargs="+", required=True, help="model ids, e.g. fig1/p0.50 (panel = up to the last /)")
    s.add_argument("--histories", nargs="+", required=True, type=existing_file, help="history CSVs, paired with --labels")
    figure_out(s)
    s.set_defaults(func=cmd_histories)

    s = sub.add_parser("mixit-table", help="Paper B Table 1, 2 or 3 (.md, .csv, .tex)")
    s.add_argument("--rows", required=True, help="JSON list of label dicts, one per row")
    s.add_argument("--seeds", type=int, nargs="+", default=None,
                   help="fine-tuning seeds: the tables below are then row-major, one per row and seed (default: one)")
    s.add_argument("--csdr", nargs="+", required=True, type=existing_file, help=SCORE_TABLES)
    s.add_argument("--usdr", nargs="+", required=True, type=existing_file, help="uSDR CSVs (`mixlab usdr`)")
    table_out(s)
    s.set_defaults(func=cmd_mixit_table)

    s = sub.add_parser("mixit-effects", help="Paper B: each headline effect, measured, with a fixed criterion -> Markdown")
    for name in ("table1", "table2", "table3"):
        s.add_argument(f"--{name}", default=None, type=existing_file,
                       help=f"the run's mixit/{name}.csv (absent: not measured)")
    s.add_argument("--out", required=True, help="Markdown file to write")
    s.add_argument("--caption", default="", help="caption line")
    s.set_defaults(func=cmd_mixit_effects)

    s = sub.add_parser("released-table", help="the authors' released models scored by mixlab, beside the "
                                              "paper's numbers (.md, .csv)")
    s.add_argument("--rows", required=True, help="JSON list of label dicts, one per model")
    s.add_argument("--models", nargs="+", required=True, help="mixlab model ids of the released models")
    s.add_argument("--csdr", nargs="+", required=True, type=existing_file, help=SCORE_TABLES)
    s.add_argument("--usdr", nargs="+", required=True, type=existing_file, help="uSDR CSVs (`mixlab usdr`)")
    s.add_argument("--published", required=True, help="JSON {model: {stem|average: [cSDR, uSDR]}} (the paper's)")
    table_out(s)
    s.set_defaults(func=cmd_released_table)

    s = sub.add_parser("cost", help="trainings, steps, GPU-hours, wall time on N GPUs and disk of a run, before it starts",
                       description="What `snakemake --config ...` would run, costed with the GPU rates measured in "
                                   "BENCHMARKS.md (FLOP-scaled for model configurations not timed). Needs no data.")
    configs(s)
    s.add_argument("--scale", default=None, help="shorthand for --config scale=SCALE")
    s.add_argument("--gpu", default="h100", help="GPU whose measured rates to use (src/mixlab/gpu_rates.yaml)")
    s.add_argument("--gpus", type=int, nargs="+", default=[1, 8, 64], help="wall time on this many GPUs (1 8 64)")
    s.add_argument("--paper", choices=["a", "b", "both"], default="both", help="which paper's targets (both)")
    s.set_defaults(func=cmd_cost)

    s = sub.add_parser("check-config", help="validate a config against the schema, as the workflow does before any job",
                       description="Takes what Snakemake takes: --configfile files and --config overrides, merged "
                                   "the same way; prints the run's results folder.")
    configs(s)
    s.set_defaults(func=cmd_check_config)
