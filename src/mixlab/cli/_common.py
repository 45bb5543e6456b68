"""Helpers every `mixlab` subcommand shares: progress lines, path arguments, run specs, CPU threads."""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import re
import time
from pathlib import Path

# "3/10", "step 400/1000": the first count in a progress line
_COUNT = re.compile(r"(\d+)/(\d+)")
_TAG = re.compile(r"^\[([\w.-]+)\]")


def duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


class ProgressLog:
    """Every line time-stamped; a line that counts (`[tag] ... i/n ...`) also gets the time left.

    The rate is measured from the first counting line of the same tag and total, so a resumed training
    or a job that started with slow set-up work is not extrapolated from its first seconds.
    """

    def __init__(self, clock=time.time):
        self.clock = clock
        self.first: dict[tuple[str, int], tuple[float, int]] = {}

    def eta(self, msg: str, now: float) -> str:
        tag, count = _TAG.match(msg), _COUNT.search(msg)
        if not tag or not count:
            return ""
        i, n = int(count[1]), int(count[2])
        key = (tag[1], n)
        t0, i0 = self.first.setdefault(key, (now, i))
        if i >= n or i <= i0:
            return ""
        return f" (ETA {duration((now - t0) / (i - i0) * (n - i))})"

    def __call__(self, msg: str) -> None:
        now = self.clock()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
        first, *rest = str(msg).split("\n", 1)
        print("\n".join([f"{stamp} {first}{self.eta(first, now)}", *rest]), flush=True)


log = ProgressLog()

DEVICE_HELP = "cpu, cuda or cuda:N (cpu)"
THREADS_HELP = "CPU threads (default: all the machine's)"


def _path_type(kind: str):
    """An argparse type: the path must exist (as a file or a folder) and be readable, checked before any work."""
    def check(text: str) -> str:
        path = Path(text)
        if not path.exists():
            raise argparse.ArgumentTypeError(f"{text}: no such {kind}; check the path")
        if kind == "file" and path.is_dir():
            raise argparse.ArgumentTypeError(f"{text}: a folder, expected a file")
        if kind == "folder" and not path.is_dir():
            raise argparse.ArgumentTypeError(f"{text}: a file, expected a folder")
        if not os.access(path, os.R_OK):
            raise argparse.ArgumentTypeError(f"{text}: not readable (permission denied); check its permissions")
        return text

    check.__name__ = kind     # argparse names the type in its messages
    return check


existing_file = _path_type("file")
existing_folder = _path_type("folder")
existing_path = _path_type("file or folder")


def spec_arg(text: str) -> str:
    """--spec: inline JSON, or a JSON/YAML file that must exist."""
    return text if text.lstrip().startswith("{") else existing_file(text)


def read_spec(arg: str) -> dict:
    """A run spec given inline as JSON or as a path to a JSON/YAML file."""
    from mixlab.config import ConfigError
    from mixlab.errors import read_yaml

    if arg.lstrip().startswith("{"):
        try:
            spec = json.loads(arg)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--spec: not valid JSON ({exc}); pass a JSON object or a JSON/YAML file") from None
    else:
        spec = read_yaml(arg, "a JSON/YAML spec", "pass a JSON object or a JSON/YAML file of one")
    if not isinstance(spec, dict):
        raise ConfigError(f"--spec {arg}: not a mapping of keys to values")
    return spec


def threads(n: int | None) -> None:
    if n:
        import torch

        torch.set_num_threads(n)


def native_threads(n: int | None) -> None:
    """Threads of the BLAS under numpy/scipy, for commands that never import torch.

    OpenBLAS reads the variable when it loads: call this before importing scipy.
    """
    if n:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(n)


def keep_freed_memory() -> None:
    """glibc: serve large arrays from the heap and keep freed memory for reuse.

    By default every array over 32 MB is a fresh mmap whose pages fault in one
    by one; scoring allocates dozens of 50-150 MB temporaries, and on VMs those
    page faults cost more than the FFTs (measured: 7.5 -> 6.0 s for a 240 s track).
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:      # not glibc: nothing to tune
        return
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    libc.mallopt(M_MMAP_THRESHOLD, ctypes.c_int(1 << 30))
    libc.mallopt(M_TRIM_THRESHOLD, ctypes.c_int((1 << 31) - 1))


def job_spec(a, allowed, flags=()) -> dict:
    """A job's settings: `--spec` (inline JSON or a JSON/YAML file; the workflow passes the config's
    section whole), then any of `flags` given by hand. Nothing here has a default: what is left out
    takes the library's default, named in `allowed` (a dataclass or the keys a call takes)."""
    from dataclasses import fields, is_dataclass

    from mixlab.config import ConfigError

    spec = dict(read_spec(a.spec)) if getattr(a, "spec", None) else {}
    spec.update({f: getattr(a, f) for f in flags if getattr(a, f) is not None})
    names = [f.name for f in fields(allowed)] if is_dataclass(allowed) else list(allowed)
    unknown = sorted(set(spec) - set(names))
    if unknown:
        raise ConfigError(f"--spec: unknown key(s) {', '.join(map(repr, unknown))}; "
                          f"`mixlab {a.command}` takes {', '.join(names)}")
    return spec


SETTINGS_SPEC = ("the command's settings as inline JSON or a JSON/YAML file, keys named as its options "
                 "(sample_rate for --sample-rate); options also given on the command line win")


def settings_spec(s) -> None:
    """Let `--spec` give any of a command's options, as the workflow passes a job's settings (Plan.job_spec)."""
    s.add_argument("--spec", type=spec_arg, default=None, help=SETTINGS_SPEC)
    s.set_defaults(settings_spec=True)


def expand_settings(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """`CMD --spec S REST` -> `CMD <S as options> REST` for commands with `settings_spec`, so argparse checks
    the spec's values exactly as typed options (types, choices, files that must exist)."""
    from mixlab.config import ConfigError

    if not argv or argv[0].startswith("-"):
        return argv
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    cmd = sub.choices.get(argv[0])
    if cmd is None or not cmd.get_default("settings_spec"):
        return argv
    given = [k for k, a in enumerate(argv) if a == "--spec" or a.startswith("--spec=")]
    if not given:
        return argv                      # an abbreviation (--spe) reaches argparse and is refused in main()
    i = given[0]
    if argv[i].startswith("--spec="):
        argv = argv[:i] + ["--spec", argv[i][len("--spec="):]] + argv[i + 1:]
    if i + 1 >= len(argv):
        return argv                      # argparse names the missing value
    spec = read_spec(spec_arg(argv[i + 1]))
    options = {a.dest: a for a in cmd._actions if a.option_strings and a.dest not in ("help", "spec")}
    unknown = sorted(set(spec) - set(options))
    if unknown:
        raise ConfigError(f"--spec: unknown key(s) {', '.join(map(repr, unknown))}; `mixlab {argv[0]}` takes "
                          f"{', '.join(options)}")
    tokens = []
    for key, value in spec.items():
        flag, action = options[key].option_strings[-1], options[key]
        if value is None or value is False:
            continue
        if isinstance(action, argparse._StoreTrueAction):
            tokens.append(flag)
        elif isinstance(value, (list, tuple)):
            tokens += [flag, *map(str, value)]
        else:
            tokens += [flag, str(value)]
    return [argv[0], *tokens, *argv[1:i], *argv[i + 2:]]
