"""Paper B training end to end on tiny data: MixIT pre-training (kill + resume), channel selection,
fine-tuning from the pre-trained model with the separator frozen, and from scratch."""
import json

import numpy as np
import pytest
import torch

from mixlab.papers.mixit.channel_selection import select_channels
from mixlab.papers.mixit.activity import detect_store
from mixlab.data.stem_store import build_store
from mixlab.data.tracks import list_tracks
from mixlab.models.io import load_model
from mixlab.train import checkpoint
from tests.conftest import train_b as train
from tests.papers.mixit.test_mixit_parts import TINY_MODEL

RATE = 8000


def _clip_store(out, n_files=3, seconds=3.0, clip_seconds=2.0):
    """A prepared-FMA clip store written directly (the MP3 path is tested in test_fma.py)."""
    rng = np.random.default_rng(0)
    out.mkdir(parents=True)
    clip = int(clip_seconds * RATE)
    files, clips, chunks, offset = [], [], [], 0
    for f in range(n_files):
        n = int(seconds * RATE)
        t = np.arange(n) / RATE
        x = 0.2 * np.sin(2 * np.pi * (110 * (f + 1)) * t)[:, None] + 0.05 * rng.standard_normal((n, 2))
        chunks.append(np.round(x * 32767).astype(np.int16))
        files.append({"id": f"{f:06d}", "path": f"000/{f:06d}.mp3", "offset": offset, "length": n})
        clips += [[f, 0], [f, n - clip]]
        offset += n
    np.concatenate(chunks).tofile(out / "audio.pcm")
    (out / "clips.json").write_text(json.dumps({"sample_rate": RATE, "channels": 2, "clip_samples": clip,
                                                "frames": offset, "files": files, "clips": clips}))
    return out


def _pre_spec(steps=6):
    return {"recipe": "mixit.pretrain", "model": {"name": "bs_locoformer", **TINY_MODEL},
            "train": {"steps": steps, "epoch_steps": 3, "batch_size": 2, "lr": 1e-3, "warmup_steps": 2,
                      "decay": 0.9, "checkpoint_every": 2, "log_every": 1, "seed": 0}}


class Killed(Exception):
    pass


def test_pretrain_resumes_channels_and_finetune(tiny_corpus, tiny_store, tmp_path):
    clips = _clip_store(tmp_path / "clips")
    spec = _pre_spec()
    ref = train(spec, tmp_path / "ref.pt", tmp_path / "r0", clips=clips, log=lambda m: None)

    def killer(msg):
        if "step 5/6" in msg:
            raise Killed
    with pytest.raises(Killed):
        train(spec, tmp_path / "pre.pt", tmp_path / "r1", clips=clips, log=killer)
    assert (tmp_path / "r1" / "last.pt").exists() and not (tmp_path / "pre.pt").exists()
    logs = []
    train(spec, tmp_path / "pre.pt", tmp_path / "r1", clips=clips, log=logs.append)
    assert any("resumed" in m and "step 4" in m for m in logs)
    a, b = checkpoint.load(ref)["state_dict"], checkpoint.load(tmp_path / "pre.pt")["state_dict"]
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)

    valid = build_store(tiny_corpus, "valid", list_tracks(tiny_corpus, "valid"), tmp_path / "valid", RATE,
                        progress=lambda m: None)
    model, _ = load_model(tmp_path / "pre.pt")
    sel = select_channels(model, valid, chunk_seconds=0.5, progress=lambda m: None)
    assert len(set(sel["channels"])) == 4 and np.asarray(sel["votes"]).sum() > 0
    (tmp_path / "channels.json").write_text(json.dumps(sel))

    activity = detect_store(tiny_store, tmp_path / "act.json", segment_seconds=1.0, n_chunks=4, progress=lambda m: None)
    ft = {"recipe": "mixit.finetune", "model": {"name": "bs_locoformer", **TINY_MODEL, "n_outputs": 4},
          "train": {"steps": 3, "epoch_steps": 3, "batch_size": 2, "lr": 1e-3, "checkpoint_every": 2,
                    "log_every": 1, "seed": 0, "freeze_separator": True}}
    train(ft, tmp_path / "ft.pt", tmp_path / "r2", store=tiny_store, activity=tmp_path / "act.json",
          init=tmp_path / "pre.pt", channels=tmp_path / "channels.json", log=lambda m: None)
    tuned = checkpoint.load(tmp_path / "ft.pt")["state_dict"]
    pre = checkpoint.load(tmp_path / "pre.pt")["state_dict"]
    sep = [k for k in tuned if k.startswith("separator.")]
    enc = [k for k in tuned if k.startswith("encoder.")]
    assert sep and all(torch.equal(tuned[k], pre[k]) for k in sep)            # frozen
    assert any(not torch.equal(tuned[k], pre[k]) for k in enc)                # encoder learned
    ft_model, spec = load_model(tmp_path / "ft.pt")
    assert ft_model(torch.zeros(1, 2, 4000)).shape == (1, 4, 2, 4000) and spec["inputs"]["init"] == str(tmp_path / "pre.pt")

    scratch = {**ft, "train": {**ft["train"], "freeze_separator": False}}
    train(scratch, tmp_path / "scratch.pt", tmp_path / "r3", store=tiny_store, activity=activity, log=lambda m: None)
    with pytest.raises(ValueError, match="needs the selected channels"):
        train(ft, tmp_path / "x.pt", tmp_path / "r4", store=tiny_store, activity=activity, init=tmp_path / "pre.pt")


def test_validation_keeps_the_best_checkpoints_and_averages_them(tiny_corpus, tiny_store, tmp_path):
    """The authors' habit in both stages: validation loss every K steps, the best checkpoints kept and
    their average the final model -- pre-training on held-out FMA files, fine-tuning on the validation songs."""
    import pandas as pd

    from mixlab.train.checkpoint import history_path

    clips = _clip_store(tmp_path / "clips", n_files=5)
    spec = _pre_spec(steps=4)
    spec["train"].update(validate_every=1, keep_best=2, average_best=True, valid_files=2, valid_chunks=3)
    logs = []
    train(spec, tmp_path / "pre.pt", tmp_path / "r1", clips=clips, log=logs.append)
    assert any("2 files held out for validation" in m for m in logs)
    assert any("average of the 2 best" in m for m in logs), logs[-3:]
    hist = pd.read_csv(history_path(tmp_path / "pre.pt"))
    valid = hist.dropna(subset=["valid_loss"])
    assert list(valid["step"]) == [1, 2, 3, 4]
    best = valid.nsmallest(2, "valid_loss")["step"].tolist()
    kept = sorted((tmp_path / "r1").rglob("step*.pt"))
    assert sorted(int(p.stem[4:]) for p in kept) == sorted(best)
    mean = {k: (checkpoint.load(kept[0])["state_dict"][k] + checkpoint.load(kept[1])["state_dict"][k]) / 2
            for k in checkpoint.load(kept[0])["state_dict"]}
    final = checkpoint.load(tmp_path / "pre.pt")["state_dict"]
    assert all(torch.allclose(final[k], mean[k], atol=1e-7) for k in final)
    with pytest.raises(ValueError, match="leaves 1 of 5 files"):
        bad = _pre_spec(steps=1)
        bad["train"].update(valid_files=4)
        train(bad, tmp_path / "x.pt", tmp_path / "rx", clips=clips, log=lambda m: None)

    valid_store = build_store(tiny_corpus, "valid", list_tracks(tiny_corpus, "valid"), tmp_path / "valid", RATE,
                              progress=lambda m: None)
    activity = detect_store(tiny_store, tmp_path / "act.json", segment_seconds=1.0, n_chunks=4, progress=lambda m: None)
    ft = {"recipe": "mixit.finetune", "model": {"name": "bs_locoformer", **TINY_MODEL, "n_outputs": 4},
          "train": {"steps": 3, "epoch_steps": 3, "batch_size": 2, "lr": 1e-3, "checkpoint_every": 2, "log_every": 1,
                    "seed": 0, "validate_every": 1, "keep_best": 2, "average_best": True, "valid_chunks": 5}}
    logs = []
    train(ft, tmp_path / "ft.pt", tmp_path / "r2", store=tiny_store, activity=activity, valid_store=valid_store,
          log=logs.append)
    assert any("validation on 5 chunks of" in m for m in logs)
    assert pd.read_csv(history_path(tmp_path / "ft.pt"))["valid_loss"].notna().sum() == 3
    with pytest.raises(ValueError, match="needs the validation songs' stem store"):
        train(ft, tmp_path / "y.pt", tmp_path / "ry", store=tiny_store, activity=activity, log=lambda m: None)

    # the authors' per-channel loss (fidelity=code) reaches the recipe: same batch, another loss value
    first = {}
    for rule in ("paper", "code"):
        one = {**ft, "train": {**ft["train"], "steps": 1, "validate_every": 0, "keep_best": 0,
                                "average_best": False, "snr_loss": rule}}
        train(one, tmp_path / f"ft_{rule}.pt", tmp_path / f"rl_{rule}", store=tiny_store, activity=activity,
              log=lambda m: None)
        first[rule] = pd.read_csv(history_path(tmp_path / f"ft_{rule}.pt"))["loss"].iloc[0]
    assert first["paper"] != first["code"] and np.isfinite(list(first.values())).all()


def test_mixit_loss_summed_or_averaged_over_the_two_mixtures(tmp_path):
    import pandas as pd

    from mixlab.train.checkpoint import history_path

    clips = _clip_store(tmp_path / "clips")
    first = {}
    for reduction in ("sum", "mean"):
        spec = _pre_spec(steps=1)
        spec["train"]["mixit_reduction"] = reduction
        train(spec, tmp_path / f"{reduction}.pt", tmp_path / f"r_{reduction}", clips=clips, log=lambda m: None)
        first[reduction] = pd.read_csv(history_path(tmp_path / f"{reduction}.pt"))["loss"].iloc[0]
    assert first["mean"] == pytest.approx(first["sum"] / 2, rel=1e-6)
