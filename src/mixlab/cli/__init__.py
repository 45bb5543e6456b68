"""`mixlab` command line: the entry points the workflow's rules call, usable by hand.

One module per stage -- `data`, `train`, `evaluate`, `report` -- each adding its subcommands;
`_common` holds what they share. Errors a user can fix (config, tracks) exit 2 with one line;
a preempted training exits with EXIT_PREEMPTED so SLURM/Snakemake retry it.
"""
from __future__ import annotations

import argparse
import sys

from mixlab.cli import data, evaluate, report, train


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mixlab", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    for stage in (data, train, evaluate, report):
        stage.add_parsers(sub)
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
