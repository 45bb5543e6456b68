"""What one workflow invocation runs, settled before Snakemake builds its DAG.

`load(workflow, config)` validates the config (a bad key stops here with its name), names the run
folder, checks real MUSDB18-HQ whole, lists the corpus's songs, builds the Plan and the job classes, and
points the jobs' `python -m mixlab` at this repository. workflow/rules/common.smk calls it once and keeps
only input functions. The job classes are unit-tested; the rest runs in every dry-run test of the workflow.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from mixlab.config import ConfigError, validate_run
from mixlab.plan import Plan, plan



@dataclass(frozen=True)
class Job:
    """One class of job (train, infer, prep, light) of one paper: what Snakemake asks the machine for."""
    threads: int
    resources: dict
    device: str
    gpus: int

    def process_threads(self, threads: int) -> int:
        """CPU threads of each process, of the `threads` the job got (Snakemake caps them at --cores):
        a multi-GPU training runs one process per GPU."""
        return max(1, threads // max(1, self.gpus))


def job_classes(P: dict) -> dict[str, Job]:
    """"<class>_<paper>" (train_a, infer_b, ...) -> Job, from the preset's `resources` and Paper B's overrides.

    GPU jobs ask SLURM for cpus per GPU, CPU jobs for `threads` CPUs; `gpu` is also the local
    --resources gpu=N budget; runtime is in minutes."""
    out = {}
    for paper in ("a", "b"):
        classes = {**P["resources"], **(P["mixit"].get("resources", {}) if paper == "b" else {})}
        for cls, r in classes.items():
            res = {"gpu": r["gpu"], "mem_mb": r["mem_mb"], "runtime": r["runtime"]}
            if r["gpu"] > 0:
                res["cpus_per_gpu"] = r["cpus"]
            if cls == "train":
                # SLURM: SIGTERM a tenth of the time limit (at most 10 min) before it; the training writes its
                # checkpoint and exits, the retry resumes. TERM, not USR1: the Snakemake job step that runs the
                # rule inside the allocation shuts down gracefully on TERM and dies on USR1.
                res["slurm_extra"] = f"--signal=TERM@{max(5, min(600, r['runtime'] * 6))}"
            out[f"{cls}_{paper}"] = Job(threads=r["cpus"] * max(1, r["gpu"]), resources=res,
                                        device="cuda" if r["gpu"] > 0 else "cpu", gpus=r["gpu"])
    return out


@dataclass
class Run:
    P: dict                       # the resolved preset (config.validate_run)
    res: str                      # results/<run>
    default_run: bool             # config.yaml alone names this run: results/fig3.pdf etc. are its copies
    musdb: object = None          # check_musdb's report on real MUSDB18-HQ, else None
    musdb_import: bool = False    # laptop scales on real MUSDB18-HQ: the songs they use, resampled
    plan: Plan = field(init=False)
    jobs: dict = field(init=False)

    def __post_init__(self):
        self.jobs = job_classes(self.P)
        self.plan = plan(self.P, {split: self._track_list(split) for split in ("train", "valid", "test")})

    def corpus_root(self) -> str:
        """Root of the MUSDB18-HQ-layout corpus: the synthetic or rendered one a rule builds, real MUSDB18-HQ
        resampled to the scale's rate (laptop scales), or the real tree itself (44.1 kHz, every song)."""
        if self.P["dataset"] == "synthetic":
            return f"{self.res}/corpus/musdb"
        if self.P["dataset"] == "rendered":
            return f"{self.res}/corpus/rendered"
        if self.musdb_import:
            return f"{self.res}/corpus/musdb18hq"
        return self.P["musdb_root"]

    def tracks(self, split: str) -> list[str]:
        return self.plan.tracks[split]

    def _track_list(self, split: str) -> list[str]:
        if self.P["dataset"] == "synthetic":
            from mixlab.data import synth

            return synth.track_names(synth.SynthSpec(sample_rate=self.P["sample_rate"], **self.P["synth"]), split)
        if self.P["dataset"] == "rendered":
            from mixlab.data import rendered

            return rendered.track_names(rendered.RenderSpec(sample_rate=self.P["sample_rate"], **self.P["render"]), split)
        from mixlab.data import musdb_import

        return musdb_import.select(self.musdb.tracks, self.P.get("musdb") or {})[split]


def files_config(workflow) -> dict:
    """The config the files alone give (the workflow's config.yaml, then --configfile ones), without --config."""
    from snakemake.common.configfile import load_configfile
    from snakemake.utils import update_config

    cli = [str(f) for f in workflow.config_settings.configfiles]
    files = [str(f) for f in workflow.configfiles if str(f) not in cli] + cli
    merged = {}
    for f in files:
        update_config(merged, load_configfile(f))
    return merged


def load(workflow, config: dict, log=lambda msg: print(msg, file=sys.stderr)) -> Run:
    """The run this invocation's config names; a bad key, a broken MUSDB18-HQ file or tree stops here with
    every problem named, before any job runs (a WorkflowError, which Snakemake prints without a traceback)."""
    from snakemake.exceptions import WorkflowError

    schema = Path(workflow.basedir) / "schemas" / "config.schema.yaml"
    try:
        files = files_config(workflow)
        P = validate_run(config, files, schema)
    except ConfigError as exc:
        raise WorkflowError(f"config.yaml: {exc}")
    try:
        default = validate_run(files, files, schema)["run"]
    except ConfigError:
        default = None
    # results/demo; results/demo-musdb when a scale runs on another dataset; results/demo+<fingerprint> when
    # --config overrides change a result (config.validate_run): no run writes into another's files
    run = dict(P=P, res=f"results/{P['run']}",
               default_run=not workflow.config_settings.configfiles and P["run"] == default)
    if P["dataset"] == "musdb":
        # checked whole (every header) while the DAG is built: a bad file stops the run here, with every
        # problem listed, instead of days later in the job that first reads it
        from mixlab.data import musdb_import
        from mixlab.data.check_musdb import check_musdb

        report = check_musdb(P["musdb_root"])
        for warning in report.warnings if report.ok else []:
            log(f"mixlab: warning: {warning}")
        if not report.ok:
            raise WorkflowError(report.text() + "\n(`mixlab check-musdb --root ROOT` prints this report; fix the "
                                "files named and rerun -- nothing has been run)")
        run.update(musdb=report, musdb_import=musdb_import.needs_import(P))
    corpus = Path(run["res"]) / "corpus" / "rendered" / "mixlab_corpus.json"
    if P["dataset"] == "rendered" and not corpus.is_file():
        # the renderer's tools are checked before any job, unless the corpus is already there: a missing one is
        # named with its install command
        from mixlab.data import rendered

        missing = rendered.check_tools(rendered.RenderSpec(sample_rate=P["sample_rate"], **P["render"]))
        if missing:
            raise WorkflowError("dataset=rendered: the corpus renderer lacks:\n  " + "\n  ".join(missing))
    point_jobs_here(Path(workflow.basedir).parent / "src")
    return Run(**run)


def point_jobs_here(src: Path) -> None:
    """Rules run `python -m mixlab`: the Python of the interpreter running Snakemake, also when its
    environment was not activated (e.g. `.venv/bin/snakemake`), or the job's conda env (--sdm conda),
    which holds the dependencies; mixlab itself comes from this repository either way. Jobs inherit
    both variables, locally and on SLURM (sbatch --export=ALL)."""
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    src = str(src)
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != src]
    os.environ["PYTHONPATH"] = os.pathsep.join([src] + rest)
