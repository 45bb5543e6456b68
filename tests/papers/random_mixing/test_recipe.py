import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from mixlab.train import checkpoint
from tests.conftest import run_cli

MODEL = {"name": "tfc_tdf_v3", "sample_rate": 8000, "n_fft": 256, "hop_length": 64, "dim_f": 128, "dim_t": 64, "num_channels": 4,
         "growth": 4, "num_scales": 2, "num_subbands": 2, "num_blocks_per_scale": 1, "bottleneck_factor": 2}


def _spec(steps, every=4):
    return {"model": MODEL, "train": {"steps": steps, "batch_size": 2, "lr": 1e-3, "ema_decay": 0.9,
                                      "grad_clip": 1.0, "checkpoint_every": every, "log_every": 1,
                                      "p_original": 0.5, "seed": 3}}


def _train_args(spec, store, out, resume):
    spec = {**spec, "recipe": "random_mixing", "inputs": {"stores": [str(store)]}}
    return ["train", "--spec", json.dumps(spec), "--out", out, "--resume-dir", resume, "--threads", "1"]


def _weights(path):
    return checkpoint.load(path)["state_dict"]


@pytest.mark.slow
def test_killed_run_resumes_to_identical_weights(tiny_store, tmp_path):
    spec = _spec(steps=60)
    run_cli(*_train_args(spec, tiny_store, tmp_path / "ref.pt", tmp_path / "ref_resume"))
    assert not (tmp_path / "ref_resume" / "last.pt").exists(), "resume state is dropped after success"

    out, resume = tmp_path / "killed.pt", tmp_path / "resume"
    exe = Path(sys.executable).parent / "mixlab"
    proc = subprocess.Popen([str(exe), *map(str, _train_args(spec, tiny_store, out, resume))],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 120
    while not (resume / "last.pt").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "training finished before it could be killed"
    assert not out.exists()
    killed_at = checkpoint.load(resume / "last.pt")["step"]
    assert 0 < killed_at < 60

    rerun = run_cli(*_train_args(spec, tiny_store, out, resume))
    assert f"resumed from {resume / 'last.pt'} at step" in rerun.stdout
    ref, got = _weights(tmp_path / "ref.pt"), _weights(out)
    assert ref.keys() == got.keys()
    for k in ref:
        torch.testing.assert_close(got[k], ref[k], rtol=0, atol=0, msg=k)


def test_resume_refuses_a_different_spec(tiny_store, tmp_path):
    from tests.conftest import train_a as train

    resume = tmp_path / "resume"
    with pytest.raises(KeyboardInterrupt):
        def log(msg):
            if "step 4/" in msg:
                raise KeyboardInterrupt
        train(_spec(steps=8, every=2), tiny_store, tmp_path / "a.pt", resume, log=log)
    assert (resume / "last.pt").exists()
    with pytest.raises(RuntimeError, match="different spec"):
        train(_spec(steps=9, every=2), tiny_store, tmp_path / "a.pt", resume, log=lambda m: None)


def test_model_file_loads_and_separates(tiny_store, tiny_corpus, tmp_path):
    run_cli(*_train_args(_spec(steps=2), tiny_store, tmp_path / "m.pt", tmp_path / "r"))
    from mixlab.data.tracks import list_tracks
    name = list_tracks(tiny_corpus, "test")[0]
    res = run_cli("separate", tiny_corpus / "test" / name, "--model", tmp_path / "m.pt", "--out", tmp_path / "sep",
                  "--dim-t", 64, "--threads", 1)
    assert name in res.stdout
    for stem in ("vocals", "drums", "bass", "other"):
        assert (tmp_path / "sep" / "m" / name / f"{stem}.wav").exists()


def test_finished_run_is_restored_not_retrained(tiny_store, tmp_path):
    """A job killed after writing its model but before Snakemake recorded it: Snakemake deletes the
    output and reruns the job, which restores the finished state instead of training from step 0."""
    from tests.conftest import train_a as train

    spec = {**_spec(steps=4, every=2), "train": {**_spec(4)["train"], "snapshot_every": 2}}
    out, resume, snaps = tmp_path / "m.pt", tmp_path / "resume", tmp_path / "m.snapshots"
    train(spec, tiny_store, out, resume, log=lambda m: None, snapshots=snaps)
    first = out.read_bytes()
    assert not (resume / "last.pt").exists() and (resume / checkpoint.FINAL).exists()
    assert (resume / checkpoint.FINAL).stat().st_ino == out.stat().st_ino        # a hard link: no extra space

    history = checkpoint.history_path(out).read_bytes()
    out.unlink()
    checkpoint.history_path(out).unlink()
    import shutil

    shutil.rmtree(snaps)
    lines = []
    train(spec, tiny_store, out, resume, log=lines.append, snapshots=snaps)
    assert out.read_bytes() == first and checkpoint.history_path(out).read_bytes() == history
    assert sorted(p.name for p in snaps.iterdir()) == ["step00000002.pt", "step00000004.pt"]
    assert any("restored the finished state" in m for m in lines)
    assert not any("step 1/" in m for m in lines), "trained again"

    # once the workflow has recorded the output the state is released: a forced rerun trains anew
    assert checkpoint.release_final_states(tmp_path) == 1
    assert not (resume / checkpoint.FINAL).exists() and not (resume / "snapshots").exists()
    assert out.exists() and len(list(snaps.iterdir())) == 2
    lines = []
    train(spec, tiny_store, out, resume, log=lines.append, snapshots=snaps)
    assert any("step 1/" in m for m in lines) and out.read_bytes() != b""


def test_final_state_of_another_spec_is_not_restored(tiny_store, tmp_path):
    from tests.conftest import train_a as train

    out, resume = tmp_path / "m.pt", tmp_path / "resume"
    train(_spec(steps=2), tiny_store, out, resume, log=lambda m: None)
    out.unlink()
    lines = []
    train(_spec(steps=3), tiny_store, out, resume, log=lines.append)
    assert any("another spec" in m for m in lines) and checkpoint.load(out)["step"] == 3


@pytest.mark.slow
@pytest.mark.parametrize("paper", ["A", "B"])
def test_accumulate_2_x_batch_2_trains_like_batch_4(paper, tiny_store, tmp_path):
    """train.accumulate in each paper's recipe: two micro-batches of 2 take the steps of one batch of 4 (Paper B's
    pre-training without dropout, whose masks are drawn per forward); the validation runs in micro-batches."""
    if paper == "A":
        from tests.conftest import train_a as train

        def run(name, **kw):
            spec = _spec(steps=3)
            spec["train"].update(batch_size=4, **kw)
            return train(spec, tiny_store, tmp_path / f"{name}.pt", tmp_path / name, log=lambda m: None)
    else:
        from tests.conftest import train_b as train
        from tests.papers.mixit.test_recipe import _clip_store, _pre_spec

        clips = _clip_store(tmp_path / "clips", n_files=4)

        def run(name, **kw):
            spec = _pre_spec(steps=3)
            spec["model"]["dropout"] = 0.0
            spec["train"].update(batch_size=4, validate_every=3, keep_best=1, valid_files=2, valid_chunks=4, **kw)
            return train(spec, tmp_path / f"{name}.pt", tmp_path / name, clips=clips, log=lambda m: None)
    one, two = _weights(run("one")), _weights(run("two", accumulate=2))
    for k, v in one.items():
        torch.testing.assert_close(two[k], v, rtol=1e-4, atol=1e-6, msg=k)


def test_the_one_entry_names_a_recipe_or_key_it_does_not_know(tiny_store, tmp_path):
    from mixlab.config import ConfigError
    from mixlab.papers import train

    spec = {**_spec(2), "recipe": "random_mix", "inputs": {"stores": [str(tiny_store)]}}
    with pytest.raises(ConfigError, match="'random_mix' is not a recipe; choose one of random_mixing, mixit.pretrain"):
        train(spec, tmp_path / "m.pt", tmp_path / "r")
    spec = {**spec, "recipe": "mixit.pretrain"}          # Paper A's keys are not Paper B's
    with pytest.raises(ConfigError, match="unknown train key.*'ema_decay'.*'mixit.pretrain'"):
        train(spec, tmp_path / "m.pt", tmp_path / "r")
    assert not (tmp_path / "r").exists()                  # refused before anything was written
