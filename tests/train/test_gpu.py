"""CUDA paths: AMP training of both papers' models through `mixlab launch` (device claim), and a
SIGUSR1 stop/resume on the GPU. Skipped where there is no CUDA device (CI); run on a GPU machine with
`python -m pytest tests/test_gpu.py`."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mixlab.train import checkpoint
from mixlab.train.preemption import EXIT_PREEMPTED
from tests.papers.mixit.test_recipe import _clip_store, _pre_spec
from tests.papers.random_mixing.test_recipe import _spec, _train_args

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
SRC = str(Path(__file__).resolve().parents[2] / "src")


def _env(tmp_path):
    return {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]),
            "MIXLAB_GPU_LOCKS": str(tmp_path / "locks")}


def _launch(args):
    return [sys.executable, "-m", "mixlab", "launch", "--gpus", "1", "--", sys.executable, "-m", "mixlab", *map(str, args)]


def test_paper_a_amp_training_stops_on_sigusr1_and_resumes_on_cuda(tiny_store, tmp_path):
    spec = _spec(steps=30, every=1000)
    env = _env(tmp_path)
    cuda = lambda out, r: _train_args(spec, tiny_store, out, r) + ["--device", "cuda"]  # noqa: E731
    ref = subprocess.run(_launch(cuda(tmp_path / "ref.pt", tmp_path / "rr")), env=env, capture_output=True, text=True)
    assert ref.returncode == 0, ref.stdout + ref.stderr
    assert "claimed GPU(s) 0" in ref.stdout and "on cuda" in ref.stdout
    proc = subprocess.Popen(_launch(cuda(tmp_path / "m.pt", tmp_path / "r")), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        if "step 3/" in line:
            proc.send_signal(signal.SIGUSR1)
            break
    proc.communicate(timeout=300)
    assert proc.returncode == EXIT_PREEMPTED
    step = checkpoint.load(tmp_path / "r" / "last.pt")["step"]
    again = subprocess.run(_launch(cuda(tmp_path / "m.pt", tmp_path / "r")), env=env, capture_output=True, text=True)
    assert again.returncode == 0 and f"at step {step}" in again.stdout, again.stdout + again.stderr
    a, b = checkpoint.load(tmp_path / "ref.pt")["state_dict"], checkpoint.load(tmp_path / "m.pt")["state_dict"]
    for k in a:   # the same batches and steps; cuDNN kernels may sum in another order
        torch.testing.assert_close(b[k], a[k], rtol=1e-3, atol=1e-4, msg=k)


def test_paper_b_mixit_pretraining_with_amp_on_cuda(tmp_path):
    clips = _clip_store(tmp_path / "clips")
    spec = _pre_spec(steps=4)
    res = subprocess.run(_launch(["train", "--spec", json.dumps({**spec, "inputs": {"clips": str(clips)}}), "--out",
                                  tmp_path / "pre.pt", "--resume-dir", tmp_path / "r", "--device", "cuda"]),
                         env=_env(tmp_path), capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    state = checkpoint.load(tmp_path / "pre.pt")["state_dict"]
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
