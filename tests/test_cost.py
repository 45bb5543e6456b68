"""mixlab cost: the run's trainings and separations from plan(), GPU time from the measured rates, disk."""
import copy
import json

import pytest
import torch
import yaml
from torch.utils.flop_counter import FlopCounterMode

from mixlab import cost
from mixlab.config import load
from mixlab.separate import overlap_add
from tests.conftest import CONFIGS, REPO, run_cli


def _paper(overrides=None):
    P = load(CONFIGS, {"scale": "paper", "musdb_root": str(REPO), **(overrides or {})})
    P["musdb_root"] = None
    return P


@pytest.fixture(scope="module")
def paper():
    P = _paper()
    return P, cost.estimate(P, cost.musdb_tracks(P))


def test_the_timed_configurations_cost_what_was_measured(paper):
    """The paper's TFC-TDF training and Paper B's medium pre-training are the timed rows: their GPU time is
    steps x the measured step (per example for the pre-training's batch of 128)."""
    P, est = paper
    h100 = yaml.safe_load(cost.RATES.read_text())["h100"]["train"]
    tfc = est.jobs[("train", "fig1/p0.00")]
    assert tfc.basis == "measured" and tfc.steps == P["train"]["steps"] == 470_000
    assert tfc.gpu_s == pytest.approx(470_000 * h100["tfc_tdf_v3"]["seconds_per_step"])
    pre = est.jobs[("train", "mixit pre-training medium_large")]
    per_example = h100["bs_locoformer"]["seconds_per_step"] / h100["bs_locoformer"]["batch"]
    assert pre.basis == "measured" and pre.gpu_s == pytest.approx(150_000 * 128 * per_example)
    # other sizes scale with their FLOPs: large costs more than medium, small less
    small, large = (est.jobs[("train", f"mixit pre-training {s}_large")].gpu_s for s in ("small", "large"))
    assert small < pre.gpu_s < large
    # Paper A: the trainings the figures and the table need, each once (Fig. 2 and 4 reuse Fig. 1's models)
    a = [j for j in est.jobs.values() if j.kind == "train" and not j.name.startswith("mixit")]
    assert len(a) == len(est.plan.trained())
    assert {"fig1", "fig2", "fig4"} <= est.jobs[("train", "fig1/p1.00")].targets


def test_an_override_changes_the_cost_as_it_changes_the_run():
    P = _paper({"presets": {"paper": {"train": {"steps": 47_000}, "mixit": {"pretrain": {"accumulate": 16}}}}})
    est = cost.estimate(P, cost.musdb_tracks(P), papers=("a",))
    step = yaml.safe_load(cost.RATES.read_text())["h100"]["train"]["tfc_tdf_v3"]["seconds_per_step"]
    assert est.jobs[("train", "fig1/p0.00")].gpu_s == pytest.approx(47_000 * step)


def test_report_lists_every_target_and_the_whole_run(paper):
    _, est = paper
    text = cost.report(est, [1, 8])
    for target in ("fig1", "fig2", "fig3", "fig4", "fig5", "table1", "mixit/table1", "mixit/table2", "mixit/table3"):
        assert f"| {target} |" in text
    assert "**all (shared runs once)**" in text and "wall on 8 GPUs" in text and "FMA large decoded clips" in text


def test_wall_time_schedules_longest_first_on_free_gpus():
    jobs = [cost.Job("train", str(i), gpu_s=s) for i, s in enumerate([10.0, 10.0, 10.0, 4.0])]
    assert cost.wall_seconds(jobs, 1) == 34.0
    assert cost.wall_seconds(jobs, 2) == 20.0               # 10+10 | 10+4
    assert cost.wall_seconds(jobs, 8) == 10.0
    wide = [cost.Job("train", "w", gpus=4, gpu_s=40.0), cost.Job("train", "n", gpu_s=5.0)]
    assert cost.wall_seconds(wide, 4) == 15.0               # the 4-GPU job holds all four for 10 s


@pytest.mark.parametrize("samples,chunk,overlap", [(1000, 256, 0.5), (37, 256, 0.5), (5000, 300, 0.875), (512, 512, 0.0)])
def test_chunk_count_is_what_overlap_add_runs(samples, chunk, overlap):
    calls = []

    def model(x):
        calls.append(len(x))
        return x[:, None]
    overlap_add(model, torch.zeros(2, samples), chunk, overlap=overlap, window="boxcar", batch_size=1)
    assert len(calls) == cost._chunks(samples, chunk, overlap)


def test_fake_tensor_flops_equal_a_real_count():
    """FLOPs counted on fake tensors (no memory, istft by shape only) are those of a real forward + backward."""
    P = load(CONFIGS, {"scale": "tiny"})
    for model in ({**P["model"], "sample_rate": P["sample_rate"]},
                  {**P["mixit"]["model"], **P["mixit"]["sizes"]["small"], "sample_rate": P["sample_rate"], "n_outputs": 4}):
        from mixlab.models import build_model, model_chunk

        net = build_model(copy.deepcopy(model))
        with FlopCounterMode(display=False) as real:
            net(torch.randn(1, 2, model_chunk(model))).square().mean().backward()
        counted = cost._count_flops(json.dumps(model, sort_keys=True), model_chunk(model), True)   # not the cache
        assert counted == real.get_total_flops() > 0


@pytest.mark.slow
def test_cli_costs_a_scale_without_its_data(tmp_path):
    res = run_cli("cost", "--configfile", *map(str, CONFIGS), "--config", "scale=tiny", "--gpus", "1", "2")
    assert "# cost of scale=tiny" in res.stdout and "| fig1 |" in res.stdout and "wall on 2 GPUs" in res.stdout
    doubled = run_cli("cost", "--configfile", *map(str, CONFIGS), "--config", "scale=tiny",
                      "presets={tiny: {train: {steps: 8}}}", "--paper", "a")
    assert "| fig1 | 2 | 2 x 8 (x 2)" in doubled.stdout
    bad = run_cli("cost", "--configfile", *map(str, CONFIGS), "--config", "scale=tiny",
                  "presets={tiny: {train: {accumulate: 3}}}", check=False)
    assert bad.returncode == 2 and "presets.tiny.train.accumulate" in bad.stderr
