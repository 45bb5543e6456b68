"""`mixlab` subcommands of the training stage: one `train` for every recipe; `launch` runs it on its GPUs."""
from __future__ import annotations

import argparse

from mixlab.cli._common import DEVICE_HELP, THREADS_HELP, log, read_spec, spec_arg, threads


def cmd_launch(a):
    from mixlab.launch import launch

    command = a.command_line[1:] if a.command_line[:1] == ["--"] else a.command_line
    launch(a.gpus, command, log=log)


def cmd_train(a):
    from mixlab.papers import train

    threads(a.threads)
    train(read_spec(a.spec), a.out, a.resume_dir, device=a.device, log=log, snapshots=a.snapshots)


GROUP = "training"
GROUP_OF = {}


def add_parsers(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("launch", help="run a training command on its own GPUs (torchrun when more than one)")
    s.add_argument("--gpus", type=int, required=True, help="GPUs of the job (Snakemake's resources.gpu); 0: CPU")
    s.add_argument("command_line", nargs=argparse.REMAINDER, help="-- COMMAND ARGS...")
    s.set_defaults(func=cmd_launch)

    s = sub.add_parser("train", help="train a separator (either paper); rerun the same command to resume after a kill",
                       description="Train the run a spec describes: its recipe (random_mixing: Paper A; "
                       "mixit.pretrain, mixit.finetune: Paper B), its inputs, model, training and separation "
                       "settings -- what the workflow passes, in one JSON/YAML. Rerun the same command after a "
                       "kill: it resumes from the last resume checkpoint.")
    s.add_argument("--spec", required=True, type=spec_arg,
                   help="run spec {recipe, inputs: {stores | clips | store, activity, ...}, model, train, separate}: "
                        "inline JSON or a JSON/YAML file")
    s.add_argument("--out", required=True, help="model file to write (weights + spec)")
    s.add_argument("--resume-dir", required=True, help="where resume checkpoints live")
    s.add_argument("--snapshots", default=None, help="folder for the weights every train.snapshot_every steps")
    s.add_argument("--device", default="cpu", help=DEVICE_HELP)
    s.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    s.set_defaults(func=cmd_train)
