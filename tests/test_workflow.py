"""Integration: the real workflow, every rule, at the tiny scale in a temporary directory."""
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_fig1_at_tiny_scale(tmp_path):
    snakemake = Path(sys.executable).parent / "snakemake"
    cmd = [str(snakemake), "results/fig1.pdf", "--cores", "2", "-s", str(REPO / "Snakefile"),
           "--directory", str(tmp_path), "--configfile", str(REPO / "config.yaml"), "--config", "scale=tiny"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    results = tmp_path / "results"
    assert (results / "fig1.pdf").read_bytes().startswith(b"%PDF")
    table = pd.read_csv(results / "fig1.csv", index_col="p")
    assert list(table.index) == [0.0, 1.0]
    assert list(table.columns) == ["vocals", "drums", "bass", "other", "avg"]
    assert table.notna().all().all()
    # one museval JSON per test track and model
    scores = sorted((results / "tiny" / "scores" / "fig1" / "p0.00").glob("*.json"))
    assert len(scores) == 2
    data = json.loads(scores[0].read_text())
    assert [t["name"] for t in data["targets"]] == ["vocals", "drums", "bass", "other"]
    # nothing left to do afterwards
    again = subprocess.run(cmd + ["-n"], capture_output=True, text=True)
    assert "Nothing to be done" in again.stdout + again.stderr
