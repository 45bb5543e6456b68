import functools
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from mixlab.config import ConfigError, validate
from mixlab.data import synth as _synth
from mixlab.data.tracks import list_tracks


# Validate before any job runs; a bad key stops here with its name.
try:
    P = validate(config, Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml")
except ConfigError as exc:
    raise WorkflowError(f"config.yaml: {exc}")

SCALE = P["scale"]
RES = f"results/{SCALE}"
STEMS = list(_synth.STEMS)


wildcard_constraints:
    p=r"[0-9]+(\.[0-9]+)?",
    split="train|valid|test",


def synth_spec():
    return _synth.SynthSpec(sample_rate=P["sample_rate"], **P["synth"])


def corpus_root():
    """Root of the MUSDB18-HQ-layout corpus: the synthetic one a rule builds, or the real one."""
    if P["dataset"] == "synthetic":
        return f"{RES}/corpus/musdb"
    return P["musdb_root"]


ENV = "../../envs/mixlab.yaml"


@functools.cache
def tracks(split):
    if P["dataset"] == "synthetic":
        return _synth.track_names(synth_spec(), split)
    return list_tracks(P["musdb_root"], split)


def fmt_p(p):
    return f"{float(p):.2f}"


FIG1_P = [fmt_p(p) for p in P["fig1"]["p"]]
# The models each experiment trains, by the id used in file names.
EXPERIMENT_MODELS = {"fig1": [f"p{p}" for p in FIG1_P]}


def crosscheck_pairs(exp):
    """A seeded sample of (model, track) pairs of an experiment that museval rescores."""
    import random

    pairs = [(m, t) for m in EXPERIMENT_MODELS[exp] for t in tracks("test")]
    return random.Random(0).sample(pairs, min(P["scorer_crosscheck"], len(pairs)))


def crosscheck_input(exp):
    """The cross-check report a figure waits for when the fast scorer is used."""
    if P["scorer"] == "fast" and P["scorer_crosscheck"] > 0:
        return [f"{RES}/crosscheck/{exp}.json"]
    return []


def run_spec(p):
    """What one training run is: model, training settings and p. Changing it retrains."""
    return {
        "model": {**P["model"], "sample_rate": P["sample_rate"]},
        "train": {**P["train"], "p_original": float(p)},
    }


def train_resources(key):
    return P["resources"][key]


def final_targets():
    return ["results/fig1.pdf"]


# Rules call the `mixlab` console script of the interpreter running Snakemake,
# also when the environment was not activated (e.g. `.venv/bin/snakemake`).
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
