"""`mixlab`: the command line of the workflow's rules, usable by hand.

One module per stage -- `data`, `train`, `evaluate`, `report` -- each adding its subcommands under a
group of the help; `_common` holds what they share. A user's mistake (a missing or foreign file, a bad
config key, an unusable track) ends with one line naming the file or key and the fix, exit status 2;
a preempted training exits with EXIT_PREEMPTED so SLURM/Snakemake retry it. MIXLAB_DEBUG=1 shows the
traceback as well.
"""
from __future__ import annotations

import argparse
import os
import sys

from mixlab.cli import data, evaluate, report, train

# the help lists subcommands by what a user does with them; each stage module names its groups
GROUPS = ("separate and score", "data", "training", "figures and tables", "Paper B", "configuration and cost")


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("mixlab")
    except PackageNotFoundError:       # run from the repository (the workflow's PYTHONPATH)
        return "unknown (not installed)"


class _Parser(argparse.ArgumentParser):
    """Subcommands listed by group in `mixlab --help`."""

    def format_help(self) -> str:
        text = super().format_help()
        if not getattr(self, "groups", None):
            return text
        width = max(len(n) for names in self.groups.values() for n, _ in names) + 2
        lines = []
        for group in GROUPS:
            lines.append(f"\n{group}:")
            lines += [f"  {name:<{width}}{help}" for name, help in self.groups.get(group, [])]
        return text + "\n".join(lines) + "\n\n`mixlab COMMAND --help` for a command's options.\n"


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="mixlab", description="mixlab: the workflow's steps as commands -- separate songs, build "
                "data, train, score, draw the figures and tables of both papers.",
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"mixlab {version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=argparse.ArgumentParser)
    p.groups = {}
    for stage in (data, train, evaluate, report):
        before = set(sub.choices)
        stage.add_parsers(sub)
        helps = {a.dest: a.help for a in sub._choices_actions}
        for name in sub.choices:
            if name not in before:
                if sub.choices[name].description is None:
                    sub.choices[name].description = helps.get(name)
                group = stage.GROUP_OF.get(name, stage.GROUP)
                p.groups.setdefault(group, []).append((name, helps.get(name, "")))
    # listed once, by group (format_help), not again flat
    sub._choices_actions.clear()
    return p


def main(argv=None) -> int:
    from mixlab.cli._common import expand_settings
    from mixlab.config import ConfigError
    from mixlab.errors import InputError
    from mixlab.train.preemption import EXIT_PREEMPTED, Preempted

    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(expand_settings(parser, argv))
    except (argparse.ArgumentTypeError, ConfigError, InputError) as exc:     # the --spec: not there, not JSON
        parser.error(f"argument --spec: {exc}")
    if getattr(args, "settings_spec", False) and args.spec is not None:
        # only an abbreviated --spec gets here unexpanded: refused rather than silently ignored
        parser.error(f"mixlab {args.command}: write the option in full, --spec SPEC")
    try:
        args.func(args)
    except (ConfigError, InputError) as exc:
        if os.environ.get("MIXLAB_DEBUG"):
            raise
        print(f"mixlab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except Preempted as exc:
        # not done: SLURM requeues a preempted job, Snakemake retries one stopped before its time limit
        print(f"mixlab {args.command}: {exc}", file=sys.stderr)
        return EXIT_PREEMPTED
    except KeyboardInterrupt:
        print(f"mixlab {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
