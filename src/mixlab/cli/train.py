"""`mixlab` subcommands of the training stage: one engine, a recipe per paper; `launch` runs either on its GPUs."""
from __future__ import annotations

import argparse

from mixlab.cli._common import DEVICE_HELP, THREADS_HELP, existing_file, existing_folder, log, read_spec, spec_arg, threads


def cmd_launch(a):
    from mixlab.launch import launch

    command = a.command_line[1:] if a.command_line[:1] == ["--"] else a.command_line
    launch(a.gpus, command, log=log)


def cmd_train(a):
    from mixlab.papers.random_mixing.recipe import train

    threads(a.threads)
    train(read_spec(a.spec), a.store if len(a.store) > 1 else a.store[0], a.out, a.resume_dir, device=a.device,
          log=log, snapshots=a.snapshots)


def cmd_train_mixit(a):
    from mixlab.papers.mixit.recipe import train

    threads(a.threads)
    train(read_spec(a.spec), a.out, a.resume_dir, a.device, log=log, clips=a.clips, store=a.store,
          activity=a.activity, init=a.init, channels=a.channels, valid_store=a.valid_store)


GROUP = "training"
GROUP_OF = {"train-mixit": "Paper B"}


def add_parsers(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("launch", help="run a training command on its own GPUs (torchrun when more than one)")
    s.add_argument("--gpus", type=int, required=True, help="GPUs of the job (Snakemake's resources.gpu); 0: CPU")
    s.add_argument("command_line", nargs=argparse.REMAINDER, help="-- COMMAND ARGS...")
    s.set_defaults(func=cmd_launch)

    s = sub.add_parser("train", help="train a separator (Paper A); rerun the same command to resume after a kill")
    s.add_argument("--spec", required=True, type=spec_arg, help="run spec {model: ..., train: ...}: inline JSON or a file")
    s.add_argument("--store", required=True, nargs="+", type=existing_folder,
                   help="stem store(s) of the training songs, pooled")
    s.add_argument("--snapshots", default=None, help="folder for EMA weights every train.snapshot_every steps")
    s.add_argument("--out", required=True, help="model file to write (EMA weights + spec)")
    s.add_argument("--resume-dir", required=True, help="where resume checkpoints live")
    s.add_argument("--device", default="cpu", help=DEVICE_HELP)
    s.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("train-mixit", help="MixIT pre-training or fine-tuning; rerun to resume after a kill")
    s.add_argument("--spec", required=True, type=spec_arg,
                   help="{stage: pretrain|finetune, model: ..., train: ...}: JSON or a file")
    s.add_argument("--out", required=True, help="model file to write (EMA weights + spec)")
    s.add_argument("--resume-dir", required=True, help="where resume checkpoints live")
    s.add_argument("--clips", default=None, type=existing_folder, help="pretrain: prepared FMA clips")
    s.add_argument("--store", default=None, type=existing_folder, help="finetune: training stem store")
    s.add_argument("--valid-store", default=None, type=existing_folder,
                   help="finetune: validation songs' stem store (train.validate_every)")
    s.add_argument("--activity", default=None, type=existing_file, help="finetune: active segments JSON")
    s.add_argument("--init", default=None, type=existing_file, help="finetune: pre-trained model (default: random init)")
    s.add_argument("--channels", default=None, type=existing_file, help="finetune from --init: selected channels JSON")
    s.add_argument("--device", default="cpu", help=DEVICE_HELP)
    s.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    s.set_defaults(func=cmd_train_mixit)
