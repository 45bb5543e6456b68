#!/usr/bin/env python3
"""Prove a refactoring changed nothing: run the workflow at the tiny scale from a base revision and from the
working tree, and compare what they make.

    .venv/bin/python tools/same_outputs.py BASE_REV [--work /tmp/same_outputs]

Both sides run `paper_a paper_b` at the tiny scale on a real-format MUSDB18-HQ tree with hostile track names,
and dry-run both targets at the tiny and the paper scale (a fake 150-song tree and FMA layout). Reported:
text outputs (CSV, JSON, Markdown, TeX, TSV) byte for byte (training histories without their wall-clock
column), model weights tensor for tensor, each dry run's job counts, its shell commands with every
training spec set aside, and the training specs without their form (recipe, inputs, Paper B's stage).
Exit status 1 when anything differs. About 10 min on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
TEXTS = (".csv", ".json", ".md", ".tex", ".tsv")


def trees(work: Path) -> tuple[Path, Path, Path]:
    """The tiny run's real-format tree, and the paper dry run's fake MUSDB18-HQ and FMA trees."""
    sys.path.insert(0, str(REPO))
    from tests.conftest import write_fake_paper_trees, write_musdb_tree

    tiny = work / "tree"
    if not tiny.exists():
        write_musdb_tree(tiny)
    fake, fma = write_fake_paper_trees(work)
    return tiny, fake, fma


def run_side(repo: Path, out: Path, tiny: Path, fake: Path, fma: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    base = [SNAKEMAKE, "-s", str(repo / "workflow" / "Snakefile")]
    tiny_cfg = ["--configfile", str(repo / "config.yaml"), str(repo / ".test" / "config_tiny.yaml"),
                "--config", "scale=tiny", "dataset=musdb", f"musdb_root={tiny}"]
    paper_cfg = ["--configfile", str(repo / "config.yaml"), "--config", "scale=paper", f"musdb_root={fake}",
                 f"fma_root={fma}"]
    for scale, cfg in (("tiny", tiny_cfg), ("paper", paper_cfg)):
        for target in ("paper_a", "paper_b"):
            res = subprocess.run(base + ["--directory", str(out / f"dag_{scale}"), "-n", "-p", "-F", target] + cfg,
                                 capture_output=True, text=True)
            (out / f"dry_{scale}_{target}.txt").write_text(res.stdout + res.stderr)
    print(f"[same-outputs] running the tiny scale from {repo}", flush=True)
    res = subprocess.run(base + ["--directory", str(out / "run"), "--cores", "2", "paper_a", "paper_b"] + tiny_cfg,
                         capture_output=True, text=True)
    (out / "run.log").write_text(res.stdout + res.stderr)
    if res.returncode:
        raise SystemExit(f"{repo}: the tiny run failed; see {out / 'run.log'}")


def outputs(side: Path, suffixes) -> dict:
    root = side / "run" / "results"
    return {p.relative_to(root): p for p in root.rglob("*")
            if p.is_file() and p.suffix in suffixes and not {"logs", "resume"} & set(p.relative_to(root).parts)}


def same_text(a: Path, b: Path) -> bool:
    if a.name.endswith(".history.csv"):      # steps_per_s is a wall-clock rate: every other column must match
        import pandas as pd

        return pd.read_csv(a).drop(columns="steps_per_s").equals(pd.read_csv(b).drop(columns="steps_per_s"))
    return a.read_bytes() == b.read_bytes()


def same_weights(a: Path, b: Path) -> bool:
    import torch

    sa, sb = (torch.load(p, weights_only=True) for p in (a, b))
    sa, sb = sa.get("state_dict", sa), sb.get("state_dict", sb)
    return set(sa) == set(sb) and all(torch.equal(sa[k], sb[k]) for k in sa if isinstance(sa[k], torch.Tensor))


QUOTED = r"(?:'(?:[^']|'\"'\"')*'|\S+)"
# figures and tables: one `mixlab figure --spec` now, ten commands with flags before; their outputs are
# compared byte for byte, their commands by what they write
FIGURE_COMMANDS = ("figure", "fig1", "fig2", "fig3", "shift-figure", "table1", "effects", "histories", "mixit-table",
                   "mixit-effects", "released-table")
RENAMED_RULES = {"train": "train_random_mixing"}
INPUT_FLAGS = ("--store", "--clips", "--valid-store", "--activity", "--init", "--channels")


def shell_commands(text: str) -> tuple[list[str], dict]:
    """Every shell command (training specs and input flags set aside) and every training spec by its --out."""
    commands, specs = [], {}
    for line in text.splitlines():
        if not line.startswith("Shell command: "):
            continue
        cmd = line[len("Shell command: "):]
        if " mixlab train" in cmd:
            args = shlex.split(cmd.split(" >> ")[0])
            spec = json.loads(args[args.index("--spec") + 1])
            stage = spec.pop("stage", None)
            recipe = spec.pop("recipe", None) or {"pretrain": "mixit.pretrain", "finetune": "mixit.finetune",
                                                  None: "random_mixing"}[stage]
            spec.pop("inputs", None)
            specs[args[args.index("--out") + 1]] = (recipe, spec)
            cmd = re.sub(" --spec " + QUOTED, " --spec SPEC", cmd.replace("mixlab train-mixit", "mixlab train"))
            for flag in INPUT_FLAGS:
                cmd = re.sub(rf" {flag}(?: (?!--){QUOTED})+", "", cmd)
        else:
            cmd = canonical(cmd)
        commands.append(re.sub(" +", " ", cmd))
    return sorted(commands), specs


def canonical(cmd: str) -> str:
    """`mixlab CMD` with a settings `--spec` expanded into the options it names and the options sorted, so
    `--sample-rate 8000` and `--spec '{"sample_rate": 8000}'` read the same; a figure by its --out."""
    sys.path.insert(0, str(REPO / "src"))
    from mixlab.cli import build_parser

    head, sep, redirect = cmd.partition(" > ")
    args = shlex.split(head)
    if "mixlab" not in args or args[args.index("mixlab") - 1] != "-m":
        return cmd
    i = args.index("mixlab") + 1
    name, rest = args[i], args[i + 1:]
    if name in FIGURE_COMMANDS:
        return f"mixlab FIGURE --out {rest[rest.index('--out') + 1]}{sep}{redirect}"
    parser = build_parser()._subparsers._group_actions[0].choices.get(name)
    if parser is not None and parser.get_default("settings_spec") and "--spec" in rest:
        j = rest.index("--spec")
        flags = {a.dest: a.option_strings[-1] for a in parser._actions if a.option_strings}
        expanded = []
        for key, value in json.loads(rest[j + 1]).items():
            if value is not None:
                expanded += [flags[key], *map(str, value if isinstance(value, list) else [value])]
        rest = rest[:j] + rest[j + 2:] + expanded
    groups, positional = [], []
    for token in rest:
        if token.startswith("--"):
            groups.append([token])
        elif groups:
            groups[-1].append(token)
        else:
            positional.append(token)
    parts = args[:i + 1] + positional + [t for g in sorted(groups) for t in g]
    return " ".join(shlex.quote(t) for t in parts) + sep + redirect


def compare(base: Path, new: Path) -> list[str]:
    sys.path.insert(0, str(REPO))
    from tests.conftest import dry_run_job_counts

    problems = []
    b, n = outputs(base, TEXTS), outputs(new, TEXTS)
    problems += [f"only in base: {k}" for k in sorted(set(b) - set(n))]
    problems += [f"only in new: {k}" for k in sorted(set(n) - set(b))]
    problems += [f"differs: {k}" for k in sorted(set(b) & set(n)) if not same_text(b[k], n[k])]
    print(f"[same-outputs] text outputs: {len(b)} base, {len(n)} new")
    bw, nw = outputs(base, (".pt",)), outputs(new, (".pt",))
    problems += [f"weights differ: {k}" for k in sorted(set(bw) & set(nw)) if not same_weights(bw[k], nw[k])]
    problems += [f"model file only on one side: {k}" for k in sorted(set(bw) ^ set(nw))]
    print(f"[same-outputs] model files: {len(bw)} base, {len(nw)} new")
    for dry in sorted(p.name for p in base.glob("dry_*.txt")):
        tb, tn = (base / dry).read_text(), (new / dry).read_text()
        jb, jn = dry_run_job_counts(tb), dry_run_job_counts(tn)
        jb = {RENAMED_RULES.get(k, k): v for k, v in jb.items()}
        if jb != jn:
            problems.append(f"{dry}: job counts {jb} vs {jn}")
        (cb, sb), (cn, sn) = shell_commands(tb), shell_commands(tn)
        problems += [f"{dry}: shell command\n  base: {x}\n  new:  {y}" for x, y in zip(cb, cn) if x != y]
        if len(cb) != len(cn):
            problems.append(f"{dry}: {len(cb)} vs {len(cn)} shell commands")
        problems += [f"{dry}: training spec of {k} differs" for k in sb if sb[k] != sn.get(k)]
        print(f"[same-outputs] {dry}: {sum(jb.values())} jobs, {len(cb)} shell commands, {len(sb)} training specs")
    return problems


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("base", help="git revision to compare the working tree with")
    p.add_argument("--work", default="/tmp/same_outputs", help="scratch folder (both runs and a worktree)")
    a = p.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    worktree = work / "base_repo"
    if not worktree.exists():
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "-f", "--detach", str(worktree), a.base], check=True)
    tiny, fake, fma = trees(work)
    run_side(worktree, work / "base", tiny, fake, fma)
    run_side(REPO, work / "new", tiny, fake, fma)
    problems = compare(work / "base", work / "new")
    for line in problems:
        print(f"  {line}")
    print(f"[same-outputs] {'nothing changed' if not problems else f'{len(problems)} differences'}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
