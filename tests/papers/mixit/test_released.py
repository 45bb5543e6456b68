"""The authors' released BS-Locoformer (Paper B) in mixlab: same function, same weights.

tests/fixtures/mixit_released/ was made once with the authors' code (b-sigpro/mixit-mss @ 30614b7; the
code itself is not in this repository): `tiny/` is a released-model folder in their layout (a tiny
BS-Locoformer, random weights stored as fp16, its merged_config.yaml unresolved as they save it), and
`expected.pt` holds one stereo input and their model's outputs for it:
- out_core: istft(BSLocoformer(stft(x))) -- all STFT frames, no input scaling
- out_wrapper_noscale: their ModelWrapper without scaling (drops the last STFT frame)
- out_task: what their separate.py writes (input scaling, last frame dropped)
"""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

import mixlab.models
from mixlab.models.registry import build_model
from mixlab.papers.mixit.checkpoint_import import (CheckpointError, bare_state_dict, import_checkpoint, read_merged_config,
                                    to_mixlab, to_official, weight_sizes)
from tests.conftest import FIXTURES, REPO

DATA = FIXTURES / "mixit_released"
RELEASED = DATA / "tiny"


@pytest.fixture(scope="module")
def expected():
    return torch.load(DATA / "expected.pt", weights_only=True)


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    out = tmp_path_factory.mktemp("imp") / "tiny.pt"
    spec = import_checkpoint(RELEASED, out, progress=lambda m: None)
    return out, spec


def _close(y, ref, rel=1e-5):
    """max |y - ref| within rel of the output's scale (element-wise ratios blow up near zero samples)."""
    err = (y - ref).abs().max().item()
    assert y.shape == ref.shape and err <= rel * ref.abs().max().item(), (err, ref.abs().max().item())
    return err


def _official_state():
    return bare_state_dict(torch.load(RELEASED / "checkpoints" / "model.pth", weights_only=True))


def test_imported_model_reproduces_the_authors_separation(imported, expected):
    out, spec = imported
    assert spec["model"]["input_scaling"] and spec["model"]["drop_last_frame"] and not spec["model"]["rope"]
    net = mixlab.models.load(out)
    assert not net.training
    with torch.no_grad():
        y = net(expected["input"])                              # (B, 2, T) -> (B, N, 2, T)
    _close(y, expected["out_task"])


@pytest.mark.parametrize("scaling,drop,key", [(False, False, "out_core"), (False, True, "out_wrapper_noscale")])
def test_each_switch_is_the_authors_function(imported, expected, scaling, drop, key):
    _, spec = imported
    net = build_model({**spec["model"], "input_scaling": scaling, "drop_last_frame": drop}).eval()
    net.load_state_dict(torch.load(imported[0], weights_only=True)["state_dict"])
    with torch.no_grad():
        _close(net(expected["input"]), expected[key])


def test_the_old_mixlab_function_differs(imported, expected):
    """RoPE in every attention layer and a second tanh in the decoder (mixlab before this fix) change the
    function: the test above would fail on them."""
    _, spec = imported
    net = build_model({**spec["model"], "rope": True}).eval()
    net.load_state_dict(torch.load(imported[0], weights_only=True)["state_dict"])
    with torch.no_grad():
        err = (net(expected["input"]) - expected["out_task"]).abs().max().item()
    assert err > 1e-3 * expected["out_task"].abs().max().item()


def test_weight_mapping_is_a_bijection():
    official = _official_state()
    sizes = weight_sizes(official)
    assert sizes["n_outputs"] == 2 and sizes["n_blocks"] == 2 and len(sizes["bands"]) == 62
    mine = to_mixlab(official)
    assert len(official) == 796 and len(mine) == 100
    back = to_official(mine, sizes["bands"])
    assert set(back) == set(official)
    assert all(torch.equal(back[k], official[k].float()) for k in official)


def test_averaging_follows_the_authors_loader(tmp_path, expected):
    """Every checkpoint but last.ckpt is averaged: two perturbations that cancel give the released weights."""
    task = torch.load(RELEASED / "checkpoints" / "model.pth", weights_only=True)
    g = torch.Generator().manual_seed(0)
    noise = {k: 0.01 * torch.randn(v.shape, generator=g) for k, v in task.items() if k.startswith("model.model.")}
    folder = tmp_path / "released"
    (folder / "checkpoints").mkdir(parents=True)
    shutil.copy(RELEASED / "merged_config.yaml", folder)
    for name, sign in (("epoch=0007.ckpt", 1), ("epoch=0009.ckpt", -1), ("last.ckpt", 30)):
        state = {k: v.float() + sign * noise[k] if k in noise else v for k, v in task.items()}
        torch.save({"epoch": 7, "state_dict": state}, folder / "checkpoints" / name)
    spec = import_checkpoint(folder, tmp_path / "avg.pt", progress=lambda m: None)
    assert spec["source"]["files"] == ["epoch=0007.ckpt", "epoch=0009.ckpt"]
    with torch.no_grad():
        _close(mixlab.models.load(tmp_path / "avg.pt")(expected["input"]), expected["out_task"])


def test_merged_config_references_resolve_and_the_environment_does_not_matter():
    cfg = read_merged_config(RELEASED / "merged_config.yaml")
    assert cfg["task"]["model"]["model"]["num_spk"] == cfg["n_src"] == 2
    assert cfg["task"]["model"]["fs"] == 44100
    assert cfg["trainer"]["devices"].startswith("${oc.decode")          # left alone, not needed


def _copy_released(tmp_path):
    folder = tmp_path / "rel"
    shutil.copytree(RELEASED, folder)
    return folder


def test_wrong_inputs_get_clear_errors(tmp_path):
    quiet = {"progress": lambda m: None}
    # a TFC-TDF-UNet's weights where a BS-Locoformer is expected
    tfc = _copy_released(tmp_path / "a")
    net = build_model({"name": "tfc_tdf_v3", "sample_rate": 16000, "n_fft": 256, "hop_length": 64, "dim_f": 64,
                       "dim_t": 16, "num_channels": 4, "growth": 2, "num_scales": 1, "num_subbands": 2,
                       "num_blocks_per_scale": 1})
    torch.save(net.state_dict(), tfc / "checkpoints" / "model.pth")
    with pytest.raises(CheckpointError, match="TFC-TDF"):
        import_checkpoint(tfc, tmp_path / "x.pt", **quiet)
    # a config whose sizes do not match the weights
    wrong = _copy_released(tmp_path / "b")
    cfg = yaml.safe_load((wrong / "merged_config.yaml").read_text())
    cfg["task"]["model"]["model"]["emb_dim"] = 96
    (wrong / "merged_config.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(CheckpointError, match="emb_dim = 96 but the weights have 4"):
        import_checkpoint(wrong, tmp_path / "x.pt", **quiet)
    # a missing tensor
    cut = _copy_released(tmp_path / "c")
    state = torch.load(cut / "checkpoints" / "model.pth", weights_only=True)
    del state["model.model.band_split_module.bandwise_decoding_module.3.2.weight"]
    torch.save(state, cut / "checkpoints" / "model.pth")
    with pytest.raises(CheckpointError, match="missing tensor 'band_split_module.bandwise_decoding_module.3.2.weight'"):
        import_checkpoint(cut, tmp_path / "x.pt", **quiet)
    # no merged_config.yaml; no checkpoint; an already imported file
    bare = _copy_released(tmp_path / "d")
    (bare / "merged_config.yaml").unlink()
    with pytest.raises(CheckpointError, match="merged_config.yaml: missing"):
        import_checkpoint(bare, tmp_path / "x.pt", **quiet)
    (bare / "checkpoints" / "model.pth").unlink()
    with pytest.raises(CheckpointError, match="no \\*.pth, \\*.ckpt or \\*.pt checkpoint"):
        import_checkpoint(bare, tmp_path / "x.pt", **quiet)
    assert not (tmp_path / "x.pt").exists()


def test_command_line(tmp_path, expected):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "mixlab", "import-checkpoint", *map(str, args)],
                              capture_output=True, text=True, cwd=REPO)

    res = run(RELEASED, "--out", tmp_path / "m.pt")
    assert res.returncode == 0 and "N=2, 2 blocks" in res.stdout
    res = run(tmp_path / "m.pt", "--out", tmp_path / "again.pt")      # a mixlab model file is not a released one
    assert res.returncode == 2 and "already a mixlab model file" in res.stderr
    res = run(RELEASED, "--out", tmp_path / "keep.pt", "--keep-last-frame")
    spec = mixlab.models.load(tmp_path / "keep.pt").cfg
    assert res.returncode == 0 and not spec.drop_last_frame and spec.input_scaling


def _fake_released_root(root: Path, P: dict) -> dict:
    """Released folders in the authors' layout for every model the tiny scale's Tables 1/3 need (fine-tuned, 4
    outputs) and for its pre-trained models (N outputs), at the tiny scale's own sizes and rate: random mixlab
    weights written in the authors' layout (tested above as the exact inverse of the import)."""
    from mixlab.models.bs_locoformer import band_widths
    from mixlab.papers.mixit.experiments import pretrained_models, table_rows
    from mixlab.papers.mixit.released import released_folder

    M, rate = P["mixit"], P["sample_rate"]
    rows = table_rows(M)
    sup = list(dict.fromkeys(m for t in ("table1", "table3") for _, m in rows[t]))
    made = {}
    template = yaml.safe_load((RELEASED / "merged_config.yaml").read_text())
    for i, model in enumerate(sup + pretrained_models(M)):
        size = model.split("_")[0]
        n = 4 if model in sup else M["n_outputs"]
        spec = {**M["model"], **M["sizes"][size], "sample_rate": rate, "n_outputs": n}
        torch.manual_seed(i)
        net = build_model(spec)
        state = to_official(net.state_dict(), band_widths(rate, spec["n_fft"]))
        folder = released_folder(root, model)
        (folder / "checkpoints").mkdir(parents=True)
        torch.save({f"model.model.{k}": v for k, v in state.items()}, folder / "checkpoints" / "model.pth")
        cfg = yaml.safe_load(yaml.safe_dump(template))
        cfg.update(sr=rate, n_fft=spec["n_fft"], hop_length=spec["hop_length"], n_src=n)
        cfg["task"]["model"]["model"].update(n_layers=spec["n_blocks"], emb_dim=spec["emb_dim"],
                                             attention_dim=spec["emb_dim"], n_heads=spec["n_heads"],
                                             num_groups=spec["n_groups"], ffn_hidden_dim=[spec["ffn_dim"]] * 2,
                                             conv1d_kernel=spec["conv_kernel"])
        (folder / "merged_config.yaml").write_text(yaml.safe_dump(cfg))
        made[model] = folder
    return made


def test_fine_tuning_starts_from_a_released_mixit_model(tmp_path, tiny_store):
    """A released pre-trained model (N outputs, the authors' chunk length and dropout) initialises a fine-tuning
    run of this scale: the architecture must match, how it trains is the fine-tuning's own."""
    import json as _json

    from mixlab.papers.mixit.activity import detect_store
    from mixlab.models.bs_locoformer import band_widths
    from tests.conftest import train_b as train
    from tests.papers.mixit.test_mixit_parts import TINY_MODEL

    pre = {"name": "bs_locoformer", **TINY_MODEL, "n_outputs": 6, "chunk_seconds": 6.0, "dropout": 0.1}
    torch.manual_seed(0)
    net = build_model(pre)
    folder = tmp_path / "released"
    (folder / "checkpoints").mkdir(parents=True)
    state = to_official(net.state_dict(), band_widths(pre["sample_rate"], pre["n_fft"]))
    torch.save({f"model.model.{k}": v for k, v in state.items()}, folder / "checkpoints" / "model.pth")
    cfg = yaml.safe_load((RELEASED / "merged_config.yaml").read_text())
    cfg.update(sr=pre["sample_rate"], n_fft=pre["n_fft"], hop_length=pre["hop_length"], n_src=6)
    cfg["task"]["model"]["model"].update(n_layers=pre["n_blocks"], emb_dim=pre["emb_dim"], attention_dim=pre["emb_dim"],
                                         n_heads=pre["n_heads"], num_groups=pre["n_groups"],
                                         ffn_hidden_dim=[pre["ffn_dim"]] * 2, conv1d_kernel=pre["conv_kernel"])
    (folder / "merged_config.yaml").write_text(yaml.safe_dump(cfg))
    import_checkpoint(folder, tmp_path / "pre.pt", drop_last_frame=False, progress=lambda m: None)
    (tmp_path / "channels.json").write_text(_json.dumps({"channels": [5, 0, 3, 1]}))
    activity = detect_store(tiny_store, tmp_path / "act.json", segment_seconds=1.0, n_chunks=4, progress=lambda m: None)
    ft = {"recipe": "mixit.finetune", "model": {"name": "bs_locoformer", **TINY_MODEL, "n_outputs": 4, "dropout": 0.0},
          "train": {"steps": 1, "epoch_steps": 1, "batch_size": 2, "lr": 1e-3, "checkpoint_every": 1, "seed": 0}}
    logs = []
    train(ft, tmp_path / "ft.pt", tmp_path / "r", store=tiny_store, activity=activity, init=tmp_path / "pre.pt",
          channels=tmp_path / "channels.json", log=logs.append)
    assert any("initialised from" in m for m in logs)
    with pytest.raises(ValueError, match="does not match the fine-tuning model"):
        wider = {**ft, "model": {**ft["model"], "emb_dim": 16}}
        train(wider, tmp_path / "x.pt", tmp_path / "rx", store=tiny_store, activity=activity, init=tmp_path / "pre.pt",
              channels=tmp_path / "channels.json", log=lambda m: None)
