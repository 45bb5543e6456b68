"""Resume checkpoints and the finished run's final state.

Resume checkpoints live outside Snakemake's declared outputs (which it deletes
when a job fails), are written to a temporary file and renamed so a kill
mid-write never leaves a torn checkpoint, and are loaded with weights_only=True
(the file primitives and the model file format are in `mixlab.models.io`).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from mixlab.models.io import atomic_save, load  # noqa: F401  (the resume checkpoints' file primitives)


# ---- the finished run's final state, kept until Snakemake has recorded the output
#
# A job killed after its model file was written but before Snakemake recorded the job (a kill -9,
# a power cut) leaves the output marked incomplete; the rerun deletes it and runs the job again.
# Training is deterministic, so the model it would train is the one it wrote: the run keeps a hard
# link of it (no extra space) beside its resume checkpoints and the rerun restores it instead of
# training from step 0. The workflow's onsuccess hook releases these once every output is recorded,
# so a later forced rerun (-R) trains anew.
FINAL, FINAL_KEY, FINAL_HISTORY, SNAPSHOTS = "final.pt", "final.json", "final.history.csv", "snapshots"


def history_path(model: str | Path) -> Path:
    """The training history CSV written beside a model file: <model stem>.history.csv."""
    model = Path(model)
    return model.with_name(model.stem + ".history.csv")


def _run_key(spec_key: str) -> str:
    import hashlib

    return hashlib.sha256(spec_key.encode()).hexdigest()


def link_or_copy(src: Path, dst: Path) -> None:
    """dst becomes src's content atomically: a hard link where the file system allows, else a copy."""
    import shutil

    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".link")
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copy2(src, tmp)
    os.replace(tmp, dst)


def keep_final(out: str | Path, resume_dir: str | Path, spec_key: str, step: int) -> None:
    resume_dir = Path(resume_dir)
    link_or_copy(Path(out), resume_dir / FINAL)
    if history_path(out).exists():
        link_or_copy(history_path(out), resume_dir / FINAL_HISTORY)
    tmp = resume_dir / (FINAL_KEY + ".tmp")
    tmp.write_text(json.dumps({"run": _run_key(spec_key), "step": step}))
    os.replace(tmp, resume_dir / FINAL_KEY)


def restore_final(out: str | Path, resume_dir: str | Path, spec_key: str, snapshots=None, log=print) -> bool:
    """Put a finished identical run's model (and snapshots) back at `out`; False when there is none."""
    resume_dir = Path(resume_dir)
    key, final = resume_dir / FINAL_KEY, resume_dir / FINAL
    if not (key.exists() and final.exists()):
        return False
    if json.loads(key.read_text())["run"] != _run_key(spec_key):
        log(f"[train] {final}: left by a run with another spec; training this one")
        release_final(resume_dir)
        return False
    if int(os.environ.get("RANK", "0")) == 0:
        if snapshots is not None:
            for f in sorted((resume_dir / SNAPSHOTS).glob("step*.pt")):
                link_or_copy(f, Path(snapshots) / f.name)
        if (resume_dir / FINAL_HISTORY).exists():
            link_or_copy(resume_dir / FINAL_HISTORY, history_path(out))
        link_or_copy(final, Path(out))
    log(f"[train] {out}: restored the finished state of this run from {final} (the job was stopped before "
        "Snakemake recorded it); nothing to train. Delete that file to train again.")
    return True


def release_final(resume_dir: str | Path) -> None:
    import shutil

    resume_dir = Path(resume_dir)
    (resume_dir / FINAL_KEY).unlink(missing_ok=True)
    (resume_dir / FINAL).unlink(missing_ok=True)
    (resume_dir / FINAL_HISTORY).unlink(missing_ok=True)
    shutil.rmtree(resume_dir / SNAPSHOTS, ignore_errors=True)


def release_final_states(root: str | Path) -> int:
    """After a successful workflow run: drop every kept final state under `root` (the outputs are safe)."""
    keys = list(Path(root).rglob(FINAL_KEY)) if Path(root).exists() else []
    for key in keys:
        release_final(key.parent)
    return len(keys)
