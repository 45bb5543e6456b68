"""plan(config): the runs, specs, stores and histories a configuration implies (what the workflow reads)."""
import subprocess
from pathlib import Path
import sys

import pytest
import yaml

from mixlab.config import ConfigError, load, validate
from mixlab.plan import plan
from tests.conftest import CONFIGS, REPO


def _tracks(n_train, n_valid=2, n_test=4):
    return {"train": [f"A{i} - It's ({i})" for i in range(n_train)], "valid": [f"V{i}" for i in range(n_valid)],
            "test": [f"T{i}" for i in range(n_test)]}


@pytest.fixture(scope="module")
def demo():
    return plan(load(CONFIGS, {"scale": "demo"}), _tracks(10))


@pytest.fixture(scope="module")
def paper():
    return plan(load(CONFIGS, {"scale": "paper", "musdb_root": str(REPO)}), _tracks(86, 14, 50))


def test_paper_grids(paper):
    # mixit: Table 1 (3 sizes x scratch/pre-trained) + Table 2 (the same, frozen) + Table 3 (3 more subsets)
    assert {e: len(m) for e, m in paper.models.items()} == {"fig1": 11, "fig3": 28, "fig5": 12, "table1": 6,
                                                           "mixit": 15, "released": 9}
    spec = paper.run_spec("fig3", "half0_r0.1")
    assert len(spec["tracks"]) == 43 and spec["train"]["fixed_mixes"] == round(0.1 * 470000 * 4)
    assert spec["model"]["sample_rate"] == 44100 and spec["train"]["pitch_max"] == 2      # the standard augmentation
    # Fig. 5b's consistent shifts at K = 2 are Fig. 1's p = 1 model, trained once
    rows = {labels["model"] + labels.get("mode", ""): (exp, m) for labels, exp, m in paper.fig5_rows()}
    assert rows["pitch2_consistentconsistent"] == ("fig1", "p1.00")
    assert rows["pitch3_consistentconsistent"] == ("fig5", "pitch3_consistent")
    assert rows["p1.00"] == ("fig1", "p1.00")
    trained = paper.trained()
    assert len(trained) == len(set(trained)) == 11 + 28 + 11 + 6


def test_stores_and_histories(demo):
    assert demo.train_stores("fig1", "p0.50", "R") == ["R/store/train", "R/store/train_pitch-2",
                                                        "R/store/train_pitch-1", "R/store/train_pitch+1",
                                                        "R/store/train_pitch+2"]
    assert demo.train_stores("table1", "random_s1", "R") == ["R/store/table1_random_s1"]     # pitch_max 0 at demo
    h = demo.histories("R")
    assert h["fig1/p0.50"] == "R/models/fig1/p0.50.history.csv"
    assert h["mixit-pretrained/medium_large"] == "R/mixit/pretrained/medium_large.history.csv"
    assert "fig5/pitch2_consistent" not in h and len(h) == len(set(h.values()))


def test_unknown_model_and_crosscheck_sample(demo):
    with pytest.raises(KeyError, match="fig1/p0.25: no such model.*known: p0.00, p0.50, p1.00"):
        demo.run_spec("fig1", "p0.25")
    pairs = demo.crosscheck_pairs("fig3", 2)
    assert pairs == demo.crosscheck_pairs("fig3", 2) and len(pairs) == 2
    assert all(m in demo.models["fig3"] and t.startswith("T") for m, t in pairs)


def test_fig2_and_fig4_follow_fig1():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["presets"]["demo"]["fig2"]["p"] = [0.3]
    with pytest.raises(ConfigError, match=r"presets\.demo\.fig2\.p': 0\.30 must be among fig1\.p"):
        validate(config)


def _job_target(job):
    """What a data/separation job builds from its spec: (the fields it accepts, its CLI subcommand)."""
    from dataclasses import fields

    from mixlab.cli.data import IMPORT_KEYS
    from mixlab.separate import SETTINGS as SEPARATE_KEYS
    from mixlab.papers.mixit.fma import ClipRule
    from mixlab.papers.mixit.fma_synth import FMASynthSpec
    from mixlab.data.synth import SynthSpec

    return {"synth": [f.name for f in fields(SynthSpec)], "fma-synth": [f.name for f in fields(FMASynthSpec)],
            "fma-prep": [f.name for f in fields(ClipRule)], "import-musdb": list(IMPORT_KEYS),
            "activity": ["segment_seconds", "n_chunks"], "separate": list(SEPARATE_KEYS)}[job]


@pytest.mark.parametrize("scale", ["demo", "tiny", "paper"])
def test_job_specs_carry_the_config(scale):
    """Every data/separation job gets its config section whole, and the job accepts every key of it."""
    P = load(CONFIGS, {"scale": scale, "musdb_root": str(REPO)} if scale == "paper" else {"scale": scale})
    p = plan(P, _tracks(10))
    jobs = ["fma-prep", "activity", "import-musdb"] + ([] if P["dataset"] == "musdb" else ["synth"])
    jobs += [] if P["mixit"]["fma"] == "fma" else ["fma-synth"]
    for job in jobs:
        spec = p.job_spec(job)
        assert set(spec) <= set(_job_target(job)), job
        assert spec.get("sample_rate", P["sample_rate"]) == P["sample_rate"]
    assert p.job_spec("fma-prep")["mono"] == P["mixit"]["clips"]["mono"]
    assert p.job_spec("separate", "fig1") == P["separate"]
    sep_b = p.job_spec("separate", "mixit")
    assert sep_b["chunk_seconds"] == P["mixit"]["separate"]["chunk_seconds"] and sep_b["window"] == "boxcar"
    if P["dataset"] == "synthetic":           # the corpus the workflow builds is the one the plan's track names assume
        from mixlab.data.synth import SynthSpec

        assert SynthSpec(**p.job_spec("synth")) == SynthSpec(sample_rate=P["sample_rate"], **P["synth"])


def test_a_job_spec_key_the_job_does_not_take_is_named(tmp_path):
    from mixlab.cli import main

    spec = tmp_path / "s.yaml"
    spec.write_text("seed: 0\nn_trian: 3\n")
    res = subprocess.run([sys.executable, "-m", "mixlab", "synth", "--out", str(tmp_path / "c"), "--spec", str(spec)],
                         capture_output=True, text=True, cwd=REPO, env={"PYTHONPATH": str(REPO / "src"), "PATH": ""})
    assert res.returncode == 2 and "unknown key(s) 'n_trian'" in res.stderr and "n_train" in res.stderr
    assert not (tmp_path / "c").exists()
    with pytest.raises(SystemExit) as exit_:    # an argument the parser rejects: exit 2, a one-line message
        main(["separate", str(tmp_path), "--model", str(tmp_path / "missing.pt")])
    assert exit_.value.code == 2


def test_training_jobs_name_their_recipe_and_inputs(demo):
    """What `mixlab train --spec` gets, for both papers: the recipe, its inputs under the run's folder, the model,
    training and separation settings; every recipe takes every train key the plan writes."""
    from mixlab.papers import defaults

    a = demo.train_job("fig1", "p0.50", "R")
    assert a["recipe"] == "random_mixing" and a["inputs"] == {"stores": demo.train_stores("fig1", "p0.50", "R")}
    assert a["separate"] == demo.P["separate"]
    pre = demo.mixit_pretrain_job("small", "large", "R")
    assert pre["recipe"] == "mixit.pretrain" and pre["inputs"] == {"clips": "R/fma/large"}
    scratch = demo.mixit_finetune_job("small_scratch_full", "R")
    assert scratch["recipe"] == "mixit.finetune" and not {"init", "channels"} & set(scratch["inputs"])
    tuned = demo.mixit_finetune_job("small_fma-large_full", "R")["inputs"]
    assert tuned["init"] == "R/mixit/pretrained/small_large.pt" and tuned["channels"] == "R/mixit/channels/small_large.json"
    for job in (a, pre, scratch):
        assert set(job["train"]) <= set(defaults(job["recipe"])), job["recipe"]


def test_every_target_has_its_caption_and_paper_b_its_score_tables(demo):
    targets = ("fig1", "fig2", "fig3", "fig4", "fig5", "table1", "effects_a", "mixit", "effects_b", "released", "training")
    captions = {t: demo.caption(t) for t in targets}
    assert len(set(captions.values())) == len(targets)                    # each says what its target is
    assert all("demo" in c for t, c in captions.items() if t != "released") and "synthetic" in captions["released"]
    with pytest.raises(KeyError):
        demo.caption("fig9")
    rows, seeds = demo.mixit_rows()["table1"], demo.mixit_seeds()
    scores = demo.mixit_table_scores("table1", "R")
    assert len(scores["csdr"]) == len(scores["usdr"]) == len(rows) * len(seeds)
    assert scores["csdr"][0] == f"R/scores/test/mixit/{demo.mixit_seeded_ids(rows[0][1])[0]}.csv"


SETTINGS_JOBS = ("store", "shift-testset", "song-level-store", "evalset", "score", "usdr", "select-channels")


@pytest.mark.parametrize("scale", ["demo", "paper"])
def test_settings_jobs_are_options_their_command_takes(scale):
    """The settings a rule passes as `--spec` are options of its command (cli._common.settings_spec)."""
    from mixlab.cli import build_parser

    P = load(CONFIGS, {"scale": scale, "musdb_root": str(REPO)} if scale == "paper" else {"scale": scale})
    p = plan(P, _tracks(10))
    commands = build_parser()._subparsers._group_actions[0].choices
    for job in SETTINGS_JOBS:
        spec = p.job_spec(job)
        assert commands[job].get_default("settings_spec"), job
        assert set(spec) <= {a.dest for a in commands[job]._actions}, job
    assert p.job_spec("score") == {"sample_rate": P["sample_rate"], "scorer": P["scorer"]}
    assert p.job_spec("usdr")["mode"] == P["mixit"]["usdr"]


FIGURE_NAMES = ("fig1", "fig2", "fig3", "fig4", "fig5", "table1", "effects_a", "mixit/table1", "mixit/table2",
                "mixit/table3", "mixit/effects", "mixit/released/table1", "mixit/released/table3", "training")


def test_every_figure_job_is_a_registered_figure_with_paired_inputs(demo, paper):
    """Plan.figure_job gives, per figure and table of both papers, a spec its registry entry takes whole: known
    settings, every input it reads, one settings entry per input table, its own caption."""
    from mixlab.papers import figures

    registry = figures()
    for p in (demo, paper):
        for name in FIGURE_NAMES:
            job = p.figure_job(name, "R")
            fig = registry[job["figure"]]
            assert set(job) - {"figure", "caption", "inputs"} <= {*fig.params, *fig.optional}, name
            assert set(fig.params) <= set(job) and set(job["inputs"]) == set(fig.inputs), name
            files = [f for v in job["inputs"].values() for f in ([v] if isinstance(v, str) else v)]
            assert files and all(f.startswith("R/") for f in files), name
            paired = [k for k in ("p", "seeds", "models", "rows", "labels") if job.get(k) is not None]
            n_seeds = len(job.get("seeds") or [None]) if job["figure"] == "mixit.table" else 1
            for k in paired:
                assert len(job[k]) * n_seeds == len(next(iter(job["inputs"].values()))), (name, k)
            assert job["caption"]
    assert demo.figure_job("fig3", "R")["songs"] == 10
    assert demo.figure_job("fig1", "R")["inputs"]["tables"][0] == "R/scores/test/fig1/p0.00.csv"
    with pytest.raises(KeyError):
        demo.figure_job("fig9", "R")


@pytest.mark.parametrize("dataset", ["synthetic", "rendered"])
def test_the_soundtracks_pool_replaces_the_corpus_own_mixes(dataset, tmp_path):
    """mixit.fma.source: soundtracks: Paper B's unlabelled pool is recorded game music on either corpus, and
    its caption says so."""
    from mixlab.papers.mixit.experiments import caption

    config = {"scale": "demo", "dataset": dataset}
    assert plan(load(CONFIGS, config), _tracks(10)).job_spec("fma-synth").get("source", "synthetic") == \
        ("rendered" if dataset == "rendered" else "synthetic")
    overlay = tmp_path / "soundtracks.yaml"
    overlay.write_text(yaml.safe_dump({"presets": {"demo": {"mixit": {"fma": {"source": "soundtracks"}}}}}))
    P = load([*CONFIGS, overlay], config)
    spec = plan(P, _tracks(10)).job_spec("fma-synth")
    assert spec["source"] == "soundtracks"
    assert "recorded game soundtracks" in caption(P)
    overlay.write_text(yaml.safe_dump({"presets": {"demo": {"mixit": {"fma": {"source": "ogg"}}}}}))
    with pytest.raises(ConfigError, match=r"mixit\.fma"):
        load([*CONFIGS, overlay], config)
