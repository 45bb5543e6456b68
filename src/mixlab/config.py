"""Workflow configuration: JSON-schema validation with messages that name the key, and preset resolution.

Numbers may arrive as strings: PyYAML reads `1e-3` (no dot) as a string, and Snakemake's
`--config 'presets={demo: {train: {steps: 50}}}'` hands every nested value over as one.
Where the schema wants a number, an integer or a boolean and the string spells one, it is
converted in place before validation; anything else still fails with the key named.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import jsonschema
import yaml

from mixlab.errors import read_yaml

SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    pass


def _key_path(parts) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "<top level>"


def _deepest(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For if/then/allOf failures, the leaf error names the offending key best."""
    while error.context:
        error = max(error.context, key=lambda e: len(e.absolute_path))
    return error


_NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?|[-+]?\.?inf|\.nan", re.IGNORECASE)
_NOTHING = object()


def _scalar(text: str, types) -> object:
    """The value a string spells, if it is of one of the schema's types; else _NOTHING."""
    types = [types] if isinstance(types, str) else list(types)
    t = text.strip()
    if ("integer" in types or "number" in types) and re.fullmatch(r"[-+]?\d+", t):
        return int(t)
    if "number" in types and _NUMBER.fullmatch(t):
        v = float(t.lower().replace(".inf", "inf"))    # YAML spells infinity .inf
        return v if not math.isnan(v) else _NOTHING
    if "boolean" in types and t.lower() in ("true", "false"):
        return t.lower() == "true"
    if "null" in types and t.lower() in ("null", "none", "~"):
        return None
    return _NOTHING


def _type_errors(error):
    if error.validator == "type" and isinstance(error.instance, str):
        yield error
    for sub in error.context or ():
        yield from _type_errors(sub)


def coerce_numbers(config: dict, validator) -> None:
    """Turn numeric strings into numbers where the schema asks for numbers (in place)."""
    for _ in range(1000):
        changed = False
        for error in validator.iter_errors(config):
            for e in _type_errors(error):
                value = _scalar(e.instance, e.validator_value)
                path = list(e.absolute_path)
                if value is _NOTHING or not path:
                    continue
                parent = config
                for key in path[:-1]:
                    parent = parent[key]
                if parent[path[-1]] is e.instance:
                    parent[path[-1]] = value
                    changed = True
        if not changed:
            return


def merge(base: dict, overlay: dict) -> dict:
    """`base` with `overlay` on top: mappings merge key by key, anything else (lists, numbers) replaces."""
    out = dict(base)
    for k, v in overlay.items():
        out[k] = merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out


def _has(tree, path) -> bool:
    for key in path:
        if not isinstance(tree, (dict, list)) or (isinstance(tree, dict) and key not in tree):
            return False
        if isinstance(tree, list) and not (isinstance(key, int) and key < len(tree)):
            return False
        tree = tree[key]
    return True


def preset_key_namer(config: dict, scale: str):
    """Name a key of the merged preset where the user wrote it: the scale's overlay, else the base."""
    overlay = config["presets"][scale] or {}

    def name(key) -> str:
        path = [int(p) if p.isdigit() else p for p in re.split(r"[.\[\]]+", key) if p] if isinstance(key, str) else list(key)
        where = f"presets.{scale}" if _has(overlay, path) else "base"
        return f"{where}.{_key_path(path)}" if path else where
    return name


def preset(config: dict) -> dict:
    """The selected scale's settings: its overlay merged onto the base -- with `fidelity: code`, onto the
    base with the code's side of every paper/code conflict (`fidelity_code`) first, so a scale's own
    sizes and budgets still win."""
    base = config["base"]
    if config.get("fidelity", "paper") == "code":
        base = merge(base, config.get("fidelity_code") or {})
    return merge(base, config["presets"][config["scale"]] or {})


def validate(config: dict, schema_path: str | Path | None = None) -> dict:
    """Raise ConfigError naming the first bad key; return the resolved preset on success."""
    schema = yaml.safe_load(Path(schema_path or SCHEMA).read_text())
    validator = jsonschema.Draft7Validator(schema)
    coerce_numbers(config, validator)
    errors = sorted(validator.iter_errors(config), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if errors:
        err = _deepest(errors[0])
        raise ConfigError(f"invalid config key '{_key_path(err.absolute_path)}': {err.message}")
    scale = config["scale"]
    if scale not in config["presets"]:
        raise ConfigError(f"invalid config key 'scale': {scale!r} is not a preset; "
                          f"choose one of {sorted(config['presets'])}")
    # the merged preset against the full preset schema; an error names the key where it was written
    name = preset_key_namer(config, scale)
    merged = preset(config)
    preset_validator = jsonschema.Draft7Validator({"$ref": "#/definitions/preset", "definitions": schema["definitions"]})
    coerce_numbers(merged, preset_validator)
    errors = sorted(preset_validator.iter_errors(merged), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if errors:
        err = _deepest(errors[0])
        raise ConfigError(f"invalid config key '{name(list(err.absolute_path))}': {err.message}")
    dataset = config.get("dataset") or merged["dataset"]
    if dataset == "musdb":
        root = config.get("musdb_root")
        if not root:
            raise ConfigError(f"missing config key 'musdb_root': scale '{scale}' reads real MUSDB18-HQ; "
                              f"pass --config musdb_root=/path/to/musdb18hq")
        if not Path(root).is_dir():
            raise ConfigError(f"config key 'musdb_root': {root} is not a directory")
    elif dataset == "rendered":
        if "render" not in merged:
            raise ConfigError(f"missing config key 'presets.{scale}.render': scale '{scale}' has no rendered corpus "
                              "settings; add render: {seed, n_train, n_valid, n_test, seconds} to its preset")
        if "table1" in merged and merged["render"]["n_train"] < 4:
            raise ConfigError(f"config key '{name('render.n_train')}': Table 1's song-level random songs need at "
                              f"least 4 training songs (one per stem), got {merged['render']['n_train']}")
    elif "synth" not in merged:
        raise ConfigError(f"missing config key 'presets.{scale}.synth': scale '{scale}' has no synthetic corpus "
                          "settings; use dataset=musdb with musdb_root=..., or a scale that has them (demo, tiny)")
    else:
        s = merged["synth"]
        if s["min_seconds"] > s["max_seconds"]:
            raise ConfigError(f"config key '{name('synth.min_seconds')}' exceeds max_seconds")
        # Table 1's song-level random songs take each stem from a different song (caught here, not
        # after an hour of training the other figures)
        if "table1" in merged and s["n_train"] < 4:
            raise ConfigError(f"config key '{name('synth.n_train')}': Table 1's song-level random songs need at "
                              f"least 4 training songs (one per stem), got {s['n_train']}")
    fma = merged["mixit"]["fma"]
    if fma == "fma":
        # required only by Paper B's pre-training; the workflow asks for it when such a job is needed
        root = config.get("fma_root")
        if root and not Path(root).is_dir():
            raise ConfigError(f"config key 'fma_root': {root} is not a directory")
    else:
        sizes = [fma[s] for s in ("small", "medium", "large", "full")]
        if sizes != sorted(sizes):
            raise ConfigError(f"config key '{name('mixit.fma')}': subset sizes must be nested "
                              f"(small <= medium <= large <= full), got {sizes}")
        if fma["min_seconds"] > fma["max_seconds"]:
            raise ConfigError(f"config key '{name('mixit.fma.min_seconds')}' exceeds max_seconds")
    released = config.get("released_root")
    if released and not Path(released).is_dir():
        raise ConfigError(f"config key 'released_root': {released} is not a directory")
    if config.get("mixit_pretrained", "train") == "released" and not released:
        raise ConfigError("config key 'mixit_pretrained' is 'released' but 'released_root' is not set; pass "
                          "--config released_root=/path/to/mixit-mss/model_weights")
    check_cross_keys(merged, name)
    return resolve(config, merged)


def _fail(key: str, message: str):
    raise ConfigError(f"invalid config key '{key}': {message}")


def check_cross_keys(preset: dict, name=lambda key: key) -> None:
    """What the schema cannot say: values that only fail together, found here instead of inside a job."""
    m, rate = preset["model"], preset["sample_rate"]
    if m["name"] == "tfc_tdf_v3":
        bins = m["n_fft"] // 2 + 1
        if m["dim_f"] > bins:
            _fail(name("model.dim_f"), f"{m['dim_f']} frequency bins, but n_fft {m['n_fft']} gives only {bins}; "
                  f"use dim_f <= {bins} (the reference drops the highest bin: dim_f = n_fft / 2)")
        scale_t, scale_f = (m.get("scale") or [2, 2])[:2]
        sub, n = m.get("num_subbands", 1), m.get("num_scales", 1)
        if m["dim_f"] % (sub * scale_f ** n):
            _fail(name("model.dim_f"), f"{m['dim_f']} is not divisible by num_subbands x scale[1]^num_scales "
                  f"= {sub * scale_f ** n}; the U-Net halves it {n} times in each of {sub} subbands")
        frames = scale_t ** n
        if m["dim_t"] % frames:
            _fail(name("model.dim_t"), f"{m['dim_t']} frames is not a multiple of scale[0]^num_scales = {frames}; "
                  f"the training chunk (hop_length x (dim_t - 1) samples) must give a multiple of {frames} frames")
        sep = preset["separate"]["dim_t"]
        if sep % frames:
            _fail(name("separate.dim_t"), f"{sep} frames is not a multiple of {frames} (scale[0]^num_scales)")
        if sep < m["dim_t"]:
            _fail(name("separate.dim_t"), f"{sep} frames is shorter than the training chunk (model.dim_t "
                  f"{m['dim_t']}); separate with chunks at least as long as the model was trained on")
        chunk_s = m["hop_length"] * (m["dim_t"] - 1) / rate
        if preset["train"].get("target_lufs") is not None and chunk_s < 0.4:
            _fail(name("train.target_lufs"), f"the training chunk is {chunk_s:.3f} s, shorter than the 0.4 s "
                  f"block of BS.1770 loudness; raise model.dim_t or set target_lufs: null")
    # the global batch is processes x micro-batch x accumulate: caught here, not when the training job starts
    mx_res = {**preset["resources"], **preset["mixit"].get("resources", {})}
    for section, gpus, key in (("train", preset["resources"]["train"]["gpu"], "train"),
                               ("pretrain", mx_res["train"]["gpu"], "mixit.pretrain"),
                               ("finetune", mx_res["train"]["gpu"], "mixit.finetune")):
        t = preset["train"] if section == "train" else preset["mixit"][section]
        procs, acc = max(1, gpus), t.get("accumulate", 1)
        if t["batch_size"] % (procs * acc):
            res = "resources.train.gpu" if section == "train" else "mixit.resources.train.gpu"
            _fail(name(f"{key}.accumulate" if "accumulate" in t else f"{key}.batch_size"),
                  f"{key}.batch_size {t['batch_size']} is not divisible by {procs} GPU process(es) ({res}) x "
                  f"accumulate {acc}; the global batch is processes x micro-batch x accumulate")
    fig1 = {f"{float(p):.2f}" for p in preset["fig1"]["p"]}
    for fig, why in (("fig2", "Fig. 2 follows the training of Fig. 1's models"),
                     ("fig4", "Fig. 4 scores Fig. 1's models on shifted test sets")):
        extra = sorted({f"{float(p):.2f}" for p in preset.get(fig, {}).get("p", [])} - fig1)
        if extra:
            _fail(name(f"{fig}.p"), f"{', '.join(extra)} must be among fig1.p ({why})")
    mx = preset["mixit"]
    mm = mx["model"]
    if mm["hop_length"] > mm["n_fft"]:
        _fail(name("mixit.model.hop_length"), f"{mm['hop_length']} exceeds n_fft {mm['n_fft']}")
    if mm["chunk_seconds"] * rate < mm["n_fft"]:
        _fail(name("mixit.model.chunk_seconds"), f"{mm['chunk_seconds']} s is shorter than one STFT frame "
              f"(n_fft {mm['n_fft']} at {rate} Hz)")
    if mx["separate"]["chunk_seconds"] < mm["chunk_seconds"]:
        _fail(name("mixit.separate.chunk_seconds"), f"{mx['separate']['chunk_seconds']} s is shorter than "
              f"the training chunk (mixit.model.chunk_seconds {mm['chunk_seconds']} s)")
    if mx["clips"]["hop_seconds"] > mx["clips"]["clip_seconds"]:
        _fail(name("mixit.clips.hop_seconds"), "exceeds clip_seconds: parts of every file would be skipped")


def run_name(config: dict, merged: dict | None = None) -> str:
    """results/<run name>/: `run` when given; else the scale, plus the dataset when it is not the preset's
    own, plus -code with fidelity=code."""
    if config.get("run"):
        return config["run"]
    own = (merged or preset(config))["dataset"]
    dataset = config.get("dataset") or own
    name = config["scale"] if dataset == own else f"{config['scale']}-{dataset}"
    return name + ("-code" if config.get("fidelity", "paper") == "code" else "")


# Top-level keys that name a run by themselves (scale, dataset, fidelity) or only say where things are:
# an override of one of them does not add a fingerprint.
NAMING_KEYS = ("scale", "dataset", "fidelity", "run", "musdb_root", "fma_root", "released_root")
# Training settings that change no weights (beyond rounding): how batches are fed, split and recomputed; a run
# resumes across them, and they name no run of their own
NOT_IN_WEIGHTS = ("workers", "accumulate", "checkpoint_activations")
# ... nor does the hardware a job asks for
NO_RESULT = ("resources", *NOT_IN_WEIGHTS)


def fingerprint(P: dict) -> str:
    """8 hex digits of everything in a resolved config that can change a model, a score or a figure."""
    import hashlib
    import json

    def strip(node):
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in NO_RESULT}
        return node

    text = json.dumps(strip({k: v for k, v in P.items() if k not in NAMING_KEYS}), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def validate_run(config: dict, files_config: dict, schema_path: str | Path | None = None) -> dict:
    """Validate the config a workflow runs -- its files plus --config overrides, merged -- and name its run.

    Overrides that change a result add `+<fingerprint>` to the run's name, so a run with them never writes
    into the models, figures or tables of the run without them (results/demo vs results/demo+1a2b3c4d);
    editing a config file changes the run it names. `run=NAME` names the run outright."""
    P = validate(config, schema_path)
    if config.get("run"):
        return P
    base = {**files_config, **{k: config[k] for k in NAMING_KEYS if k in config}}
    try:
        same = fingerprint(validate(base, schema_path)) == fingerprint(P)
    except ConfigError:       # the files alone are incomplete: the overrides make the run
        same = False
    if not same:
        P["run"] = f"{P['run']}+{fingerprint(P)}"
    return P


def resolve(config: dict, merged: dict | None = None) -> dict:
    """The flat view rules use: the selected preset (overlay on base) plus the top-level keys."""
    p = dict(merged if merged is not None else preset(config))
    p["dataset"] = config.get("dataset") or p["dataset"]
    p["run"] = run_name(config, merged)
    p["scale"] = config["scale"]
    p["musdb_root"] = config.get("musdb_root")
    p["fma_root"] = config.get("fma_root")
    p["scorer"] = config.get("scorer", "museval")
    p["scorer_crosscheck"] = config.get("scorer_crosscheck", 0)
    p["released_root"] = config.get("released_root")
    p["mixit_pretrained"] = config.get("mixit_pretrained", "train")
    p["paper_b_published"] = config.get("paper_b_published") or {}
    return p


def load(path, overrides: dict | None = None) -> dict:
    """Validate config file(s) -- later ones merged onto earlier ones, as Snakemake's --configfile
    does -- plus top-level overrides; return the resolved preset."""
    config = {}
    for one in ([path] if isinstance(path, (str, Path)) else path):
        config = merge(config, read_yaml(one, "a YAML config", "pass a config file such as config.yaml") or {})
    config.update(overrides or {})
    return validate(config)
