"""The training engine on a toy recipe: prefetching, NaN guard, validation, best-k averaging, history, resume."""
import contextlib
import csv
import json

import numpy as np
import pytest
import torch

from mixlab.train import checkpoint, engine
from mixlab.train.defaults import ENGINE_DEFAULTS

W_TRUE = np.array([[0.5, -1.0, 2.0, 0.25]], dtype=np.float32)


def toy(tcfg, valid_values=None, nan_at=None, dropout=0.1):
    """y = W x + noise; batches a pure function of step (as the papers' samplers)."""
    def make(spec, inputs, device, log):
        model = torch.nn.Sequential(torch.nn.Dropout(dropout), torch.nn.Linear(4, 1))   # dropout: RNG in the step
        opt = torch.optim.Adam(model.parameters(), lr=tcfg.get("lr", 1e-2))

        def batches(step, rows):
            rng = np.random.default_rng([tcfg["seed"], step])
            x = rng.standard_normal((tcfg["batch_size"], 4)).astype(np.float32)
            y = x @ W_TRUE.T + 0.01 * rng.standard_normal((len(x), 1)).astype(np.float32)
            return x[rows], y[rows]             # any rows are those rows of the whole batch

        def loss(batch, forward):
            x, y = map(torch.from_numpy, batch)
            value = torch.nn.functional.mse_loss(forward(x), y)
            return value * float("nan") if nan_at is not None and int(opt.state_dict()["state"].get(0, {}).get("step", 0)) == nan_at else value

        calls = iter(valid_values or [])

        def validation(forward, size):
            return next(calls)

        return engine.Recipe(model=model, optimizer=opt, batches=batches, loss=loss,
                             validation=validation if valid_values else None, describe="[train] toy")
    return make


def _cfg(**kw):
    return {**ENGINE_DEFAULTS, "steps": 12, "batch_size": 4, "checkpoint_every": 4, "log_every": 2, **kw}


def _run(tmp_path, name, tcfg, log=lambda m: None, **kw):
    spec = {"model": {"toy": 1}, "train": tcfg}
    out = tmp_path / f"{name}.pt"
    engine.train(spec, ENGINE_DEFAULTS, toy(tcfg, **kw), out, tmp_path / f"{name}_resume", "cpu", log)
    return out


def _weights(path):
    return checkpoint.load(path)["state_dict"]


def test_workers_prepare_the_same_batches(tmp_path):
    a = _weights(_run(tmp_path, "inline", _cfg()))
    b = _weights(_run(tmp_path, "workers", _cfg(workers=2)))
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)


def test_batch_stream_order_with_workers():
    micro = [slice(0, 2), slice(2, 4)]
    got = list(engine.batch_stream(lambda step, rows: (step, rows.start), micro, 3, 11, workers=2))
    assert got == [[(step, 0), (step, 2)] for step in range(3, 11)]


def test_a_non_finite_loss_stops_with_the_step(tmp_path):
    with pytest.raises(FloatingPointError, match="loss is not finite at step 5"):
        _run(tmp_path, "nan", _cfg(), nan_at=5)


def test_history_csv_and_a_killed_run_resumes_identically(tmp_path):
    ref = _run(tmp_path, "ref", _cfg())

    def log(msg):
        if "step 6/" in msg:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, "cut", _cfg(), log=log)
    assert checkpoint.load(tmp_path / "cut_resume" / "last.pt")["step"] == 4
    cut = _run(tmp_path, "cut", _cfg())
    for k, v in _weights(ref).items():
        torch.testing.assert_close(_weights(cut)[k], v, rtol=0, atol=0)
    rows = list(csv.DictReader(open(tmp_path / "cut.history.csv")))
    assert [int(r["step"]) for r in rows] == [2, 4, 6, 8, 10, 12]          # no row twice after the resume
    assert list(rows[0]) == ["step", "loss", "lr", "valid_loss", "steps_per_s"]
    assert all(np.isfinite(float(r["loss"])) and float(r["steps_per_s"]) > 0 and r["valid_loss"] == "" for r in rows)


def test_validation_keeps_the_best_k_and_averages_them(tmp_path):
    valid = [5.0, 3.0, 4.0, 1.0, 2.0, 6.0]                                     # at steps 2, 4, ..., 12
    lines = []
    out = _run(tmp_path, "avg", _cfg(validate_every=2, keep_best=2, average_best=True), log=lines.append,
               valid_values=valid)
    best = tmp_path / "avg_resume" / "best"
    assert sorted(p.name for p in best.iterdir()) == ["step00000008.pt", "step00000010.pt"]
    kept = [_weights(best / f) for f in ("step00000008.pt", "step00000010.pt")]
    for k, v in _weights(out).items():
        torch.testing.assert_close(v, (kept[0][k] + kept[1][k]) / 2)
    assert any("average of the 2 best checkpoints" in m and "steps 8, 10" in m for m in lines)
    rows = list(csv.DictReader(open(tmp_path / "avg.history.csv")))
    assert [float(r["valid_loss"]) for r in rows] == valid


def test_average_best_needs_validation(tmp_path):
    with pytest.raises(ValueError, match="need held-out batches"):
        _run(tmp_path, "x", _cfg(keep_best=2, average_best=True))


def test_histories_figure(tmp_path):
    from tests.conftest import run_cli

    for name, scale in (("a", 1.0), ("b", 2.0)):
        (tmp_path / f"{name}.csv").write_text("step,loss,lr,valid_loss,steps_per_s\n2,%f,0.001,,5\n4,%f,0.001,0.5,5\n"
                                              % (scale, scale / 2))
    spec = {"figure": "training", "labels": ["fig1/p0.00", "mixit/small"],
            "inputs": {"histories": [str(tmp_path / "a.csv"), str(tmp_path / "b.csv")]}}
    run_cli("figure", "--spec", json.dumps(spec), "--out", tmp_path / "t.pdf")
    assert (tmp_path / "t.pdf").read_bytes().startswith(b"%PDF") and (tmp_path / "t.png").exists()
    import pandas as pd

    table = pd.read_csv(tmp_path / "t.csv")
    assert list(table["group"].unique()) == ["fig1", "mixit"] and len(table) == 4


def test_amp_policy(monkeypatch):
    """train.amp on CUDA: fp16 (default), bf16 where the GPU has it; train.cpu_amp on the CPU: bf16 where it computes
    in bf16; a precision the device lacks is an error naming the key; the CUDA setting never applies to the CPU."""
    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    assert engine.amp_dtype("bf16", cpu) is None and engine.amp_dtype("fp16", cpu) is None
    assert engine.amp_dtype("fp16", gpu) is torch.float16 and engine.amp_dtype("fp32", gpu) is None
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert engine.amp_dtype("bf16", gpu) is torch.bfloat16
    assert engine.amp_dtype("fp16", gpu, cpu_setting="bf16") is torch.float16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    with pytest.raises(ValueError, match=r"train.amp is bf16 but .* has no bf16.*set train.amp: fp16"):
        engine.amp_dtype("bf16", gpu)
    with pytest.raises(ValueError, match=r"mixit.separate.amp is bf16"):
        engine.amp_dtype("bf16", gpu, key="mixit.separate")
    with pytest.raises(ValueError, match="fp16, bf16 or fp32"):
        engine.amp_dtype("half", gpu)
    monkeypatch.setattr(engine, "cpu_has_bf16", lambda: True)
    assert engine.amp_dtype("fp16", cpu, cpu_setting="bf16") is torch.bfloat16
    assert engine.amp_dtype("fp16", cpu, cpu_setting="fp32") is None
    monkeypatch.setattr(engine, "cpu_has_bf16", lambda: False)
    with pytest.raises(ValueError, match="cpu_amp is bf16 but this CPU has no native bf16"):
        engine.amp_dtype("fp16", cpu, cpu_setting="bf16")
    with pytest.raises(ValueError, match="cpu_amp must be bf16 or fp32"):
        engine.amp_dtype("fp16", cpu, cpu_setting="fp16")


def test_no_host_synchronisation_per_step(tmp_path, monkeypatch):
    """The engine reads the loss on the host only when it logs (every log_every steps) and at the end, not every
    step (the old engine read it twice a step)."""
    import sys

    reads = []

    def counted(real):
        def read(self, *a):
            if sys._getframe(1).f_code.co_filename == engine.__file__:      # the engine's reads, not Adam's
                reads.append(sys._getframe(1).f_lineno)
            return real(self, *a)
        return read
    for name in ("item", "__float__", "__int__", "__bool__", "tolist"):
        monkeypatch.setattr(torch.Tensor, name, counted(getattr(torch.Tensor, name)))
    _run(tmp_path, "sync", _cfg(steps=12, log_every=6, checkpoint_every=100))
    assert 0 < len(reads) <= 2 * 2 + 1, f"the engine read tensors {len(reads)} times in 12 steps (lines {reads})"


@pytest.mark.parametrize("variant", [{"compile": True}, {"cpu_amp": "bf16"}])
def test_compiled_and_bf16_steps_resume_exactly_and_compute_the_same_function(tmp_path, variant):
    """A killed run with a compiled network (or bf16 autocast on the CPU) resumes to the very weights of an
    uninterrupted one (dropout's RNG included), and without dropout lands where the eager fp32 run does, up to
    rounding (AMP tolerance for bf16). With dropout it cannot: inductor draws its own masks."""
    if variant.get("cpu_amp") and not engine.cpu_has_bf16():
        pytest.skip("this CPU has no native bf16: cpu_amp bf16 is refused")
    ref = _run(tmp_path, "ref", _cfg(**variant))

    def log(msg):
        if "step 6/" in msg:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, "cut", _cfg(**variant), log=log)
    cut = _run(tmp_path, "cut", _cfg(**variant))
    for k, v in _weights(ref).items():
        torch.testing.assert_close(_weights(cut)[k], v, rtol=0, atol=0)
    eager = _weights(_run(tmp_path, "eager", _cfg(), dropout=0.0))
    same = _weights(_run(tmp_path, "same", _cfg(**variant), dropout=0.0))
    tol = 1e-2 if variant.get("cpu_amp") else 1e-5
    for k, v in same.items():
        torch.testing.assert_close(v, eager[k], rtol=tol, atol=tol)


def test_accumulated_micro_batches_train_like_one_batch(tmp_path):
    """accumulate 2 x micro-batch 2 takes the steps of batch 4 (no dropout; up to float summation order), the
    log names the split, and a batch that does not divide is a named error before any step."""
    said = []
    one = _weights(_run(tmp_path, "one", _cfg(), dropout=0.0))
    two = _weights(_run(tmp_path, "two", _cfg(accumulate=2), dropout=0.0, log=said.append))
    assert any("(2 micro-batches x 2)" in line for line in said), said
    for k, v in one.items():
        torch.testing.assert_close(two[k], v, rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match=r"batch_size=4 is not divisible by 1 GPU process\(es\) x train.accumulate=3"):
        _run(tmp_path, "odd", _cfg(accumulate=3))
    assert not (tmp_path / "odd_resume").exists()


def test_accumulating_run_resumes_exactly_and_on_another_split(tmp_path):
    """Killed at step 6 with accumulate 2, resumed: the uninterrupted run's very weights. Resumed with accumulate 1
    instead (another number of GPUs): accepted, the same training up to rounding."""
    ref = _weights(_run(tmp_path, "ref", _cfg(accumulate=2)))

    def log(msg):
        if "step 6/" in msg:
            raise KeyboardInterrupt
    for name in ("cut", "moved"):
        with pytest.raises(KeyboardInterrupt):
            _run(tmp_path, name, _cfg(accumulate=2), log=log)
    cut = _weights(_run(tmp_path, "cut", _cfg(accumulate=2)))
    moved = _weights(_run(tmp_path, "moved", _cfg(accumulate=1)))
    for k, v in ref.items():
        torch.testing.assert_close(cut[k], v, rtol=0, atol=0)
        torch.testing.assert_close(moved[k], v, rtol=0, atol=1e-6)


def test_ddp_synchronises_on_the_last_micro_batch_only(tmp_path, monkeypatch):
    """Under DDP every micro-batch but the last runs its backward inside no_sync (gradients add up locally; one
    all-reduce per step)."""
    from mixlab.train import distributed

    events = []

    class FakeDDP(torch.nn.Module):          # DDP's interface, without a process group
        def __init__(self, module):
            super().__init__()
            self.module = module

        def forward(self, x):
            events.append("forward")
            return self.module(x)

        @contextlib.contextmanager
        def no_sync(self):
            events.append("no_sync")
            yield
            events.append("sync again")

    monkeypatch.setattr(distributed, "wrap", lambda model, ranks, device: FakeDDP(model))
    monkeypatch.setattr(distributed, "setup", lambda device: (distributed.Ranks(0, 2, 0), torch.device(device)))
    monkeypatch.setattr(distributed, "any_rank", lambda flags, ranks, device: flags)
    monkeypatch.setattr(distributed, "mean_over_ranks", lambda value, ranks, device: value)
    monkeypatch.setattr(distributed, "barrier", lambda ranks: None)
    monkeypatch.setattr(distributed, "teardown", lambda ranks: None)
    tcfg = _cfg(steps=1, batch_size=8, accumulate=3 + 1)
    _run(tmp_path, "ddp", tcfg, dropout=0.0)
    assert events == ["forward", "no_sync", "sync again"] * 3 + ["forward"], events


def test_workers_hand_over_the_papers_batches_unchanged(tiny_store):
    """Batches cross from forked workers as shared-memory tensors and arrive as the numpy batches the recipes read."""
    from mixlab.papers.random_mixing.sampling import MixSampler
    from mixlab.data.stem_store import StemStore

    sampler = MixSampler(StemStore(tiny_store), 4096, 0.5, seed=2)
    here = list(engine.batch_stream(lambda step, rows: sampler.batch(step, 4, rows), [slice(0, 2), slice(2, 4)], 0, 3, 0))
    there = list(engine.batch_stream(lambda step, rows: sampler.batch(step, 4, rows), [slice(0, 2), slice(2, 4)], 0, 3, 1))
    for a, b in zip(here, there):
        for x, y in zip(a, b):
            for field in ("mixture", "targets", "original", "songs", "offsets"):
                assert isinstance(getattr(y, field), np.ndarray)
                np.testing.assert_array_equal(getattr(y, field), getattr(x, field))
