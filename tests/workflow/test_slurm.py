"""The SLURM profile on a real SLURM: a one-node cluster on localhost (tools/slurm/localhost_cluster.sh:
munged, MariaDB + slurmdbd for sacct, slurmctld, slurmd) runs Fig. 1 at the tiny scale through
workflow/profiles/slurm; sacct must show every job as a completed SLURM job, and the results must
equal a local run's. Needs root (or passwordless sudo) to install and start the daemons."""
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from mixlab.train import checkpoint

REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / "tools" / "slurm" / "localhost_cluster.sh"
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


def _can_admin():
    if os.geteuid() == 0:
        return True
    return shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0


pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not _can_admin(), reason="starting slurmctld/slurmd/munge needs root or sudo -n")]


@pytest.fixture(scope="module")
def slurm_cluster():
    try:
        res = subprocess.run(["bash", str(CLUSTER), "start"], capture_output=True, text=True, timeout=900)
        assert res.returncode == 0, f"cluster did not start:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
        yield
    finally:
        # stops only what `start` started, also after a failed start
        subprocess.run(["bash", str(CLUSTER), "stop"], capture_output=True, text=True, timeout=300)


def _workdir(path):
    path.mkdir()
    from mixlab.config import merge

    cfg = merge(yaml.safe_load((REPO / "config.yaml").read_text()),
                yaml.safe_load((REPO / ".test" / "config_tiny.yaml").read_text()))
    cfg["scale"] = "tiny"
    # long enough to requeue a training job mid-run; no periodic checkpoint, so only the signal writes one
    cfg["presets"]["tiny"]["train"].update(steps=150, log_every=1, checkpoint_every=100000)
    cfg["presets"]["tiny"]["fig2"]["every"] = 100
    # one Fig. 1 model (the requeued one): what is checked is the profile, the requeue and the equality
    for fig in ("fig1", "fig2", "fig4"):
        cfg["presets"]["tiny"][fig]["p"] = [1.0]
    (path / "config.yaml").write_text(yaml.safe_dump(cfg))
    return path


def _cmd(workdir, *args):
    return [SNAKEMAKE, "-s", str(REPO / "workflow" / "Snakefile"), "--directory", str(workdir), *args]


def _on_slurm(*args):
    return ["--workflow-profile", str(REPO / "workflow" / "profiles" / "slurm"),
            "--default-resources", "slurm_partition=debug", "slurm_account=ci",
            "--slurm-init-seconds-before-status-checks", "2", "--jobs", "4", "--latency-wait", "10", *args]


def _snakemake(workdir, *args, timeout=1200):
    cmd = _cmd(workdir, *args)
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=workdir)
    assert res.returncode == 0, f"{' '.join(cmd)} failed:\n{res.stdout[-4000:]}\n{res.stderr[-6000:]}"
    return res.stdout + res.stderr


def test_fig1_on_slurm_with_a_requeued_training_equals_a_local_run(slurm_cluster, tmp_path):
    """Fig. 1 through workflow/profiles/slurm; one training job is requeued mid-run with `scontrol requeue`
    (what preemption with PreemptMode=REQUEUE does): SLURM sends SIGTERM, the training writes its checkpoint
    and exits, SLURM runs the same job again (--requeue from the profile) and it resumes."""
    target = "results/fig1.pdf"
    on_slurm = _workdir(tmp_path / "slurm")
    train_log = on_slurm / "results/tiny/logs/train/fig1/p1.00.log"
    proc = subprocess.Popen(_cmd(on_slurm, *_on_slurm(target)), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    deadline = time.time() + 900
    while not (train_log.exists() and "step 20/" in train_log.read_text()):
        assert proc.poll() is None and time.time() < deadline, "training p1.00 never reached step 20 on SLURM"
        time.sleep(0.5)
    queue = subprocess.run(["squeue", "-h", "-o", "%i|%k"], capture_output=True, text=True, check=True).stdout
    requeued = next(line.split("|")[0] for line in queue.splitlines() if "rule_train" in line and "p1.00" in line)
    subprocess.run(["scontrol", "requeue", requeued], check=True)
    log, _ = proc.communicate(timeout=1200)
    assert proc.returncode == 0, log[-5000:]

    ids = sorted(set(re.findall(r"SLURM jobid (\d+)", log)), key=int)
    rules = re.findall(r"^rule (\w+):", log, re.M)
    assert ids and len(ids) == len(rules), f"{len(ids)} SLURM jobs for {len(rules)} rule jobs:\n{log[-3000:]}"
    acct = subprocess.run(["sacct", "-X", "-P", "-n", "-j", ",".join(ids), "-o", "JobID,State,ExitCode,Comment"],
                          capture_output=True, text=True, check=True).stdout.split("\n")
    rows = [r.split("|") for r in acct if r.strip()]
    assert sorted(r[0] for r in rows) == sorted(ids)
    assert all(r[1] == "COMPLETED" and r[2] == "0:0" for r in rows), acct
    comments = [c for *_, c in rows]     # the plugin puts rule_<name>_wildcards_... into --comment
    for rule in ("synth_corpus", "train", "separate", "score_model", "fig1"):
        assert any(c.startswith(f"rule_{rule}") for c in comments), (rule, comments)
    history = subprocess.run(["sacct", "-D", "-X", "-P", "-n", "-j", requeued, "-o", "State"], capture_output=True,
                             text=True, check=True).stdout.split()
    assert history == ["REQUEUED", "COMPLETED"], history
    assert re.search(r"resumed from .* at step (2\d|[3-9]\d|\d{3})", train_log.read_text()), train_log.read_text()[:500]

    local = _workdir(tmp_path / "local")
    _snakemake(local, "--cores", "2", target)
    for rel in ("results/tiny/fig1.csv", "results/tiny/scores/test/fig1/p1.00.csv"):
        assert (on_slurm / rel).read_text() == (local / rel).read_text(), rel
    for m in ("p1.00",):
        a = checkpoint.load(on_slurm / f"results/tiny/models/fig1/{m}.pt")["state_dict"]
        b = checkpoint.load(local / f"results/tiny/models/fig1/{m}.pt")["state_dict"]
        for k in a:
            torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=f"{m}: {k}")
