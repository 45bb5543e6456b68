import copy
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
