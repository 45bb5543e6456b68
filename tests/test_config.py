import copy
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mixlab.config import ConfigError, validate
from tests.conftest import REPO


@pytest.fixture
def config():
    return yaml.safe_load((REPO / "config.yaml").read_text())


def test_shipped_config_is_valid(config):
    assert validate(config)["dataset"] == "synthetic"


def test_every_shipped_scale_is_valid(config):
    for scale in ("demo", "study"):
        assert validate({**config, "scale": scale})["run"] == scale


def test_table1_needs_one_training_song_per_stem(config):
    config["presets"]["study"]["synth"]["n_train"] = 3
    with pytest.raises(ConfigError, match=r"presets\.study\.synth\.n_train'.*at least 4 training songs"):
        validate({**config, "scale": "study"})


def test_p_out_of_range(config):
    config["presets"]["demo"]["fig1"]["p"] = [0.0, 1.5]
    with pytest.raises(ConfigError, match=r"presets\.demo\.fig1\.p\[1\]': 1\.5 is greater than the maximum of 1"):
        validate(config)


def test_unknown_model(config):
    config["presets"]["demo"]["model"]["name"] = "demucs"
    with pytest.raises(ConfigError, match=r"presets\.demo\.model\.name'.*'demucs' is not one of"):
        validate(config)


def test_unknown_key(config):
    config["presets"]["demo"]["train"]["learning_rate"] = 1e-3
    with pytest.raises(ConfigError, match=r"presets\.demo\.train'.*'learning_rate' was unexpected"):
        validate(config)


def test_paper_needs_musdb_root(config, tmp_path):
    config["scale"] = "paper"
    with pytest.raises(ConfigError, match="missing config key 'musdb_root'"):
        validate(config)
    config["musdb_root"] = str(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match=r"musdb_root'.*nowhere is not a directory"):
        validate(config)
    config["musdb_root"] = str(tmp_path)
    assert validate(config)["sample_rate"] == 44100


def test_unknown_scale(config):
    config["scale"] = "huge"
    with pytest.raises(ConfigError, match="'huge' is not a preset"):
        validate(config)


@pytest.mark.slow
def test_snakemake_stops_before_any_job(tmp_path):
    """The workflow itself refuses a bad value, naming the key, before scheduling anything."""
    snakemake = Path(sys.executable).parent / "snakemake"
    res = subprocess.run([str(snakemake), "-n", "results/fig1.pdf", "-s", str(REPO / "workflow" / "Snakefile"), "--directory", str(tmp_path),
                          "--configfile", str(REPO / "config.yaml"), "--config", "scale=paper"],
                         capture_output=True, text=True)
    assert res.returncode != 0
    assert "missing config key 'musdb_root'" in res.stdout + res.stderr


def test_conda_env_pins_what_the_pip_setup_pins():
    """envs/mixlab.yaml (--sdm conda on clusters) must install the same versions as `make setup`."""
    def pins(lines):
        out = {}
        for line in lines:
            line = line.split("#")[0].strip()
            if "==" in line:
                name, version = line.split("==")
                out[name.strip().lower().replace("_", "-")] = version.strip()
        return out

    pip = pins((REPO / "requirements.txt").read_text().splitlines())
    env = yaml.safe_load((REPO / "envs" / "mixlab.yaml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert pins(pip_section) == pip
    assert "ffmpeg" in env["dependencies"]          # stempeg (musdb, museval) needs ffmpeg/ffprobe


def test_numbers_written_as_strings_are_numbers(config):
    """PyYAML reads 1e-3 as a string; Snakemake's nested --config hands every value over as one."""
    assert yaml.safe_load("lr: 1e-3")["lr"] == "1e-3"
    config["presets"]["demo"]["train"]["lr"] = "1e-3"
    config["presets"]["demo"]["train"]["steps"] = "50"
    config["presets"]["demo"]["train"]["target_lufs"] = "null"
    config["presets"]["demo"]["fig5"]["time_shift_s"] = ["0.1", ".inf"]
    config["presets"]["demo"]["mixit"]["clips"] = {"silence_db": "-60"}
    p = validate(config)
    assert p["train"]["lr"] == 1e-3 and p["train"]["steps"] == 50 and p["train"]["target_lufs"] is None
    assert p["fig5"]["time_shift_s"] == [0.1, float("inf")] and p["mixit"]["clips"]["silence_db"] == -60
    config["presets"]["demo"]["train"]["steps"] = "fifty"
    with pytest.raises(ConfigError, match=r"presets\.demo\.train\.steps'.*'fifty' is not of type 'integer'"):
        validate(config)


@pytest.mark.parametrize("where,value,match", [
    (("model", "dim_f"), 1024, r"model\.dim_f'.*n_fft 1024 gives only 513"),
    (("model", "dim_t"), 60, r"model\.dim_t'.*not a multiple of scale\[0\]\^num_scales = 8"),
    (("separate", "dim_t"), 32, r"separate\.dim_t'.*shorter than the training chunk"),
    (("model", "n_fft"), 512, r"model\.dim_f'.*n_fft 512 gives only 257"),
], ids=["dim_f", "dim_t", "separate", "n_fft"])
def test_cross_key_checks_name_the_key_and_the_fix(config, where, value, match):
    config["presets"]["demo"][where[0]][where[1]] = value
    with pytest.raises(ConfigError, match=match):
        validate(config)


def test_lufs_on_chunks_shorter_than_a_bs1770_block(config):
    config["presets"]["demo"]["model"].update(dim_t=16)
    config["presets"]["demo"]["separate"]["dim_t"] = 16
    with pytest.raises(ConfigError, match=r"train\.target_lufs'.*0\.240 s, shorter than the 0\.4 s block"):
        validate(config)
    config["presets"]["demo"]["train"]["target_lufs"] = None
    validate(config)


def test_paper_b_separation_chunk_not_shorter_than_training(config):
    config["presets"]["demo"]["mixit"]["separate"]["chunk_seconds"] = 0.5
    with pytest.raises(ConfigError, match=r"mixit\.separate\.chunk_seconds'.*shorter than the training chunk"):
        validate(config)


def test_dataset_is_independent_of_the_scale(config, tmp_path):
    config.update(dataset="musdb")
    with pytest.raises(ConfigError, match="missing config key 'musdb_root'"):
        validate(config)
    config["musdb_root"] = str(tmp_path)
    p = validate(config)
    assert (p["dataset"], p["run"], p["sample_rate"]) == ("musdb", "demo-musdb", 16000)
    config.update(dataset="synthetic", scale="paper")
    with pytest.raises(ConfigError, match="scale 'paper' has no synthetic corpus"):
        validate(config)
    config.update(dataset="rendered", scale="demo")
    p = validate(config)
    assert (p["dataset"], p["run"], p["render"]["n_test"]) == ("rendered", "demo-rendered", 4)
    config.update(scale="paper")
    with pytest.raises(ConfigError, match="scale 'paper' has no rendered corpus"):
        validate(config)


def test_presets_are_overlays_on_the_base(config):
    """A scale is the base with its overlay on top; an error names the key where it was written."""
    from mixlab.config import merge

    demo = validate(config)
    assert demo["model"]["name"] == "tfc_tdf_v3" and demo["model"]["n_fft"] == 1024      # base + overlay
    assert demo["mixit"]["clips"]["clip_seconds"] == 10.0 and "clips" not in config["presets"]["demo"]["mixit"]
    assert merge({"a": {"b": 1, "c": [1, 2]}}, {"a": {"c": [3]}}) == {"a": {"b": 1, "c": [3]}}
    config["base"]["augment"]["pitch_max"] = 20
    with pytest.raises(ConfigError, match=r"'base\.augment\.pitch_max': 20 is greater than the maximum of 12"):
        validate(config)
    config["base"]["augment"]["pitch_max"] = 2
    config["presets"]["demo"]["augment"] = {"pitch_max": 13}
    with pytest.raises(ConfigError, match=r"'presets\.demo\.augment\.pitch_max': 13 is greater"):
        validate(config)


def test_the_test_scale_lives_in_a_test_config():
    from mixlab.config import load
    from tests.conftest import CONFIGS

    assert "tiny" not in yaml.safe_load((REPO / "config.yaml").read_text())["presets"]
    tiny = load(CONFIGS, {"scale": "tiny"})
    assert (tiny["sample_rate"], tiny["train"]["steps"], tiny["mixit"]["n_outputs"]) == (8000, 4, 6)
    res = subprocess.run([str(Path(sys.executable).parent / "mixlab"), "check-config", "--configfile",
                          *map(str, CONFIGS), "--config", "scale=tiny"], capture_output=True, text=True)
    assert res.returncode == 0 and "scale=tiny dataset=synthetic" in res.stdout


def test_fidelity_code_takes_the_codes_side_under_the_scales_own_budgets(config):
    paper = validate(copy.deepcopy(config))
    code = validate({**copy.deepcopy(config), "fidelity": "code"})
    assert paper["run"] == config["scale"] and code["run"] == config["scale"] + "-code"
    assert paper["mixit"]["usdr"] == "joint" and code["mixit"]["usdr"] == "channel_mean"
    assert code["mixit"]["finetune"]["gain_norm"] == "mean_abs" and code["mixit"]["activity"]["n_chunks"] == 10
    assert code["mixit"]["pretrain"]["mixit_reduction"] == "mean"
    assert code["mixit"]["finetune"]["snr_loss"] == "code" and paper["mixit"]["finetune"].get("snr_loss", "paper") == "paper"
    assert code["mixit"]["channel_selection"] == "code" and paper["mixit"]["channel_selection"] == "paper"
    assert code["mixit"]["clips"]["silence"] == "code" and paper["mixit"]["clips"]["silence"] == "paper"
    # a scale's own numbers win over the overlay: the demo keeps its short warm-up and epochs
    assert code["mixit"]["pretrain"]["warmup_steps"] == paper["mixit"]["pretrain"]["warmup_steps"]
    assert code["mixit"]["pretrain"]["epoch_steps"] == paper["mixit"]["pretrain"]["epoch_steps"]
    full = validate({**copy.deepcopy(config), "fidelity": "code", "scale": "paper", "musdb_root": str(REPO)})
    assert full["mixit"]["pretrain"]["warmup_steps"] == 4000 and full["mixit"]["pretrain"]["epoch_steps"] == 2038
    with pytest.raises(ConfigError, match="'fidelity'"):
        validate({**copy.deepcopy(config), "fidelity": "both"})


@pytest.mark.slow
def test_every_run_has_its_own_results(tmp_path):
    """The README's command builds the default run's Fig. 3 (a copy of results/demo/fig3.pdf); another scale or an
    override plans into its own folder and never over the default run's files."""
    snakemake = Path(sys.executable).parent / "snakemake"
    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text())

    def dry(*args):
        res = subprocess.run([str(snakemake), "-n", "-s", str(REPO / "workflow" / "Snakefile"), "--directory",
                              str(tmp_path), *args], capture_output=True, text=True)
        return res.returncode, res.stdout + res.stderr

    code, out = dry("results/fig3.pdf")
    assert code == 0 and "cp results/demo/fig3.pdf results/fig3.pdf" in out
    code, out = dry("results/fig3.pdf", "--config", "scale=study")
    assert code != 0 and "ask for results/study/fig3.pdf" in out
    code, out = dry("paper_a", "--config", "presets={demo: {train: {steps: 100}}}")
    assert code == 0
    runs = set(re.findall(r"results/(demo[^/ ]*)/", out))
    assert len(runs) == 1 and runs.pop().startswith("demo+"), runs
    assert not re.search(r"results/(fig|table)", out)               # no top-level copy of an override's figure


def test_a_run_is_named_by_what_changes_its_results(config):
    """validate_run: an override that changes a result names a run of its own, one of the hardware does not."""
    from snakemake.utils import update_config

    from mixlab.config import validate_run

    def run(override):
        merged = copy.deepcopy(config)
        update_config(merged, override)
        return validate_run(merged, config)["run"]

    assert run({}) == "demo"
    steps = run({"presets": {"demo": {"train": {"steps": 100}}}})
    assert re.fullmatch(r"demo\+[0-9a-f]{8}", steps)
    assert run({"presets": {"demo": {"train": {"steps": 100}}}}) == steps          # the same settings, the same run
    assert run({"presets": {"demo": {"train": {"steps": 101}}}}) != steps
    assert run({"presets": {"demo": {"resources": {"train": {"gpu": 0, "cpus": 1, "mem_mb": 900, "runtime": 9}}}}}) == "demo"
    assert run({"presets": {"demo": {"train": {"workers": 2, "accumulate": 2}}}}) == "demo"
    assert run({"scale": "study"}) == "study"
    assert run({"run": "mine", "presets": {"demo": {"train": {"steps": 100}}}}) == "mine"
