import functools
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir).parent / "src"))

from mixlab.config import ConfigError
from mixlab.config import validate_run as _validate_run
from mixlab.data import synth as _synth
from mixlab.data.layout import STEMS as _STEMS
from mixlab import plan as _plan


def _files_config():
    """The config the files alone give (the workflow's config.yaml, then --configfile ones), without --config."""
    from snakemake.common.configfile import load_configfile
    from snakemake.utils import update_config

    cli = [str(f) for f in workflow.config_settings.configfiles]
    files = [str(f) for f in workflow.configfiles if str(f) not in cli] + cli
    merged = {}
    for f in files:
        update_config(merged, load_configfile(f))
    return merged


# Validate before any job runs; a bad key stops here with its name.
try:
    FILES_CONFIG = _files_config()
    P = _validate_run(config, FILES_CONFIG, Path(workflow.basedir) / "schemas" / "config.schema.yaml")
except ConfigError as exc:
    raise WorkflowError(f"config.yaml: {exc}")

SCALE = P["scale"]
# results/demo; results/demo-musdb when a scale runs on another dataset; results/demo+<fingerprint> when
# --config overrides change a result (mixlab.config.validate_run): no run writes into another's files
RES = f"results/{P['run']}"
# results/fig3.pdf etc.: copies of the figures and tables of the run config.yaml alone names (the README's
# first command builds results/fig3.pdf)
def _default_run():
    try:
        return _validate_run(FILES_CONFIG, FILES_CONFIG, Path(workflow.basedir) / "schemas" / "config.schema.yaml")["run"]
    except ConfigError:
        return None


DEFAULT_RUN = not workflow.config_settings.configfiles and P["run"] == _default_run()
STEMS = list(_STEMS)


wildcard_constraints:
    p=r"[0-9]+(\.[0-9]+)?",
    split="train|valid|test",
    exp=r"fig[0-9][a-z]?|table1|mixit|released",
    testset=r"test|(time|pitch)[0-9.e+-]+_s[0-9]+",
    kind="time|pitch",
    value=r"[0-9]+(\.[0-9]+)?(e[+-]?[0-9]+)?",
    seed=r"[0-9]+",
    semitones=r"[+-][0-9]+",
    level="original|random",
    base=r"train|table1_(original|random)_s[0-9]+",
    model=r"[A-Za-z0-9_.+-]+",
    size="small|medium|large",
    subset="small|medium|large|full",
    table="table[123]",
    rtable="table[13]",


def synth_spec():
    return _synth.SynthSpec(sample_rate=P["sample_rate"], **P["synth"])


# Real MUSDB18-HQ is checked whole (every header) while the DAG is built: a bad file stops the run
# here, with every problem listed, instead of days later in the job that first reads it.
MUSDB = None
if P["dataset"] == "musdb":
    from mixlab.data.check_musdb import check_musdb as _check_musdb
    from mixlab.data import musdb_import as _musdb_import

    MUSDB = _check_musdb(P["musdb_root"])
    for _w in MUSDB.warnings if MUSDB.ok else []:
        print(f"mixlab: warning: {_w}", file=sys.stderr)
    if not MUSDB.ok:
        raise WorkflowError(MUSDB.text() + "\n(`mixlab check-musdb --root ROOT` prints this report; fix the files named "
                            "and rerun -- nothing has been run)")
    MUSDB_IMPORT = _musdb_import.needs_import(P)


def corpus_root():
    """Root of the MUSDB18-HQ-layout corpus: the synthetic one a rule builds, real MUSDB18-HQ resampled
    to the scale's rate (laptop scales), or the real tree itself (44.1 kHz, every song)."""
    if P["dataset"] == "synthetic":
        return f"{RES}/corpus/musdb"
    if MUSDB_IMPORT:
        return f"{RES}/corpus/musdb18hq"
    return P["musdb_root"]


ENV = "../../envs/mixlab.yaml"


def testset_root(testset):
    """Corpus a test set lives in: the test split itself, or a per-stem shifted copy of it (Fig. 4)."""
    return corpus_root() if testset == "test" else f"{RES}/testsets/{testset}"


@functools.cache
def tracks(split):
    if P["dataset"] == "synthetic":
        return _synth.track_names(synth_spec(), split)
    return _musdb_import.select(MUSDB.tracks, P.get("musdb") or {})[split]


# which runs, specs, stores and test sets this config implies: mixlab/plan.py (unit-tested)
PLAN = _plan.plan(P, {split: tracks(split) for split in ("train", "valid", "test")})


def crosscheck_pairs(exp):
    return PLAN.crosscheck_pairs(exp, P["scorer_crosscheck"])


def crosscheck_input(exp):
    """The cross-check report a figure waits for when the fast scorer is used."""
    if P["scorer"] == "fast" and P["scorer_crosscheck"] > 0:
        return [f"{RES}/crosscheck/{exp}.json"]
    return []


def train_job(exp, model):
    try:
        return PLAN.train_job(exp, model, RES)
    except KeyError as exc:
        raise WorkflowError(exc.args[0])


def train_stores(exp, model):
    return PLAN.train_stores(exp, model, RES)


def job_class(cls, paper="a"):
    """A preset's resources for one class of job (train, infer, prep, light); Paper B's may override them."""
    classes = {**P["resources"], **(P["mixit"].get("resources", {}) if paper == "b" else {})}
    return classes[cls]


def job_threads(cls, paper="a"):
    r = job_class(cls, paper)
    return r["cpus"] * max(1, r["gpu"])


def job_resources(cls, paper="a"):
    """Snakemake resources of a job class: `gpu` (also the local --resources gpu=N budget), mem_mb and
    runtime (minutes); GPU jobs ask SLURM for cpus per GPU, CPU jobs for `threads` CPUs."""
    r = job_class(cls, paper)
    res = {"gpu": r["gpu"], "mem_mb": r["mem_mb"], "runtime": r["runtime"]}
    if r["gpu"] > 0:
        res["cpus_per_gpu"] = r["cpus"]
    if cls == "train":
        # SLURM: SIGTERM a tenth of the time limit (at most 10 min) before it; the training writes its
        # checkpoint and exits, the retry resumes. TERM, not USR1: the Snakemake job step that runs the
        # rule inside the allocation shuts down gracefully on TERM and dies on USR1.
        res["slurm_extra"] = f"--signal=TERM@{max(5, min(600, r['runtime'] * 6))}"
    return res


def paper_of(exp):
    """Which paper's job classes a model of this experiment uses."""
    return "b" if exp in ("mixit", "released") else "a"


def job_device(cls, paper="a"):
    return "cuda" if job_class(cls, paper)["gpu"] > 0 else "cpu"


# Rules run `python -m mixlab`: the Python of the interpreter running Snakemake, also when its
# environment was not activated (e.g. `.venv/bin/snakemake`), or the job's conda env (--sdm conda),
# which holds the dependencies; mixlab itself comes from this repository either way. Jobs inherit
# both variables, locally and on SLURM (sbatch --export=ALL).
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
os.environ.update(PYTHONPATH=os.pathsep.join(
    [str(Path(workflow.basedir).parent / "src")] + [p for p in [os.environ.get("PYTHONPATH")] if p]))


# results/fig3.pdf, results/table1.md, ...: copies of the default run's figures and tables, so the first
# command of the README builds results/fig3.pdf. Any other run's are in its own folder only.
SHORTCUTS = (r"(fig[1-5]|training)\.(pdf|png|csv|md)|table1\.(md|csv|tex)|effects_a\.md"
             r"|mixit/(table[123]\.(md|csv|tex)|effects\.md|released/table[13]\.(md|csv))")


def shortcut_source(name):
    if not DEFAULT_RUN:
        raise WorkflowError(f"results/{name} is the default run's copy (the command without --config); this "
                            f"config's run is {RES}/: ask for {RES}/{name} (or the target paper_a / paper_b)")
    return f"{RES}/{name}"


def shortcuts(targets):
    """The top-level copies of a run's targets, for the default run only."""
    prefix = f"{RES}/"
    return [f"results/{t[len(prefix):]}" for t in targets if t.startswith(prefix)] if DEFAULT_RUN else []



def trained_histories():
    """label -> history CSV of every model the final targets train (both papers)."""
    return PLAN.histories(RES)


# ---- Paper A

@functools.cache
def chunk_samples():
    """Samples per training chunk of the preset's model (Fig. 2's evaluation chunks)."""
    from mixlab.models import model_chunk

    return model_chunk({**P["model"], "sample_rate": P["sample_rate"]})


# ---- Paper B

def fma_source_root(subset):
    """FMA root for one subset's preparation; a wrong root is named while the DAG is built."""
    if P["mixit"]["fma"] == "fma":
        from mixlab.papers.mixit.fma import check_fma_root

        if not P["fma_root"]:
            raise WorkflowError("missing config key 'fma_root': this target pre-trains on real FMA; pass "
                                "--config fma_root=/path/to/fma (the folder holding fma_small/ ... fma_full/)")
        problem = check_fma_root(P["fma_root"], subset)
        if problem:
            raise WorkflowError(problem)
        return P["fma_root"]
    return f"{RES}/corpus/fma"


def released_input(model):
    """The authors' released folder of a model; a missing one is named while the DAG is built, with the
    download command."""
    from mixlab.papers.mixit.released import DOWNLOAD, missing, released_folder

    if not P["released_root"]:
        raise WorkflowError("missing config key 'released_root': this target uses the authors' released Paper B "
                            f"models; download them with {DOWNLOAD}")
    gone = missing(P["released_root"], [model])
    if gone:
        raise WorkflowError(f"{gone[0]}: no released model there (checkpoints/ + merged_config.yaml); "
                            f"download them with {DOWNLOAD}")
    return str(released_folder(P["released_root"], model))
