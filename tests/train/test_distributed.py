"""Multi-process training (torchrun, DDP on gloo) and preemption (SIGTERM / SIGUSR1 -> checkpoint, exit, resume)."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mixlab.papers.mixit.dynamic_mixing import DynamicMixSampler
from mixlab.papers.mixit.fma import ClipStore
from mixlab.papers.mixit.mixit_pairs import MixITPairSampler
from mixlab.papers.random_mixing.sampling import MixSampler
from mixlab.data.stem_store import StemStore
from mixlab.launch import claim_gpus, command_for
from mixlab.train import checkpoint
from mixlab.train.distributed import Ranks
from mixlab.train.preemption import EXIT_PREEMPTED
from tests.conftest import run_cli
from tests.papers.mixit.test_mixit_parts import activity  # noqa: F401  (fixture)
from tests.papers.mixit.test_recipe import _clip_store, _pre_spec
from tests.papers.random_mixing.test_recipe import _spec, _train_args

MIXLAB = str(Path(sys.executable).parent / "mixlab")


def _rows_concat(batch_fn, world, B):
    return [batch_fn(Ranks(r, world, r).part(B)) for r in range(world)]


def test_rank_rows_are_the_rows_of_the_global_batch(tiny_store, activity, tmp_path):  # noqa: F811
    store = StemStore(tiny_store)
    for sampler in (MixSampler(store, 4096, 0.5, seed=2), MixSampler(store, 4096, 0.0, seed=2, fixed_mixes=3)):
        full = sampler.batch(7, 4)
        parts = _rows_concat(lambda rows: sampler.batch(7, 4, rows), 2, 4)
        np.testing.assert_array_equal(np.concatenate([p.mixture for p in parts]), full.mixture)
        np.testing.assert_array_equal(np.concatenate([p.songs for p in parts]), full.songs)
    dyn = DynamicMixSampler(store, activity, 2000, seed=1)
    parts = _rows_concat(lambda rows: dyn.batch(3, 4, rows).targets, 4, 4)
    np.testing.assert_array_equal(np.concatenate(parts), dyn.batch(3, 4).targets)
    pairs = MixITPairSampler(ClipStore(_clip_store(tmp_path / "clips")), 2000, seed=5)
    np.testing.assert_array_equal(np.concatenate(_rows_concat(lambda rows: pairs.batch(2, 4, rows), 2, 4)),
                                  pairs.batch(2, 4))
    with pytest.raises(ValueError, match="not divisible by 3 GPU process"):
        Ranks(0, 3, 0).part(4)


def _torchrun(n, args, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MIXLAB_DIST_BACKEND": "gloo"}
    res = subprocess.run(command_for(n, [MIXLAB, *map(str, args)]), capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res


def _assert_same_weights(a, b, atol):
    a, b = checkpoint.load(a)["state_dict"], checkpoint.load(b)["state_dict"]
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=0, atol=atol, msg=k)


@pytest.mark.slow
@pytest.mark.parametrize("paper", ["A", "B"])
def test_two_gloo_processes_train_like_one_with_the_same_global_batch(paper, tiny_store, tmp_path):
    if paper == "A":
        spec = _spec(steps=3)
        spec["train"]["batch_size"] = 4
        args = lambda out, r: _train_args(spec, tiny_store, out, r)  # noqa: E731
    else:
        clips = _clip_store(tmp_path / "clips")
        spec = _pre_spec(steps=3)
        spec["train"]["batch_size"] = 4
        spec["model"]["dropout"] = 0.0      # each rank draws its own dropout masks: equal only without dropout
        spec["inputs"] = {"clips": str(clips)}
        args = lambda out, r: ["train", "--spec", json.dumps(spec), "--out", out,  # noqa: E731
                               "--resume-dir", r, "--threads", "1"]
    run_cli(*args(tmp_path / "one.pt", tmp_path / "r1"))
    res = _torchrun(2, args(tmp_path / "two.pt", tmp_path / "r2"), tmp_path)
    # rank 0 alone logs: one line per step, and the header names the split
    assert res.stdout.count("step 3/3") == 1, res.stdout
    assert "2 processes x 2" in res.stdout
    # the same steps up to float summation order (gloo all-reduce vs one batch's sum)
    _assert_same_weights(tmp_path / "one.pt", tmp_path / "two.pt", atol=1e-5)


@pytest.mark.slow
def test_a_compiled_step_under_ddp_trains_like_one_process(tmp_path):
    """train.compile with two gloo processes: the compiled DDP step gives the weights of one compiled process."""
    toy = Path(__file__).with_name("ddp_toy.py")
    settings = json.dumps({"compile": True, "lr": 1e-3})     # Adam at 1e-2 magnifies rounding in tiny gradients
    subprocess.run([sys.executable, toy, tmp_path / "one.pt", tmp_path / "r1", settings], check=True,
                   capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MIXLAB_DIST_BACKEND": "gloo"}
    res = subprocess.run(command_for(2, [sys.executable, str(toy), tmp_path / "two.pt", tmp_path / "r2", settings]),
                         capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "(2 processes x 2)" in res.stdout
    _assert_same_weights(tmp_path / "one.pt", tmp_path / "two.pt", atol=1e-5)      # as eager DDP (6.9e-6 here)


@pytest.mark.slow
def test_two_gloo_processes_accumulating_train_like_one_process(tmp_path):
    """2 processes x 2 micro-batches x 1 example = one process with batch 4: DDP's all-reduce on the last
    micro-batch carries the locally summed gradients of both."""
    toy = Path(__file__).with_name("ddp_toy.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, toy, tmp_path / "one.pt", tmp_path / "r1", json.dumps({"lr": 1e-3})],
                   check=True, capture_output=True, env=env)
    res = subprocess.run(command_for(2, [sys.executable, str(toy), tmp_path / "two.pt", tmp_path / "r2",
                                         json.dumps({"lr": 1e-3, "accumulate": 2})]),
                         capture_output=True, text=True, env={**env, "MIXLAB_DIST_BACKEND": "gloo"}, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "(2 processes x 2 micro-batches x 1)" in res.stdout
    _assert_same_weights(tmp_path / "one.pt", tmp_path / "two.pt", atol=1e-6)


@pytest.mark.slow
def test_one_torchrun_process_joins_a_process_group_and_trains_like_a_plain_run(tmp_path):
    """torchrun with one process (one GPU: how tools/gpu_check.sh tries NCCL) wraps the model in DDP, with
    accumulation's no_sync, and lands on the plain run's weights."""
    toy = Path(__file__).with_name("ddp_toy.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    settings = json.dumps({"lr": 1e-3, "accumulate": 2})
    subprocess.run([sys.executable, toy, tmp_path / "plain.pt", tmp_path / "r1", settings], check=True,
                   capture_output=True, env=env)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=1", str(toy),
           str(tmp_path / "ddp.pt"), str(tmp_path / "r2"), settings]
    res = subprocess.run(cmd, capture_output=True, text=True, env={**env, "MIXLAB_DIST_BACKEND": "gloo"}, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    _assert_same_weights(tmp_path / "plain.pt", tmp_path / "ddp.pt", atol=1e-6)


def _start_and_signal(cmd, sig, at_step):
    """Start a training command, send `sig` once it logged `at_step`; -> (exit code, output)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if f"step {at_step}/" in line:
            proc.send_signal(sig)
            break
    out, _ = proc.communicate(timeout=300)
    return proc.returncode, "".join(seen) + out


@pytest.mark.slow
def test_sigterm_writes_a_checkpoint_exits_nonzero_and_the_rerun_resumes(tiny_store, tmp_path):
    sig = signal.SIGTERM           # SIGUSR1: test_mixit_pretraining_stops_on_sigusr1_and_resumes
    spec = _spec(steps=40, every=1000)          # no periodic checkpoint: only the signal writes one
    run_cli(*_train_args(spec, tiny_store, tmp_path / "ref.pt", tmp_path / "ref_r"))
    out, resume = tmp_path / "m.pt", tmp_path / "r"
    code, log = _start_and_signal([MIXLAB, *map(str, _train_args(spec, tiny_store, out, resume))], sig, at_step=3)
    assert code == EXIT_PREEMPTED, log
    assert f"{signal.Signals(sig).name}: resume checkpoint written at step" in log
    stopped_at = checkpoint.load(resume / "last.pt")["step"]
    assert 3 <= stopped_at < 40 and not out.exists()
    rerun = run_cli(*_train_args(spec, tiny_store, out, resume))
    assert f"at step {stopped_at}" in rerun.stdout
    _assert_same_weights(tmp_path / "ref.pt", out, atol=0)


@pytest.mark.slow
def test_sigterm_to_torchrun_stops_both_ranks_at_one_step_and_the_rerun_resumes(tiny_store, tmp_path):
    """torchrun forwards SIGTERM to its workers; they agree on the step, rank 0 writes the checkpoint."""
    spec = _spec(steps=40, every=1000)
    spec["train"]["batch_size"] = 4
    run_cli(*_train_args(spec, tiny_store, tmp_path / "ref.pt", tmp_path / "ref_r"))
    out, resume = tmp_path / "m.pt", tmp_path / "r"
    env = {**os.environ, "MIXLAB_DIST_BACKEND": "gloo"}
    cmd = command_for(2, [MIXLAB, *map(str, _train_args(spec, tiny_store, out, resume))])
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**env, "OMP_NUM_THREADS": "1"})
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if "step 3/" in line:
            proc.send_signal(signal.SIGTERM)
            break
    rest, _ = proc.communicate(timeout=300)
    log = "".join(seen) + rest
    assert proc.returncode != 0, log
    assert log.count("SIGTERM: resume checkpoint written at step") == 1, log     # rank 0 alone
    stopped_at = checkpoint.load(resume / "last.pt")["step"]
    assert 3 <= stopped_at < 40 and not out.exists()
    rerun = _torchrun(2, _train_args(spec, tiny_store, out, resume), tmp_path)
    assert f"at step {stopped_at}" in rerun.stdout
    _assert_same_weights(tmp_path / "ref.pt", out, atol=1e-5)


@pytest.mark.slow
def test_mixit_pretraining_stops_on_sigusr1_and_resumes(tmp_path):
    clips = _clip_store(tmp_path / "clips")
    spec = _pre_spec(steps=30)
    spec["train"]["checkpoint_every"] = 1000

    def args(out, r):
        return [MIXLAB, "train", "--spec", json.dumps({**spec, "inputs": {"clips": str(clips)}}), "--out", str(out),
                "--resume-dir", str(r), "--threads", "1"]
    subprocess.run(args(tmp_path / "ref.pt", tmp_path / "ref_r"), check=True, capture_output=True)
    code, log = _start_and_signal(args(tmp_path / "m.pt", tmp_path / "r"), signal.SIGUSR1, at_step=2)
    assert code == EXIT_PREEMPTED, log
    assert (tmp_path / "r" / "last.pt").exists() and not (tmp_path / "m.pt").exists()
    subprocess.run(args(tmp_path / "m.pt", tmp_path / "r"), check=True, capture_output=True)
    _assert_same_weights(tmp_path / "ref.pt", tmp_path / "m.pt", atol=0)


def test_gpu_claims_are_exclusive_and_released(tmp_path):
    devices = ["0", "1", "3"]                   # e.g. CUDA_VISIBLE_DEVICES=0,1,3
    a, fa = claim_gpus(2, devices, tmp_path, log=lambda m: None)
    b, fb = claim_gpus(1, devices, tmp_path, log=lambda m: None)
    assert sorted(a + b) == devices
    with pytest.raises(RuntimeError, match="no 1 free GPUs"):
        claim_gpus(1, devices, tmp_path, wait_s=0, log=lambda m: None)
    for fd in fa:
        os.close(fd)      # the job holding them exited
    c, _ = claim_gpus(2, devices, tmp_path, wait_s=0, log=lambda m: None)
    assert sorted(c) == sorted(a)
    with pytest.raises(RuntimeError, match="asks for 4 GPUs but the machine has 3"):
        claim_gpus(4, devices, tmp_path)


@pytest.mark.slow
def test_launch_runs_one_process_per_gpu_through_torchrun(tmp_path):
    assert command_for(1, ["mixlab", "train"]) == ["mixlab", "train"]
    cmd = command_for(2, ["mixlab", "train", "--x"])
    assert cmd[1:4] == ["-m", "torch.distributed.run", "--standalone"] and "--nproc-per-node=2" in cmd
    assert cmd[-3:-2] and cmd[-2:] == ["train", "--x"] and "--no-python" in cmd
    # --gpus 0 runs the command itself; on an allocation that is too small it says so
    res = run_cli("launch", "--gpus", "0", "--", sys.executable, "-c", "print('ran')")
    assert res.stdout.strip().endswith("ran")
    slurm = {**os.environ, "CUDA_VISIBLE_DEVICES": "0", "SLURM_JOB_ID": "7"}
    bad = run_cli("launch", "--gpus", "2", "--", "true", check=False, env=slurm)
    assert bad.returncode != 0 and "asks for 2 GPUs but its allocation has CUDA_VISIBLE_DEVICES=0" in bad.stderr
    ok = run_cli("launch", "--gpus", "1", "--", sys.executable, "-c",
                 "import os; print('sees', os.environ['CUDA_VISIBLE_DEVICES'])", env=slurm)
    assert "sees 0" in ok.stdout
    # a workstation: the job claims one of the visible devices and sees only it
    local = {**os.environ, "CUDA_VISIBLE_DEVICES": "2,5", "MIXLAB_GPU_LOCKS": str(tmp_path / "locks")}
    local.pop("SLURM_JOB_ID", None)
    ok = run_cli("launch", "--gpus", "1", "--", sys.executable, "-c",
                 "import os; print('sees', os.environ['CUDA_VISIBLE_DEVICES'])", env=local)
    assert "claimed GPU(s) 2" in ok.stdout and "sees 2" in ok.stdout
    scaled = run_cli("launch", "--gpus", "0", "--", "mixlab", "train", "--device", "cuda", check=False)
    assert scaled.returncode != 0 and "--resources gpu=N" in scaled.stderr
