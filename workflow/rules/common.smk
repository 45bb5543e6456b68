# The run this config names (mixlab/runs.py: config check, run folder, MUSDB18-HQ check, Plan, job
# classes) and the input functions the rules read it through.
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir).parent / "src"))

from mixlab.runs import load as _load

RUN = _load(workflow, config)
P, RES, PLAN, DEFAULT_RUN = RUN.P, RUN.res, RUN.plan, RUN.default_run
JOB = RUN.jobs    # "<class>_<paper>" -> threads, resources, device: train_a, infer_b, prep_a, light_b, ...
ENV = "../../envs/mixlab.yaml"


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


def corpus_root():
    return RUN.corpus_root()


def tracks(split):
    return RUN.tracks(split)


def testset_root(testset):
    """Corpus a test set lives in: the test split itself, or a per-stem shifted copy of it (Fig. 4)."""
    return corpus_root() if testset == "test" else f"{RES}/testsets/{testset}"


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


def infer_job(w):
    """Separation runs on the job class of the model's paper."""
    return JOB["infer_b" if w.exp in ("mixit", "released") else "infer_a"]


def figure_inputs(name):
    """The files a figure or table reads (Plan.figure_job's inputs), by input name."""
    return PLAN.figure_job(name, RES)["inputs"]


def figure_spec(name):
    """What `mixlab figure --spec` gets: the figure's name, settings, caption and inputs (Plan.figure_job)."""
    return json.dumps(PLAN.figure_job(name, RES))


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
