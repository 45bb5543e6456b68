"""The real-data path: real-format MUSDB18-HQ with real-world track names, at paper scale (dry run)."""
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import CONFIGS, REAL_NAMES, REPO

NAMES = [n for names in REAL_NAMES.values() for n in names]


def _snakemake(workdir, *args, config=()):
    """A dry run: flags and targets in args, `--config` values (paths with any characters) last."""
    exe = Path(sys.executable).parent / "snakemake"
    flags = [a for a in args if a.startswith("-")]
    targets = [a for a in args if not a.startswith("-")]
    return subprocess.run([str(exe), *flags, "--cores", "1", "-s", str(REPO / "workflow" / "Snakefile"),
                           "--directory", str(workdir), "--configfile", *map(str, CONFIGS),
                           "--config", *config, "--", *targets], capture_output=True, text=True)


def shell_commands(dry_run_output: str) -> list[str]:
    return [line[len("Shell command: "):] for line in dry_run_output.splitlines()
            if line.startswith("Shell command: ")]


def quoting_problems(command: str, names=NAMES) -> list[str]:
    """Why a shell command would not reach its program as meant: bash cannot parse it, or a track
    name in it is split across words."""
    parsed = subprocess.run(["bash", "-n", "-c", command], capture_output=True, text=True)
    if parsed.returncode != 0:
        return [f"bash -n: {parsed.stderr.strip()}"]
    try:
        words = shlex.split(command)
    except ValueError as exc:
        return [f"shlex: {exc}"]
    problems = []
    for name in names:
        head = name.split()[0]
        for w in words:
            # a word holding the first word of a name must hold a whole name (inside JSON or a path, say)
            if head in w and not any(n in w for n in names if n.split()[0] == head):
                problems.append(f"{name!r} split: {w!r}")
    return problems


def test_the_quoting_check_catches_what_it_is_for():
    spec = '{"tracks": ["Ben Carrigan - We\'ll Talk About It All Tonight"]}'
    assert quoting_problems(f"mixlab train --spec {shlex.quote(spec)}") == []
    assert quoting_problems(f"mixlab train --spec '{spec}'")                       # the old rule: ' ends it
    assert quoting_problems('mixlab x --tracks "Jokers, Jacks & Kings - Sea Of Leaves"') == []
    assert quoting_problems("mixlab x --tracks Jokers, Jacks & Kings - Sea Of Leaves")
    assert quoting_problems("mixlab x --out 'M.E.R.C. Music - Knockout; (Live)'") == []
    assert quoting_problems("mixlab x --out M.E.R.C. Music - Knockout; (Live)")


@pytest.fixture(scope="module")
def fake_fma(tmp_path_factory):
    """FMA layout only (the DAG does not open the MP3s)."""
    root = tmp_path_factory.mktemp("fma")
    for subset in ("small", "medium", "large", "full"):
        (root / f"fma_{subset}" / "000").mkdir(parents=True)
        (root / f"fma_{subset}" / "000" / "000002.mp3").write_bytes(b"\xff\xfb")
    return root


@pytest.mark.slow
def test_paper_scale_shell_commands_keep_every_name_whole(real_names_tree, fake_fma, tmp_path):
    res = _snakemake(tmp_path, "-n", "-p", "paper_a", "paper_b",
                     config=["scale=paper", f"musdb_root={real_names_tree}", f"fma_root={fake_fma}"])
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    commands = shell_commands(res.stdout)
    assert len(commands) > 300
    problems = {c[:120]: p for c in commands if (p := quoting_problems(c))}
    assert not problems, problems
    text = "\n".join(commands)
    # every name reaches some command: test names as score/uSDR arguments, training names in Fig. 3b specs
    for name in NAMES:
        if name != "Johnny Lokke - Promises & Lies":           # validation: read by the store rule, not named
            assert shlex.quote(name) in text or name.replace("'", "'\"'\"'") in text or name in text, name


@pytest.mark.slow
def test_a_bad_tree_stops_the_workflow_before_any_job(real_names_tree, tmp_path):
    import shutil

    tree = shutil.copytree(real_names_tree, tmp_path / "musdb18hq")
    bad = tree / "test" / REAL_NAMES["test"][1] / "mixture.wav"
    sf.write(bad, np.zeros((100, 1), np.float32), 44100)
    (tree / "train" / REAL_NAMES["train"][1] / "bass.wav").write_bytes(b"")
    res = _snakemake(tmp_path, "-n", "paper_a", config=["scale=tiny", "dataset=musdb", f"musdb_root={tree}"])
    out = res.stdout + res.stderr
    assert res.returncode != 0 and "3 problem(s)" in out and "differ in length" in out
    assert str(bad) in out and "ffmpeg -i in.wav -ac 2" in out
    assert "0 bytes" in out and "Traceback" not in out


@pytest.mark.slow
def test_a_wrong_fma_root_is_named_while_the_dag_is_built(real_names_tree, fake_fma, tmp_path):
    for root, what in [(fake_fma / "fma_large", "is a subset folder itself; pass its parent"),
                       (fake_fma.parent, "the subsets are one level down"),
                       (tmp_path, "no fma_large/ folder")]:
        res = _snakemake(tmp_path, "-n", "paper_b",
                         config=["scale=paper", f"musdb_root={real_names_tree}", f"fma_root={root}"])
        assert res.returncode != 0 and what in res.stdout + res.stderr, (root, res.stdout[-2000:] + res.stderr[-2000:])


@pytest.mark.slow
def test_a_failing_job_puts_its_message_on_the_console(real_names_tree, tmp_path):
    """show-failed-logs: the file and the fix reach the console, not only the exit status and a log path."""
    import shutil

    tree = shutil.copytree(real_names_tree, tmp_path / "musdb18hq")
    config = ["scale=tiny", "dataset=musdb", f"musdb_root={tree}"]
    exe = Path(sys.executable).parent / "snakemake"
    base = [str(exe), "--cores", "1", "-s", str(REPO / "workflow" / "Snakefile"), "--directory", str(tmp_path),
            "--configfile", *map(str, CONFIGS), "--config", *config, "--"]
    subprocess.run(base + ["results/tiny-musdb/corpus/musdb18hq"], capture_output=True, check=True)
    bad = tmp_path / "results" / "tiny-musdb" / "corpus" / "musdb18hq" / "train" / REAL_NAMES["train"][1] / "bass.wav"
    bad.write_bytes(b"")                 # broken after the check: only the job can find it
    res = subprocess.run(base + ["results/tiny-musdb/store/train"], capture_output=True, text=True)
    assert res.returncode != 0
    assert f"mixlab store: error: {bad.relative_to(tmp_path)}: empty file (0 bytes)" in res.stdout + res.stderr


def _rules(dry_run_output: str) -> set:
    return {line.split()[1].rstrip(":") for line in dry_run_output.splitlines() if line.startswith("rule ")}


@pytest.mark.slow
def test_the_rehearsal_runs_every_rule_the_paper_scale_plans(real_names_tree, fake_fma, tmp_path):
    """scale=rehearsal on the same real tree plans every rule scale=paper does (its corpora are imported excerpts
    and a synthetic FMA-like MP3 corpus: two rules more), at the paper's model sizes and sample rate."""
    paper = _snakemake(tmp_path / "p", "-n", "paper_a", "paper_b",
                       config=["scale=paper", f"musdb_root={real_names_tree}", f"fma_root={fake_fma}"])
    rehearsal = _snakemake(tmp_path / "r", "-n", "-p", "paper_a", "paper_b",
                           config=["scale=rehearsal", "dataset=musdb", f"musdb_root={real_names_tree}"])
    assert paper.returncode == 0 and rehearsal.returncode == 0, rehearsal.stdout[-3000:] + rehearsal.stderr[-3000:]
    assert _rules(paper.stdout) <= _rules(rehearsal.stdout), _rules(paper.stdout) - _rules(rehearsal.stdout)
    assert _rules(rehearsal.stdout) - _rules(paper.stdout) == {"import_musdb", "fma_synth"}
    text = "\n".join(shell_commands(rehearsal.stdout))
    assert '"dim_f": 4096' in text and '"num_channels": 128' in text and '"sample_rate": 44100' in text
    assert '"emb_dim": 96' in text and '"n_outputs": 12' in text and '"accumulate": 2' in text
    # without its data, the rehearsal on MUSDB18-HQ stops before any job with what to pass
    missing = _snakemake(tmp_path / "m", "-n", "paper_a", config=["scale=rehearsal", "dataset=musdb"])
    assert missing.returncode != 0 and "musdb_root" in missing.stdout + missing.stderr
