"""Integration: the real workflow, every rule, at the tiny scale on real-format MUSDB18-HQ.

The tree (tests/conftest.py) holds 16-bit 44.1 kHz WAVs in MUSDB18-HQ layout under real-world
names with ', &, ',', (, ), '.', ';' and two names that differ in one space; `dataset=musdb` makes
the tiny scale read it (resampled to 8 kHz). The synthetic corpus runs the same rules in
tests/test_slurm.py and `make demo`.
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from tests.conftest import CONFIGS, REAL_NAMES, REPO, dry_run_job_counts

TARGETS = [f"results/tiny-musdb/fig{i}.pdf" for i in range(1, 6)]   # the run's own folder


def _snakemake(tmp_path, tree, *targets):
    snakemake = Path(sys.executable).parent / "snakemake"
    return [str(snakemake), *targets, "--cores", "2", "-s", str(REPO / "workflow" / "Snakefile"),
            "--directory", str(tmp_path), "--configfile", *map(str, CONFIGS),
            "--config", "scale=tiny", "dataset=musdb", f"musdb_root={tree}"]


@pytest.fixture(scope="module")
def paper_a_run(tmp_path_factory, real_names_tree):
    """One uninterrupted `paper_a` run: checked by the figures test, the reference of the kill test."""
    workdir = tmp_path_factory.mktemp("paper_a")
    cmd = _snakemake(workdir, real_names_tree, "paper_a")
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return workdir, cmd


@pytest.mark.slow
def test_paper_a_figures_at_tiny_scale(paper_a_run):
    tmp_path, cmd = paper_a_run
    results = tmp_path / "results"
    run = results / "tiny-musdb"
    for t in TARGETS:
        assert (tmp_path / t).read_bytes().startswith(b"%PDF")

    # Fig. 1: one museval JSON per test track and model, median of medians per p
    table = pd.read_csv(run / "fig1.csv", index_col="p")
    assert list(table.index) == [0.0, 1.0]
    assert list(table.columns) == ["vocals", "drums", "bass", "other", "avg"]
    assert table.notna().all().all()
    scores = sorted((results / "tiny-musdb" / "scores" / "test" / "fig1" / "p0.00").glob("*.json"))
    assert sorted(p.name[:-len(".json")] for p in scores) == sorted(REAL_NAMES["test"])
    store = json.loads((results / "tiny-musdb" / "store" / "train" / "store.json").read_text())
    assert sorted(t["name"] for t in store["tracks"]) == sorted(REAL_NAMES["train"][:4])   # both space variants
    data = json.loads(scores[0].read_text())
    assert [t["name"] for t in data["targets"]] == ["vocals", "drums", "bass", "other"]

    # Fig. 2: snapshots every 2 of 4 steps, scored on both splits and both kinds of mixes
    snaps = sorted(p.name for p in (results / "tiny-musdb" / "models" / "fig1" / "p1.00.snapshots").glob("*.pt"))
    assert snaps == ["step00000002.pt", "step00000004.pt"]
    history = pd.read_csv(results / "tiny-musdb" / "models" / "fig1" / "p1.00.history.csv")   # the engine's
    assert list(history["step"]) == [2, 4] and history["loss"].notna().all()
    curves = pd.read_csv(run / "fig2.csv")
    assert set(curves["p"]) == {0.0, 1.0} and set(curves["step"]) == {2, 4}
    assert set(map(tuple, curves[["split", "kind"]].drop_duplicates().to_numpy())) == {
        ("train", "original"), ("train", "random"), ("valid", "original"), ("valid", "random")}
    assert curves["sdr_improvement"].notna().all()

    # Fig. 3: fixed-mix models on all songs and on a reduced set
    fig3 = pd.read_csv(run / "fig3.csv")
    assert sorted(fig3["model"]) == ["full_r0.5", "half0_r0.5"]
    assert fig3["avg"].notna().all()
    spec = json.loads(subprocess.run(
        [sys.executable, "-c", "import json,sys; from mixlab.train.checkpoint import load;"
         "print(load(sys.argv[1])['spec'])", str(results / "tiny-musdb" / "models" / "fig3" / "half0_r0.5.pt")],
        capture_output=True, text=True, check=True).stdout)
    assert spec["train"]["fixed_mixes"] == 4 and len(spec["tracks"]) == 2   # 0.5 x 4 steps x batch 2; 2 of 4 songs

    # Fig. 4: both models on the unmodified and the shifted test sets, which are corpora one can listen to
    fig4 = pd.read_csv(run / "fig4.csv")
    assert set(fig4["model"]) == {"p=0", "p=1"}
    assert set(map(tuple, fig4[["kind", "value"]].drop_duplicates().to_numpy())) == {
        ("time", 0.0), ("time", 0.1), ("pitch", 0.0), ("pitch", 2.0)}
    assert fig4["avg"].notna().all()
    shifted = results / "tiny-musdb" / "testsets" / "pitch2_s0"
    manifest = json.loads((shifted / "mixlab_corpus.json").read_text())
    track = manifest["splits"]["test"][0]
    assert (shifted / "test" / track / "mixture.wav").exists()
    assert all(abs(k) <= 2 for k in manifest["shift"]["per_track"][track])

    # Fig. 5: within-song random mixing and per-stem pitch shifts in training, next to p = 1
    fig5 = pd.read_csv(run / "fig5.csv")
    assert sorted(fig5["model"]) == ["p1.00", "pitch1_consistent", "pitch1_inconsistent", "timeinf"]
    assert fig5["avg"].notna().all()
    bank = json.loads((results / "tiny-musdb" / "store" / "train_pitch+1" / "store.json").read_text())
    assert {t["semitones"] for t in bank["tracks"]} == {1}

    # Table 1: both kinds of training data, per-stem mean ± std
    md = (run / "table1.md").read_text()
    assert "Original" in md and "Random" in md
    assert "n = 1 training seed" in md and "± 0.00" not in md           # one seed at this scale: no spread shown
    assert "\\begin{tabular}" in (run / "table1.tex").read_text()
    summary = pd.read_csv(run / "table1.csv", index_col=0)
    assert list(summary.index) == ["original", "random"] and summary["avg_mean"].notna().all()

    # `mixlab separate` by hand with a model the workflow trained gives the workflow's own estimates: the model
    # file carries the chunking the workflow separated with
    track = sorted(REAL_NAMES["test"])[0]
    corpus_track = run / "corpus" / "musdb18hq" / "test" / track
    subprocess.run([sys.executable, "-m", "mixlab", "separate", str(corpus_track), "--model",
                    str(run / "models" / "fig1" / "p1.00.pt"), "--out", str(tmp_path / "by_hand"), "--device", "cpu"],
                   capture_output=True, text=True, check=True)
    import numpy as np
    import soundfile as sf

    for stem in ("vocals", "drums", "bass", "other"):      # sample for sample (the WAV headers carry a time stamp)
        ours, rate = sf.read(tmp_path / "by_hand" / "p1.00" / track / f"{stem}.wav", dtype="float32")
        theirs, their_rate = sf.read(run / "separated" / "test" / "fig1" / "p1.00" / track / f"{stem}.wav", dtype="float32")
        assert rate == their_rate and np.array_equal(ours, theirs), stem

    # nothing left to do afterwards, and forcing one rule redoes only what depends on it
    again = subprocess.run(cmd + ["-n"], capture_output=True, text=True)
    assert "Nothing to be done" in again.stdout + again.stderr
    forced = subprocess.run(cmd + ["-n", "-R", "fig3"], capture_output=True, text=True)
    assert dry_run_job_counts(forced.stdout) == {"fig3": 1, "effects_a": 1, "paper_a": 1}   # effects_a reads fig3.csv; paper_a: no output


@pytest.mark.slow
def test_paper_b_tables_at_tiny_scale(tmp_path, real_names_tree):
    cmd = _snakemake(tmp_path, real_names_tree, "paper_b")
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    results, run = tmp_path / "results", tmp_path / "results" / "tiny-musdb"

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

    t1 = pd.read_csv(run / "mixit" / "table1.csv")
    assert list(t1["ID"]) == ["S1", "S2", "M1", "M2"] and list(t1["Pretrain"]) == ["-", "MixIT"] * 2
    values = [c for c in t1.columns if c.endswith("SDR")]
    assert len(values) == 10 and t1[values].notna().all().all()
    t2 = pd.read_csv(run / "mixit" / "table2.csv")
    assert list(t2["Pretrain"]) == ["-", "MixIT"]
    t3 = pd.read_csv(run / "mixit" / "table3.csv")
    assert list(t3["Data scale"]) == ["-", "Small", "Large"]
    # Table 3's "-" and "Large" rows are Table 1's M1 and M2
    assert t3.loc[0, "average_uSDR"] == t1.loc[2, "average_uSDR"] and t3.loc[2, "average_cSDR"] == t1.loc[3, "average_cSDR"]

    again = subprocess.run(cmd + ["-n"], capture_output=True, text=True)
    assert "Nothing to be done" in again.stdout + again.stderr

    # the authors' released models (stand-in folders in their layout at this scale's sizes): Tables 1/3 beside
    # the paper's numbers, and fine-tuning from a released MixIT model instead of pre-training here
    from mixlab.config import load
    from tests.papers.mixit.test_released import _fake_released_root

    P = load(CONFIGS, {"scale": "tiny"})
    made = _fake_released_root(tmp_path / "model_weights", P)
    released = f"released_root={tmp_path / 'model_weights'}"
    small = 'presets={"tiny": {"mixit": {"table1": {"sizes": ["small"]}}}}'      # S1 and S2 only: time
    # run=: into the run above (its corpus and stores), not a new run the overrides would otherwise name
    res = subprocess.run(_snakemake(tmp_path, real_names_tree, "results/tiny-musdb/mixit/released/table1.md")
                         + [released, small, "scorer_crosscheck=0", "run=tiny-musdb"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    out = run / "mixit" / "released"
    r1 = pd.read_csv(out / "table1.csv")
    assert list(r1["ID"]) == ["S1", "S2"]
    assert r1.loc[r1["ID"] == "S2", "average_cSDR_paper"].item() == P["paper_b_published"]["small_fma-large_full"]["average"][0]
    assert (r1["vocals_uSDR_diff"] - (r1["vocals_uSDR"] - r1["vocals_uSDR_paper"])).abs().max() < 1e-3
    assert " / 9.20 (" in (out / "table1.md").read_text()                   # S2 vocals cSDR: ours / paper (diff)
    spec = json.loads(torch.load(run / "models" / "released" / "small_scratch_full.pt", weights_only=True)["spec"])
    assert spec["model"]["drop_last_frame"] and spec["source"]["released"] == str(made["small_scratch_full"])

    # mixit_pretrained=released: the pre-trained models come from the released folders (fine-tuning from one runs
    # in tests/test_released.py); a missing folder is named while the DAG is built, with the download command
    shutil.rmtree(made["medium_small"])
    res = subprocess.run(_snakemake(tmp_path / "fresh", real_names_tree, "paper_b") + [released, "mixit_pretrained=released",
                         "-n"], capture_output=True, text=True)
    said = res.stdout + res.stderr
    assert res.returncode != 0 and "mixit.fma-small.bslocoformer-medium.12outputs" in said
    assert "download_pretrained_weights.py" in said
    assert "cSDR" in (run / "mixit" / "table1.md").read_text()
    assert "\\begin{tabular}" in (run / "mixit" / "table2.tex").read_text()



@pytest.mark.slow
def test_kill_9_unlock_and_rerun_equals_an_uninterrupted_run(tmp_path, real_names_tree, paper_a_run):
    """A power cut at a random moment: the rerun needs --unlock, then finishes with every CSV identical to an
    uninterrupted run (the `paper_a` run, a superset of this target's jobs), and no training that had finished
    starts again from step 0."""
    import os
    import random
    import signal
    import time

    target = "results/tiny-musdb/fig1.pdf"
    ref, cut = paper_a_run[0], tmp_path / "cut"
    # the moment: a random number of finished jobs, then a random fraction of a second (mid-job, often mid-training)
    cut.mkdir()
    n_jobs = dry_run_job_counts(subprocess.run(_snakemake(cut, real_names_tree, target, "-n"), capture_output=True,
                                        text=True, check=True).stdout)
    total = sum(n_jobs.values())
    rng = random.Random()
    after, delay = rng.randint(1, total - 3), rng.uniform(0.0, 0.5)
    console = tmp_path / "console.txt"
    with console.open("w") as out:
        proc = subprocess.Popen(_snakemake(cut, real_names_tree, target), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        deadline = time.time() + 600
        while console.read_text().count("Finished jobid") < after:
            assert proc.poll() is None and time.time() < deadline, f"never reached {after} finished jobs"
            time.sleep(0.05)
        time.sleep(delay)
        moment = f"after {after} of {total} jobs + {delay:.2f} s"
        assert proc.poll() is None, f"finished before the kill ({moment})"
        os.killpg(proc.pid, signal.SIGKILL)                     # snakemake and every job it runs
        proc.wait()

    locked = subprocess.run(_snakemake(cut, real_names_tree, target), capture_output=True, text=True)
    assert locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr
    subprocess.run(_snakemake(cut, real_names_tree, target, "--unlock"), capture_output=True, check=True)
    res = subprocess.run(_snakemake(cut, real_names_tree, target), capture_output=True, text=True)
    assert res.returncode == 0, f"killed {moment}\n" + res.stdout[-3000:] + res.stderr[-3000:]

    csvs = sorted(p.relative_to(cut) for p in cut.rglob("*.csv"))
    assert len(csvs) >= 3
    for rel in csvs:
        if rel.name.endswith(".history.csv"):      # training histories: equal but for the measured steps/s
            a, b = (pd.read_csv(d / rel).drop(columns="steps_per_s") for d in (ref, cut))
            pd.testing.assert_frame_equal(a, b, check_exact=True, obj=f"{rel} (killed {moment})")
            continue
        assert (cut / rel).read_bytes() == (ref / rel).read_bytes(), f"{rel} differs (killed {moment})"
    for log in (cut / "results" / "tiny-musdb" / "logs" / "train").rglob("*.log"):
        lines = log.read_text().splitlines()
        finished = [i for i, line in enumerate(lines) if line.startswith("[train] wrote")]
        starts = [i for i, line in enumerate(lines) if " params, " in line]
        assert not finished or not [i for i in starts if i > finished[0]], f"{log.name}: retrained after finishing"
    assert not list((cut / "results" / "tiny-musdb" / "resume").rglob("final.pt")), "released after success"
