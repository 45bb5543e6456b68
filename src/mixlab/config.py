"""Workflow configuration: JSON-schema validation with messages that name the key, and preset resolution."""
from __future__ import annotations

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


def validate(config: dict, schema_path: str | Path | None = None) -> dict:
    """Raise ConfigError naming the first bad key; return the resolved preset on success."""
    schema = yaml.safe_load(Path(schema_path or SCHEMA).read_text())
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if errors:
        err = _deepest(errors[0])
        raise ConfigError(f"invalid config key '{_key_path(err.absolute_path)}': {err.message}")
    scale = config["scale"]
    if scale not in config["presets"]:
        raise ConfigError(f"invalid config key 'scale': {scale!r} is not a preset; "
                          f"choose one of {sorted(config['presets'])}")
    preset = config["presets"][scale]
    if preset["dataset"] == "musdb":
        root = config.get("musdb_root")
        if not root:
            raise ConfigError(f"missing config key 'musdb_root': scale '{scale}' reads real MUSDB18-HQ; "
                              f"pass --config musdb_root=/path/to/musdb18hq")
        if not Path(root).is_dir():
            raise ConfigError(f"config key 'musdb_root': {root} is not a directory")
    elif "synth" not in preset:
        raise ConfigError(f"missing config key 'presets.{scale}.synth': a synthetic dataset needs its settings")
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
    return resolve(config)


def resolve(config: dict) -> dict:
    """The flat view rules use: the selected preset plus the top-level keys."""
    preset = dict(config["presets"][config["scale"]])
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
