"""The authors' released BS-Locoformer models (Paper B, b-sigpro/mixit-mss) as mixlab model files.

A released model is a folder `NAME/checkpoints/*.pth|*.ckpt` + `NAME/merged_config.yaml`, as the
authors' `model_weights/download_pretrained_weights.py` fetches them from the model hub
(`kohei0209/mixit_mss`). Facts this module relies on (the authors' code at commit 30614b7):

- A checkpoint is the training task's state_dict: the separator's tensors under `model.model.`
  (`model.module.model.` when averaged with torch's AveragedModel, plus `n_averaged`), three hann
  window buffers of the STFT modules, and in a Lightning `.ckpt` all of it under `state_dict`.
- Their loader averages every `*.ckpt|*.pth|*.pt` of the checkpoints folder except `last.ckpt`
  (the top-5 by validation loss at the end of training); so does `import_checkpoint`.
- `merged_config.yaml` is saved unresolved: values like `${n_src}` refer to top-level keys and some
  entries (`devices: ${oc.decode:${oc.env:LOCAL_WORLD_SIZE}}`, `_target_`) need the authors'
  environment. Only references to keys of the file itself are resolved here; nothing the model needs
  depends on the rest. The weights fix every size but the heads and norm groups, which come from the
  config; the number of outputs comes from the weights (the released 4-output models were cut from
  12-output ones without necessarily changing `n_src`).

The mapping onto mixlab's BSLocoformer is a bijection (every tensor used once, checked): the official
model keeps one module per band (900 tensors at 6 blocks), mixlab stacks the bands by width (204).
Encoder in-band order (f, ri, m) -> (f, m, ri); decoder output order (half, ri, n, m, f) ->
(half, f, n, m, ri); the macaron FFN lists are built reversed there (`ffn.1` runs before attention).
Equality of the two functions is shown by tests/test_released.py on a fixture computed with the
authors' code (weights, input, outputs; the code itself is not in this repository).
"""
from __future__ import annotations

import re
from pathlib import Path

import torch

from mixlab.config import ConfigError

OFFICIAL_REPO = "b-sigpro/mixit-mss"
ENC = "band_split_module.band_split_module"
DEC = "band_split_module.bandwise_decoding_module"
# buffers of the authors' STFT modules and AveragedModel's counter: not weights of the separator
_NOT_WEIGHTS = re.compile(r"(^|\.)(stft\.0\.window|istft\.window|n_averaged)$")
# official LocoformerBlock name -> mixlab LocoformerPath name
_BLOCK = [("ffn_norm.1.gamma", "norms.0.gain"), ("attn_norm.gamma", "norms.1.gain"),
          ("ffn_norm.0.gamma", "norms.2.gain"),
          ("ffn.1.conv1d.weight", "ffn1.conv.weight"), ("ffn.1.conv1d.bias", "ffn1.conv.bias"),
          ("ffn.1.deconv1d.weight", "ffn1.deconv.weight"), ("ffn.1.deconv1d.bias", "ffn1.deconv.bias"),
          ("attn.qkv.weight", "attn.qkv.weight"), ("attn.aggregate_heads.0.weight", "attn.out.weight"),
          ("ffn.0.conv1d.weight", "ffn2.conv.weight"), ("ffn.0.conv1d.bias", "ffn2.conv.bias"),
          ("ffn.0.deconv1d.weight", "ffn2.deconv.weight"), ("ffn.0.deconv1d.bias", "ffn2.deconv.bias")]
_PATHS = {"freq_path": "freq_path", "frame_path": "time_path"}


class CheckpointError(ConfigError):
    """A released model folder mixlab cannot import, with what is wrong and what to do (exit 2 on the
    command line, like any input error)."""


# ---- reading a released folder

def checkpoint_files(path: str | Path) -> list[Path]:
    """The files the authors' loader averages: a file itself, or every *.ckpt|*.pth|*.pt of a
    checkpoints folder (DIR/checkpoints or DIR) except last.ckpt."""
    path = Path(path)
    if path.is_file():
        return [path]
    folder = path / "checkpoints" if (path / "checkpoints").is_dir() else path
    if not folder.is_dir():
        raise CheckpointError(f"{path}: no such folder or file (expected a released model folder holding "
                              "checkpoints/ and merged_config.yaml)")
    files = sorted(p for p in folder.iterdir() if p.suffix in (".ckpt", ".pth", ".pt") and p.name != "last.ckpt")
    if not files:
        raise CheckpointError(f"{folder}: no *.pth, *.ckpt or *.pt checkpoint besides last.ckpt (download the model "
                              f"folder with {OFFICIAL_REPO}'s model_weights/download_pretrained_weights.py)")
    if len({p.suffix for p in files}) > 1:
        raise CheckpointError(f"{folder}: checkpoints of different kinds ({', '.join(p.name for p in files)}); "
                              "the authors' loader averages files of one suffix -- move the others away")
    return files


def _read(file: Path, trust_pickle: bool) -> dict:
    try:
        blob = torch.load(file, map_location="cpu", weights_only=not trust_pickle)
    except Exception as exc:                       # a Lightning .ckpt may pickle more than tensors
        raise CheckpointError(f"{file}: cannot be read as plain tensors ({type(exc).__name__}: {str(exc)[:200]}); "
                              "if the file comes from a source you trust, rerun with --trust-pickle") from None
    if isinstance(blob, dict) and "spec" in blob and "state_dict" in blob:
        raise CheckpointError(f"{file}: already a mixlab model file; use it as it is (mixlab.models.load)")
    state = blob.get("state_dict", blob) if isinstance(blob, dict) else None
    if not isinstance(state, dict):
        raise CheckpointError(f"{file}: not a state_dict (found {type(blob).__name__})")
    return state


def bare_state_dict(state: dict, source: str = "checkpoint") -> dict:
    """The separator's tensors under the authors' BSLocoformer names (`blocks.*`, `band_split_module.*`),
    from a task state_dict, an averaged one, or a bare one."""
    out = {}
    for key, value in state.items():
        if _NOT_WEIGHTS.search(key):
            continue
        for prefix in ("model.module.model.", "model.model.", "module.model.", "model.", ""):
            rest = key[len(prefix):]
            if key.startswith(prefix) and rest.startswith(("blocks.", "band_split_module.")):
                out[rest] = value
                break
        else:
            raise CheckpointError(
                f"{source}: {key!r} is not a tensor of the authors' BS-Locoformer (expected keys under "
                "model.model.blocks.* / model.model.band_split_module.*); is this a TFC-TDF-UNet or another "
                "model's checkpoint?")
    if not out:
        raise CheckpointError(f"{source}: holds no BS-Locoformer weights")
    return out


def average(states: list[dict], names: list[str]) -> dict:
    """Mean of each tensor over the checkpoints (the authors' loader: the top-5 by validation loss)."""
    keys = set(states[0])
    for s, name in zip(states[1:], names[1:]):
        if set(s) != keys:
            diff = sorted(keys ^ set(s))[:3]
            raise CheckpointError(f"{name}: does not hold the same tensors as {names[0]} (e.g. {diff})")
    return {k: sum(s[k].double() for s in states).div(len(states)).float() for k in states[0]}


def read_merged_config(path: str | Path) -> dict:
    """merged_config.yaml with `${key}` / `${a.b}` references to keys of the same file resolved; every
    other interpolation (environment, resolvers) is left as text -- the model does not depend on it."""
    import yaml

    cfg = yaml.safe_load(Path(path).read_text())

    def lookup(ref: str):
        node = cfg
        for part in ref.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def resolve(v, depth=0):
        if isinstance(v, dict):
            return {k: resolve(x, depth) for k, x in v.items()}
        if isinstance(v, list):
            return [resolve(x, depth) for x in v]
        if isinstance(v, str) and depth < 16:
            m = re.fullmatch(r"\$\{([A-Za-z_][\w.]*)\}", v.strip())
            if m and (target := lookup(m.group(1))) is not None:
                return resolve(target, depth + 1)
        return v

    return resolve(cfg)


# ---- sizes and the mapping

def weight_sizes(sd: dict, audio_channels: int = 2) -> dict:
    """What the weights fix: blocks, D, FFN width, conv kernel, the band widths, the outputs N."""
    def need(key):
        if key not in sd:
            raise CheckpointError(f"missing tensor {key!r}: the checkpoint is incomplete or not the authors' "
                                  "BS-Locoformer")
        return sd[key]

    n_blocks = 1 + max((int(m.group(1)) for k in sd if (m := re.match(r"blocks\.(\d+)\.", k))), default=-1)
    if n_blocks == 0:
        raise CheckpointError("no separator blocks (blocks.0.*) in the checkpoint")
    n_bands = 1 + max(int(m.group(1)) for k in sd if (m := re.match(rf"{re.escape(ENC)}\.(\d+)\.", k)))
    bands = [need(f"{ENC}.{q}.0.weight").shape[0] // (2 * audio_channels) for q in range(n_bands)]
    if "blocks.0.freq_path.ffn.1.conv1d.weight" not in sd:
        raise CheckpointError("the checkpoint's Locoformer blocks have one FFN; mixlab's are macaron-style (two)")
    emb = need(f"{ENC}.0.1.weight").shape[0]
    attn = need("blocks.0.freq_path.attn.qkv.weight").shape[0] // 3
    if attn != emb:
        raise CheckpointError(f"attention_dim {attn} differs from emb_dim {emb}; mixlab's BS-Locoformer has no such option")
    out0 = need(f"{DEC}.0.4.weight").shape[0]
    return dict(n_blocks=n_blocks, emb_dim=emb, ffn_dim=need("blocks.0.freq_path.ffn.0.deconv1d.weight").shape[0],
                conv_kernel=need("blocks.0.freq_path.ffn.0.conv1d.weight").shape[-1], bands=bands,
                n_outputs=out0 // (bands[0] * audio_channels * 4))


def _width_groups(bands: list[int]):
    widths = sorted(set(bands))
    return widths, [[q for q, b in enumerate(bands) if b == w] for w in widths]


def _enc_perm(w: int, M: int) -> torch.Tensor:
    """For each mixlab in-band position (f, m, ri): its index in the official order (f, ri, m)."""
    f, m, ri = torch.meshgrid(torch.arange(w), torch.arange(M), torch.arange(2), indexing="ij")
    return (f * 2 * M + ri * M + m).reshape(-1)


def _dec_perm(w: int, N: int, M: int) -> torch.Tensor:
    """For each mixlab decoder output (half, f, n, m, ri): its index in the official order (half, ri, n, m, f)."""
    h, f, n, m, ri = torch.meshgrid(torch.arange(2), torch.arange(w), torch.arange(N), torch.arange(M),
                                    torch.arange(2), indexing="ij")
    return (h * (2 * N * M * w) + ri * (N * M * w) + n * (M * w) + m * w + f).reshape(-1)


@torch.no_grad()
def to_mixlab(sd: dict, audio_channels: int = 2) -> dict:
    """The authors' BSLocoformer state_dict (bare) -> mixlab's BSLocoformer state_dict."""
    z = weight_sizes(sd, audio_channels)
    M, N, bands = audio_channels, z["n_outputs"], z["bands"]
    widths, groups = _width_groups(bands)
    used, out = set(), {}

    def take(key):
        if key not in sd:
            raise CheckpointError(f"missing tensor {key!r}: the checkpoint is incomplete")
        used.add(key)
        return sd[key].float()

    for i, (w, members) in enumerate(zip(widths, groups)):        # encoder, bands stacked by width
        p = _enc_perm(w, M)
        out[f"encoder.norm_w.{i}"] = torch.stack([take(f"{ENC}.{q}.0.weight")[p] for q in members])
        out[f"encoder.norm_b.{i}"] = torch.stack([take(f"{ENC}.{q}.0.bias")[p] for q in members])
        out[f"encoder.proj_w.{i}"] = torch.stack([take(f"{ENC}.{q}.1.weight")[:, :, 0].t()[p] for q in members])
        out[f"encoder.proj_b.{i}"] = torch.stack([take(f"{ENC}.{q}.1.bias") for q in members])
    for b in range(z["n_blocks"]):
        for official, ours in _PATHS.items():
            for ok, mk in _BLOCK:
                out[f"separator.{b}.{ours}.{mk}"] = take(f"blocks.{b}.{official}.{ok}")
    Q = len(bands)                                                 # decoder: hidden layers stacked over bands
    out["decoder.norm_w"] = torch.stack([take(f"{DEC}.{q}.0.weight") for q in range(Q)])
    out["decoder.norm_b"] = torch.stack([take(f"{DEC}.{q}.0.bias") for q in range(Q)])
    for j, name in ((1, "fc1"), (2, "fc2")):
        out[f"decoder.{name}_w"] = torch.stack([take(f"{DEC}.{q}.{j}.weight")[:, :, 0].t() for q in range(Q)])
        out[f"decoder.{name}_b"] = torch.stack([take(f"{DEC}.{q}.{j}.bias") for q in range(Q)])
    for i, (w, members) in enumerate(zip(widths, groups)):        # output conv, by width
        p = _dec_perm(w, N, M)
        out[f"decoder.out_w.{i}"] = torch.stack([take(f"{DEC}.{q}.4.weight")[:, :, 0].t()[:, p] for q in members])
        out[f"decoder.out_b.{i}"] = torch.stack([take(f"{DEC}.{q}.4.bias")[p] for q in members])
    unused = sorted(set(sd) - used)
    if unused:
        raise CheckpointError(f"tensors mixlab's BS-Locoformer has no place for: {unused[:5]}")
    return {k: v.contiguous() for k, v in out.items()}


@torch.no_grad()
def to_official(sd: dict, bands: list[int], audio_channels: int = 2) -> dict:
    """Inverse of `to_mixlab`: a mixlab BSLocoformer state_dict in the authors' layout (bare keys)."""
    M = audio_channels
    widths, groups = _width_groups(bands)
    N = sd["decoder.out_w.0"].shape[-1] // (4 * widths[0] * M)
    n_blocks = 1 + max(int(m.group(1)) for k in sd if (m := re.match(r"separator\.(\d+)\.", k)))
    out = {}
    for b in range(n_blocks):
        for official, ours in _PATHS.items():
            for ok, mk in _BLOCK:
                out[f"blocks.{b}.{official}.{ok}"] = sd[f"separator.{b}.{ours}.{mk}"]
    for i, (w, members) in enumerate(zip(widths, groups)):
        inv, dinv = torch.argsort(_enc_perm(w, M)), torch.argsort(_dec_perm(w, N, M))
        for j, q in enumerate(members):
            out[f"{ENC}.{q}.0.weight"] = sd[f"encoder.norm_w.{i}"][j][inv]
            out[f"{ENC}.{q}.0.bias"] = sd[f"encoder.norm_b.{i}"][j][inv]
            out[f"{ENC}.{q}.1.weight"] = sd[f"encoder.proj_w.{i}"][j][inv].t()[:, :, None]
            out[f"{ENC}.{q}.1.bias"] = sd[f"encoder.proj_b.{i}"][j]
            out[f"{DEC}.{q}.4.weight"] = sd[f"decoder.out_w.{i}"][j][:, dinv].t()[:, :, None]
            out[f"{DEC}.{q}.4.bias"] = sd[f"decoder.out_b.{i}"][j][dinv]
    for q in range(len(bands)):
        out[f"{DEC}.{q}.0.weight"] = sd["decoder.norm_w"][q]
        out[f"{DEC}.{q}.0.bias"] = sd["decoder.norm_b"][q]
        for j, name in ((1, "fc1"), (2, "fc2")):
            out[f"{DEC}.{q}.{j}.weight"] = sd[f"decoder.{name}_w"][q].t()[:, :, None]
            out[f"{DEC}.{q}.{j}.bias"] = sd[f"decoder.{name}_b"][q]
    return {k: v.contiguous() for k, v in out.items()}


def model_spec(cfg: dict, sizes: dict, source: str, drop_last_frame: bool = True) -> dict:
    """mixlab's `model` section for a released model: sizes from the weights, heads and groups and the
    STFT from merged_config.yaml, the authors' wrapper (input scaling; the dropped last frame unless
    asked otherwise)."""
    from mixlab.models.bs_locoformer import band_widths

    try:
        net = cfg["task"]["model"]["model"]
        wrapper = cfg["task"]["model"]
    except (KeyError, TypeError):
        raise CheckpointError(f"{source}: no task.model.model section (the BS-Locoformer's arguments)") from None
    checks = {"norm_type": "rmsgroupnorm", "tf_order": "ft", "conv1d_shift": 1,
              "ffn_type": ["swiglu_conv1d", "swiglu_conv1d"]}
    for key, want in checks.items():
        if key in net and net[key] != want:
            raise CheckpointError(f"{source}: task.model.model.{key} = {net[key]!r}; mixlab's BS-Locoformer "
                                  f"implements {want!r} only")
    stated = {"n_blocks": net.get("n_layers"), "emb_dim": net.get("emb_dim"),
              "ffn_dim": (net.get("ffn_hidden_dim") or [None])[0], "conv_kernel": net.get("conv1d_kernel")}
    for key, value in stated.items():
        if value is not None and not isinstance(value, str) and int(value) != sizes[key]:
            raise CheckpointError(f"{source}: says {key} = {value} but the weights have {sizes[key]} -- "
                                  "config and checkpoint belong to different models")
    for key in ("n_heads", "num_groups"):
        if not isinstance(net.get(key), int):
            raise CheckpointError(f"{source}: task.model.model.{key} missing (it is not in the weights)")

    def top(key, *alts):
        for k in (key, *alts):
            v = cfg.get(k, wrapper.get(k))
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return v
        raise CheckpointError(f"{source}: no numeric {key!r} (top level or task.model)")

    sr, n_fft, hop = int(top("sr", "fs")), int(top("n_fft")), int(top("hop_length"))
    if band_widths(sr, n_fft) != sizes["bands"]:
        raise CheckpointError(f"{source}: the weights' {len(sizes['bands'])} bands do not match mixlab's band "
                              f"split at {sr} Hz, n_fft {n_fft}")
    return {"name": "bs_locoformer", "sample_rate": sr, "n_fft": n_fft, "hop_length": hop,
            "audio_channels": int(net.get("num_chan", 2)), "n_outputs": sizes["n_outputs"],
            "n_blocks": sizes["n_blocks"], "emb_dim": sizes["emb_dim"], "ffn_dim": sizes["ffn_dim"],
            "n_heads": net["n_heads"], "n_groups": net["num_groups"], "conv_kernel": sizes["conv_kernel"],
            "conv_stride": int(net.get("conv1d_shift", 1)), "eps": float(net.get("eps", 1e-5)),
            "dropout": float(net.get("dropout", 0.0)), "rope": False,
            "input_scaling": bool(wrapper.get("scaling", True)), "drop_last_frame": drop_last_frame}


# how the authors separate with their models (12 s chunks, 6 s overlap, summed, bf16 autocast on GPUs)
AUTHORS_SEPARATE = {"chunk_seconds": 12.0, "overlap": 0.5, "window": "boxcar", "batch_size": 1, "amp": "bf16"}


def import_checkpoint(folder: str | Path, out: str | Path, trust_pickle: bool = False, drop_last_frame: bool = True,
                      progress=print, separate: dict | None = None) -> dict:
    """A released model folder -> a mixlab model file (the averaged checkpoints, mapped). Returns its spec.

    `separate`: the separation settings the model file carries (default: the authors')."""
    from mixlab.models.io import save_model
    from mixlab.models.registry import build_model

    folder = Path(folder)
    files = checkpoint_files(folder)
    states = [bare_state_dict(_read(f, trust_pickle), str(f)) for f in files]
    config = (folder if folder.is_dir() else folder.parent.parent) / "merged_config.yaml"
    if not config.is_file():
        raise CheckpointError(f"{config}: missing; a released model folder holds merged_config.yaml beside "
                              "checkpoints/ (the heads and norm groups are not in the weights)")
    official = average(states, [str(f) for f in files]) if len(states) > 1 else states[0]
    sizes = weight_sizes(official)
    spec_model = model_spec(read_merged_config(config), sizes, str(config), drop_last_frame)
    state = to_mixlab(official)
    model = build_model(spec_model)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"{folder}: the mapped weights do not fit mixlab's BS-Locoformer: {exc}") from None
    spec = {"model": spec_model, "separate": dict(separate or AUTHORS_SEPARATE),
            "source": {"released": str(folder), "files": [f.name for f in files], "code": OFFICIAL_REPO}}
    save_model(out, spec, state, step=0)
    progress(f"[import-checkpoint] {folder}: {len(files)} checkpoint(s) averaged ({', '.join(f.name for f in files)}), "
             f"N={sizes['n_outputs']}, {sizes['n_blocks']} blocks, D={sizes['emb_dim']} -> {out}")
    return spec
