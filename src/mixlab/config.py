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
    preset = config["presets"][scale]
    dataset = config.get("dataset") or preset["dataset"]
    if dataset == "musdb":
        root = config.get("musdb_root")
        if not root:
            raise ConfigError(f"missing config key 'musdb_root': scale '{scale}' reads real MUSDB18-HQ; "
                              f"pass --config musdb_root=/path/to/musdb18hq")
        if not Path(root).is_dir():
            raise ConfigError(f"config key 'musdb_root': {root} is not a directory")
    elif "synth" not in preset:
        raise ConfigError(f"missing config key 'presets.{scale}.synth': scale '{scale}' has no synthetic corpus "
                          "settings; use dataset=musdb with musdb_root=..., or a scale that has them (demo, tiny)")
    else:
        s = preset["synth"]
        if s["min_seconds"] > s["max_seconds"]:
            raise ConfigError(f"config key 'presets.{scale}.synth.min_seconds' exceeds max_seconds")
    fma = preset["mixit"]["fma"]
    if fma == "fma":
        # required only by Paper B's pre-training; the workflow asks for it when such a job is needed
        root = config.get("fma_root")
        if root and not Path(root).is_dir():
            raise ConfigError(f"config key 'fma_root': {root} is not a directory")
    else:
        sizes = [fma[s] for s in ("small", "medium", "large", "full")]
        if sizes != sorted(sizes):
            raise ConfigError(f"config key 'presets.{scale}.mixit.fma': subset sizes must be nested "
                              f"(small <= medium <= large <= full), got {sizes}")
        if fma["min_seconds"] > fma["max_seconds"]:
            raise ConfigError(f"config key 'presets.{scale}.mixit.fma.min_seconds' exceeds max_seconds")
    check_cross_keys(config["presets"][scale], f"presets.{scale}")
    return resolve(config)


def _fail(key: str, message: str):
    raise ConfigError(f"invalid config key '{key}': {message}")


def check_cross_keys(preset: dict, at: str) -> None:
    """What the schema cannot say: values that only fail together, found here instead of inside a job."""
    m, rate = preset["model"], preset["sample_rate"]
    if m["name"] == "tfc_tdf_v3":
        bins = m["n_fft"] // 2 + 1
        if m["dim_f"] > bins:
            _fail(f"{at}.model.dim_f", f"{m['dim_f']} frequency bins, but n_fft {m['n_fft']} gives only {bins}; "
                  f"use dim_f <= {bins} (the reference drops the highest bin: dim_f = n_fft / 2)")
        scale_t, scale_f = (m.get("scale") or [2, 2])[:2]
        sub, n = m.get("num_subbands", 1), m.get("num_scales", 1)
        if m["dim_f"] % (sub * scale_f ** n):
            _fail(f"{at}.model.dim_f", f"{m['dim_f']} is not divisible by num_subbands x scale[1]^num_scales "
                  f"= {sub * scale_f ** n}; the U-Net halves it {n} times in each of {sub} subbands")
        frames = scale_t ** n
        if m["dim_t"] % frames:
            _fail(f"{at}.model.dim_t", f"{m['dim_t']} frames is not a multiple of scale[0]^num_scales = {frames}; "
                  f"the training chunk (hop_length x (dim_t - 1) samples) must give a multiple of {frames} frames")
        sep = preset["separate"]["dim_t"]
        if sep % frames:
            _fail(f"{at}.separate.dim_t", f"{sep} frames is not a multiple of {frames} (scale[0]^num_scales)")
        if sep < m["dim_t"]:
            _fail(f"{at}.separate.dim_t", f"{sep} frames is shorter than the training chunk (model.dim_t "
                  f"{m['dim_t']}); separate with chunks at least as long as the model was trained on")
        chunk_s = m["hop_length"] * (m["dim_t"] - 1) / rate
        if preset["train"].get("target_lufs") is not None and chunk_s < 0.4:
            _fail(f"{at}.train.target_lufs", f"the training chunk is {chunk_s:.3f} s, shorter than the 0.4 s "
                  f"block of BS.1770 loudness; raise model.dim_t or set target_lufs: null")
    mx = preset["mixit"]
    mm = mx["model"]
    if mm["hop_length"] > mm["n_fft"]:
        _fail(f"{at}.mixit.model.hop_length", f"{mm['hop_length']} exceeds n_fft {mm['n_fft']}")
    if mm["chunk_seconds"] * rate < mm["n_fft"]:
        _fail(f"{at}.mixit.model.chunk_seconds", f"{mm['chunk_seconds']} s is shorter than one STFT frame "
              f"(n_fft {mm['n_fft']} at {rate} Hz)")
    if mx["separate"]["chunk_seconds"] < mm["chunk_seconds"]:
        _fail(f"{at}.mixit.separate.chunk_seconds", f"{mx['separate']['chunk_seconds']} s is shorter than "
              f"the training chunk (mixit.model.chunk_seconds {mm['chunk_seconds']} s)")
    if mx["clips"]["hop_seconds"] > mx["clips"]["clip_seconds"]:
        _fail(f"{at}.mixit.clips.hop_seconds", "exceeds clip_seconds: parts of every file would be skipped")


def run_name(config: dict) -> str:
    """results/<run name>/: the scale, plus the dataset when it is not the preset's own."""
    scale = config["scale"]
    own = config["presets"][scale]["dataset"]
    dataset = config.get("dataset") or own
    return scale if dataset == own else f"{scale}-{dataset}"


def resolve(config: dict) -> dict:
    """The flat view rules use: the selected preset plus the top-level keys."""
    preset = dict(config["presets"][config["scale"]])
    preset["dataset"] = config.get("dataset") or preset["dataset"]
    preset["run"] = run_name(config)
    preset["scale"] = config["scale"]
    preset["musdb_root"] = config.get("musdb_root")
    preset["fma_root"] = config.get("fma_root")
    preset["scorer"] = config.get("scorer", "museval")
    preset["scorer_crosscheck"] = config.get("scorer_crosscheck", 0)
    return preset


def load(path: str | Path, overrides: dict | None = None) -> dict:
    config = yaml.safe_load(Path(path).read_text())
    config.update(overrides or {})
    return validate(config)
