"""dataset=rendered in the workflow: the corpus rule renders at the scale's rate, the stem stores read it, the
run has its own folder; a missing renderer piece stops the run before any job, with its install command."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CONFIGS, REPO
from tests.data.test_rendered import needs_tools

SNAKEMAKE = [str(Path(sys.executable).parent / "snakemake"), "-s", str(REPO / "workflow" / "Snakefile")]


def _config(tmp_path):
    return ["--directory", str(tmp_path), "--configfile", *map(str, CONFIGS), "--config", "scale=tiny",
            "dataset=rendered"]


@pytest.mark.slow
@needs_tools
def test_the_tiny_scale_renders_its_corpus_and_stores_it(tmp_path):
    res = subprocess.run(SNAKEMAKE + ["--cores", "2", "results/tiny-rendered/store/train"] + _config(tmp_path),
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    corpus = tmp_path / "results" / "tiny-rendered" / "corpus" / "rendered"
    manifest = json.loads((corpus / "mixlab_corpus.json").read_text())
    assert manifest["sample_rate"] == 8000 and manifest["singer"] == "patch"          # the tiny scale's settings
    store = json.loads((tmp_path / "results" / "tiny-rendered" / "store" / "train" / "store.json").read_text())
    assert sorted(t["name"] for t in store["tracks"]) == sorted(manifest["splits"]["train"])
    dry = subprocess.run(SNAKEMAKE + ["-n", "paper_a", "paper_b"] + _config(tmp_path), capture_output=True, text=True)
    assert dry.returncode == 0 and "render_corpus" not in dry.stdout.split("Job stats:")[-1]   # built once, reused


def test_a_missing_renderer_stops_the_run_before_any_job(tmp_path):
    import shutil

    bin_ = tmp_path / "bin"                                   # the shell's tools, but no mma
    bin_.mkdir()
    for tool in ("bash", "sh", "which", "env", "uname", "cat", "git"):
        if shutil.which(tool):
            (bin_ / tool).symlink_to(shutil.which(tool))
    env = {"PATH": f"{Path(sys.executable).parent}:{bin_}", "HOME": str(tmp_path)}
    res = subprocess.run(SNAKEMAKE + ["-n", "paper_a"] + _config(tmp_path), capture_output=True, text=True, env=env)
    assert res.returncode != 0 and "apt-get install mma" in res.stdout + res.stderr
    assert not (tmp_path / "results").exists()
