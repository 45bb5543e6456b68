"""runs.job_classes: what each class of job asks the machine (and SLURM) for, per paper."""
from mixlab.config import load
from mixlab.runs import job_classes
from tests.conftest import CONFIGS


def test_job_classes_per_paper():
    P = load(CONFIGS, {"scale": "demo"})
    P["resources"]["train"] = {"cpus": 4, "gpu": 2, "mem_mb": 1000, "runtime": 600}
    P["mixit"]["resources"] = {"infer": {"cpus": 3, "gpu": 0, "mem_mb": 500, "runtime": 30}}
    jobs = job_classes(P)
    train = jobs["train_a"]
    assert (train.threads, train.device, train.gpus) == (8, "cuda", 2)         # cpus per GPU x GPUs
    assert train.resources["cpus_per_gpu"] == 4 and train.resources["slurm_extra"] == "--signal=TERM@600"
    assert train.process_threads(8) == 4 and train.process_threads(1) == 1   # one process per GPU
    assert jobs["train_b"] == train                                           # Paper B inherits what it does not set
    infer = jobs["infer_b"]
    assert (infer.threads, infer.device) == (3, "cpu") and "cpus_per_gpu" not in infer.resources
    assert jobs["infer_a"].resources == {k: P["resources"]["infer"][k] for k in ("gpu", "mem_mb", "runtime")}
    short = dict(P, resources={**P["resources"], "train": {"cpus": 1, "gpu": 0, "mem_mb": 1, "runtime": 10}})
    assert job_classes(short)["train_a"].resources["slurm_extra"] == "--signal=TERM@60"   # a tenth, at least 5 s
