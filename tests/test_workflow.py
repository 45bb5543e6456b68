"""Integration: the real workflow, every rule, at the tiny scale in a temporary directory."""
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO

TARGETS = [f"results/fig{i}.pdf" for i in range(1, 6)]


def _snakemake(tmp_path, *args):
    snakemake = Path(sys.executable).parent / "snakemake"
    return [str(snakemake), *args, "--cores", "2", "-s", str(REPO / "workflow" / "Snakefile"),
            "--directory", str(tmp_path), "--configfile", str(REPO / "config.yaml"), "--config", "scale=tiny"]


@pytest.mark.slow
def test_paper_a_figures_at_tiny_scale(tmp_path):
    cmd = _snakemake(tmp_path, "paper_a")
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    results = tmp_path / "results"
    for t in TARGETS:
        assert (tmp_path / t).read_bytes().startswith(b"%PDF")

    # Fig. 1: one museval JSON per test track and model, median of medians per p
    table = pd.read_csv(results / "fig1.csv", index_col="p")
    assert list(table.index) == [0.0, 1.0]
    assert list(table.columns) == ["vocals", "drums", "bass", "other", "avg"]
    assert table.notna().all().all()
    scores = sorted((results / "tiny" / "scores" / "test" / "fig1" / "p0.00").glob("*.json"))
    assert len(scores) == 2
    data = json.loads(scores[0].read_text())
    assert [t["name"] for t in data["targets"]] == ["vocals", "drums", "bass", "other"]

    # Fig. 2: snapshots every 2 of 4 steps, scored on both splits and both kinds of mixes
    snaps = sorted(p.name for p in (results / "tiny" / "models" / "fig1" / "p1.00.snapshots").glob("*.pt"))
    assert snaps == ["step00000002.pt", "step00000004.pt"]
    curves = pd.read_csv(results / "fig2.csv")
    assert set(curves["p"]) == {0.0, 1.0} and set(curves["step"]) == {2, 4}
    assert set(map(tuple, curves[["split", "kind"]].drop_duplicates().to_numpy())) == {
        ("train", "original"), ("train", "random"), ("valid", "original"), ("valid", "random")}
    assert curves["sdr_improvement"].notna().all()

    # Fig. 3: fixed-mix models on all songs and on a reduced set
    fig3 = pd.read_csv(results / "fig3.csv")
    assert sorted(fig3["model"]) == ["full_r0.5", "half0_r0.5"]
    assert fig3["avg"].notna().all()
    spec = json.loads(subprocess.run(
        [sys.executable, "-c", "import json,sys; from mixlab.train.checkpoint import load;"
         "print(load(sys.argv[1])['spec'])", str(results / "tiny" / "models" / "fig3" / "half0_r0.5.pt")],
        capture_output=True, text=True, check=True).stdout)
    assert spec["train"]["fixed_mixes"] == 4 and len(spec["tracks"]) == 2   # 0.5 x 4 steps x batch 2; 2 of 4 songs

    # Fig. 4: both models on the unmodified and the shifted test sets, which are corpora one can listen to
    fig4 = pd.read_csv(results / "fig4.csv")
    assert set(fig4["model"]) == {"p=0", "p=1"}
    assert set(map(tuple, fig4[["kind", "value"]].drop_duplicates().to_numpy())) == {
        ("time", 0.0), ("time", 0.1), ("pitch", 0.0), ("pitch", 2.0)}
    assert fig4["avg"].notna().all()
    shifted = results / "tiny" / "testsets" / "pitch2_s0"
    manifest = json.loads((shifted / "mixlab_corpus.json").read_text())
    track = manifest["splits"]["test"][0]
    assert (shifted / "test" / track / "mixture.wav").exists()
    assert all(abs(k) <= 2 for k in manifest["shift"]["per_track"][track])

    # Fig. 5: within-song random mixing and per-stem pitch shifts in training, next to p = 1
    fig5 = pd.read_csv(results / "fig5.csv")
    assert sorted(fig5["model"]) == ["p1.00", "pitch1_consistent", "pitch1_inconsistent", "timeinf"]
    assert fig5["avg"].notna().all()
    bank = json.loads((results / "tiny" / "store" / "train_pitch+1" / "store.json").read_text())
    assert {t["semitones"] for t in bank["tracks"]} == {1}

    # Table 1: both kinds of training data, per-stem mean ± std
    md = (results / "table1.md").read_text()
    assert "Original" in md and "Random" in md and "±" in md
    assert (results / "table1.tex").read_text().startswith("\\begin{tabular}")
    summary = pd.read_csv(results / "table1.csv", index_col=0)
    assert list(summary.index) == ["original", "random"] and summary["avg_mean"].notna().all()

    # nothing left to do afterwards, and forcing one rule redoes only what depends on it
    again = subprocess.run(cmd + ["-n"], capture_output=True, text=True)
    assert "Nothing to be done" in again.stdout + again.stderr
    forced = subprocess.run(cmd + ["-n", "-R", "fig3"], capture_output=True, text=True)
    assert _job_counts(forced.stdout) == {"fig3": 1, "paper_a": 1}   # paper_a: a target rule with no output


@pytest.mark.slow
def test_paper_b_tables_at_tiny_scale(tmp_path):
    cmd = _snakemake(tmp_path, "paper_b")
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    results, run = tmp_path / "results", tmp_path / "results" / "tiny"

    # FMA-like corpus: planted bad files rejected with their reasons, the run went on
    rejects = pd.read_csv(run / "fma" / "small" / "rejects.tsv", sep="\t")
    planted = json.loads((run / "corpus" / "fma" / "fma_synth.json").read_text())["planted"]
    assert len(rejects) == len(planted) >= 5
    assert {r.split(":")[0].split(" (")[0] for r in rejects["reason"]} >= {"empty file", "undecodable", "truncated", "silent"}
    clips = json.loads((run / "fma" / "large" / "clips.json").read_text())
    assert len(clips["files"]) == 3 and len(clips["clips"]) >= 3

    activity = json.loads((run / "mixit" / "activity.json").read_text())
    assert all(len(activity["segments"][s]) > 0 for s in ("vocals", "drums", "bass", "other"))
    channels = json.loads((run / "mixit" / "channels" / "medium_large.json").read_text())
    assert len(set(channels["channels"])) == 4 and len(channels["votes"]) == 4 and len(channels["votes"][0]) == 6

    # a model two tables share is trained once
    models = sorted(p.stem for p in (run / "models" / "mixit").glob("*.pt"))
    assert models == sorted(["small_scratch_full", "small_fma-large_full", "medium_scratch_full",
                             "medium_fma-large_full", "small_scratch_frozen", "small_fma-large_frozen",
                             "medium_fma-small_full"])
    usdr = pd.read_csv(run / "usdr" / "test" / "mixit" / "medium_fma-large_full.csv")
    assert len(usdr) == 2 * 4 and usdr["uSDR"].notna().all()

    t1 = pd.read_csv(results / "mixit" / "table1.csv")
    assert list(t1["ID"]) == ["S1", "S2", "M1", "M2"] and list(t1["Pretrain"]) == ["-", "MixIT"] * 2
    values = [c for c in t1.columns if c.endswith("SDR")]
    assert len(values) == 10 and t1[values].notna().all().all()
    t2 = pd.read_csv(results / "mixit" / "table2.csv")
    assert list(t2["Pretrain"]) == ["-", "MixIT"]
    t3 = pd.read_csv(results / "mixit" / "table3.csv")
    assert list(t3["Data scale"]) == ["-", "Small", "Large"]
    # Table 3's "-" and "Large" rows are Table 1's M1 and M2
    assert t3.loc[0, "average_uSDR"] == t1.loc[2, "average_uSDR"] and t3.loc[2, "average_cSDR"] == t1.loc[3, "average_cSDR"]
    assert "cSDR" in (results / "mixit" / "table1.md").read_text()
    assert (results / "mixit" / "table2.tex").read_text().startswith("\\begin{tabular}")

    again = subprocess.run(cmd + ["-n"], capture_output=True, text=True)
    assert "Nothing to be done" in again.stdout + again.stderr


def _job_counts(dry_run_output: str) -> dict:
    """The 'Job stats' table of a dry run as {rule: count}."""
    lines = dry_run_output[dry_run_output.index("Job stats"):].splitlines()[3:]
    counts = {}
    for line in lines:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        counts[parts[0]] = int(parts[1])
    return counts
