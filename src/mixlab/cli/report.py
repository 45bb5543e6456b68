"""`mixlab` subcommands of the report stage: figures and tables of both papers, the training histories,
the config check."""
from __future__ import annotations

import argparse
import copy
from pathlib import Path

from mixlab.cli._common import existing_file, log, read_spec, spec_arg


def cmd_figure(a):
    from mixlab.papers import figure

    figure(read_spec(a.spec), a.out, log=log)


def cmd_figures(a):
    from mixlab.papers import figures
    from mixlab.plots.figure import WRITES

    for name, fig in figures().items():
        what, suffix, _ = WRITES[fig.kind]
        takes = [*fig.params, *(f"[{k}]" for k in fig.optional)]
        print(f"{name}  ({what}, --out X{suffix})\n    {fig.help}\n    inputs: {', '.join(fig.inputs)}"
              + (f"; settings: {', '.join(takes)}" if takes else ""))


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
    elif P["dataset"] == "rendered":
        from mixlab.data import rendered

        spec = rendered.RenderSpec(sample_rate=P["sample_rate"], **P["render"])
        tracks = {split: rendered.track_names(spec, split) for split in ("train", "valid", "test")}
    else:
        tracks = musdb_tracks(P)
    papers = {"a": ("a",), "b": ("b",), "both": ("a", "b")}[a.paper]
    est = estimate(P, tracks, a.gpu, papers)
    print(f"# cost of scale={P['scale']} ({P['run']}), {'both papers' if a.paper == 'both' else 'Paper ' + a.paper.upper()}")
    print(report(est, a.gpus))


def cmd_compare_runs(a):
    from mixlab.config import ConfigError
    from mixlab.papers.float_path import report

    try:
        text = report(a.run_a, a.run_b, a.testset)
    except (FileNotFoundError, ValueError) as exc:
        raise ConfigError(str(exc)) from None
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(text)
    print(text, end="")


GROUP = "figures and tables"
GROUP_OF = {"cost": "configuration and cost", "check-config": "configuration and cost"}

def configs(s) -> None:
    s.add_argument("--configfile", nargs="+", default=["config.yaml"], type=existing_file,
                   help="config file(s), merged in order, as Snakemake's --configfile (config.yaml)")
    s.add_argument("--config", nargs="*", default=[], metavar="KEY=VALUE",
                   help="overrides exactly as Snakemake's --config, e.g. scale=paper "
                        "'presets={paper: {train: {steps: 1000}}}'")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("figure", help="any figure or table of either paper from its spec (`mixlab figures` lists them)",
                       description="Make one figure or table from a spec naming it and its inputs -- what the "
                       "workflow passes -- e.g. {\"figure\": \"random_mixing.fig1\", \"p\": [0, 1], \"inputs\": "
                       "{\"tables\": [\"p0.csv\", \"p1.csv\"]}, \"caption\": \"...\"}.")
    s.add_argument("--spec", required=True, type=spec_arg,
                   help="figure spec {figure, inputs, caption, settings...}: inline JSON or a JSON/YAML file")
    s.add_argument("--out", required=True, help="file to write: a figure's PDF (PNG, CSV and caption .md beside "
                   "it) or a table's .md (.csv and .tex beside it)")
    s.set_defaults(func=cmd_figure)

    s = sub.add_parser("figures", help="list the figures and tables `mixlab figure` makes, with their inputs and settings")
    s.set_defaults(func=cmd_figures)

    s = sub.add_parser("compare-runs", help="two runs of the same specs on other float paths (threads, CPU): "
                       "each model's score in both, and that spread beside the seed spread")
    s.add_argument("run_a", help="results folder of one run, e.g. results/study")
    s.add_argument("run_b", help="results folder of the other, e.g. results/study-threads2")
    s.add_argument("--testset", default="test", help="which test set's scores (test)")
    s.add_argument("--out", default=None, help="also write the table (Markdown) here")
    s.set_defaults(func=cmd_compare_runs)

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
