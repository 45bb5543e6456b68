"""mixlab check-musdb: every problem of a MUSDB18-HQ tree named with its file and fix, before anything trains."""
import shutil

import numpy as np
import pytest
import soundfile as sf

from mixlab.data.check_musdb import check_musdb
from tests.conftest import REAL_NAMES, run_cli, write_musdb_tree

TRAIN, VALID = REAL_NAMES["train"][0], "Johnny Lokke - Promises & Lies"
TEST = REAL_NAMES["test"][0]


@pytest.fixture(scope="module")
def base_tree(tmp_path_factory):
    return write_musdb_tree(tmp_path_factory.mktemp("base") / "musdb18hq", seconds=1.0)


@pytest.fixture
def tree(base_tree, tmp_path):
    return shutil.copytree(base_tree, tmp_path / "musdb18hq")


def _wav(path, frames=44100, channels=2, rate=44100):
    sf.write(path, np.zeros((frames, channels), np.float32) + 0.01, rate, subtype="PCM_16")


def test_good_tree_passes_with_a_subset_warning(tree):
    report = check_musdb(tree)
    assert report.ok, report.text()
    assert report.tracks["valid"] == [VALID] and len(report.tracks["train"]) == 4 and len(report.tracks["test"]) == 2
    assert "7 tracks" in report.warnings[0] and "150" in report.warnings[0]
    res = run_cli("check-musdb", "--root", tree)
    assert "OK" in res.stdout and "warning" in res.stdout


@pytest.mark.parametrize("subset,track", [("train", TRAIN), ("train", VALID), ("test", TEST)],
                         ids=["train", "valid", "test"])
def test_every_defect_in_every_split_is_reported_at_once(tree, subset, track):
    folder = tree / subset / track
    (folder / "vocals.wav").unlink()                                   # missing
    (folder / "drums.wav").write_bytes(b"")                            # 0 bytes
    (folder / "bass.wav").write_bytes(b"RIFF garbage, not a wave")     # unreadable
    _wav(folder / "other.wav", channels=1)                             # mono
    _wav(folder / "mixture.wav", rate=22050)                           # wrong rate
    other = tree / subset / sorted(p.name for p in (tree / subset).iterdir() if p.name != track)[0]
    _wav(other / "bass.wav", frames=100)                               # shorter than the other files
    sf.write(other / "drums.wav", np.zeros((0, 2), np.float32), 44100, subtype="PCM_16")   # header, no audio

    report = check_musdb(tree)
    assert not report.ok
    text = report.text()
    expect = [
        (folder / "vocals.wav", "missing"), (folder / "drums.wav", "0 bytes"),
        (folder / "bass.wav", "not a readable WAV"), (folder / "other.wav", "ffmpeg -i in.wav -ac 2 out.wav"),
        (folder / "mixture.wav", "22050 Hz"), (other / "drums.wav", "no audio"), (other, "differ in length"),
    ]
    for path, what in expect:
        assert any(str(path) in p and what in p for p in report.problems), (path, what, text)
    assert all("restore" in p or "ffmpeg" in p or "44100" in p for p in report.problems)

    res = run_cli("check-musdb", "--root", tree, check=False)
    assert res.returncode == 2 and "Traceback" not in res.stdout + res.stderr
    assert f"{len(report.problems)} problem(s)" in res.stdout


def test_wrong_layouts_are_named(tree, tmp_path):
    # the dataset one level down
    report = check_musdb(tmp_path)
    assert "one level down; pass musdb_root=" + str(tree) in report.problems[0]
    # a split folder instead of the root
    assert "this is the 'train' split itself" in check_musdb(tree / "train").problems[0]
    # nothing there
    assert "no such directory" in check_musdb(tmp_path / "nowhere").problems[0]
    # empty train/ and test/
    empty = tmp_path / "empty"
    (empty / "train").mkdir(parents=True)
    (empty / "test").mkdir()
    problems = check_musdb(empty).problems
    assert len(problems) == 2 and all("empty (no track folders)" in p for p in problems)
    # no test/
    shutil.rmtree(tree / "test")
    assert "no test/ folder" in check_musdb(tree).problems[0]
    # MUSDB18 (stem.mp4), not HQ
    mp4 = tmp_path / "musdb18"
    (mp4 / "train").mkdir(parents=True)
    (mp4 / "train" / "A - B.stem.mp4").write_bytes(b"\0")
    assert "MUSDB18 (compressed .stem.mp4), not MUSDB18-HQ" in check_musdb(mp4).problems[0]
    assert "musdbconvert" in check_musdb(mp4).problems[0]


def test_a_train_folder_without_validation_songs_is_an_error(tree):
    shutil.rmtree(tree / "train" / VALID)
    report = check_musdb(tree)
    assert any("validation split" in p and "would be empty" in p for p in report.problems)


def test_separate_and_score_give_the_message_not_a_traceback(tree, tmp_path):
    from tests.papers.random_mixing.test_recipe import MODEL, _spec, _train_args

    store = tmp_path / "store"
    run_cli("store", "--root", tree, "--split", "train", "--out", store, "--sample-rate", 44100)
    spec = {"model": {**MODEL, "sample_rate": 44100}, "train": {**_spec(1)["train"], "target_lufs": None}}
    run_cli(*_train_args(spec, store, tmp_path / "m.pt", tmp_path / "r"))
    (tree / "test" / TEST / "mixture.wav").write_bytes(b"RIFF....WAVE")     # a torn file
    res = run_cli("separate", tree / "test" / TEST, "--model", tmp_path / "m.pt", "--out", tmp_path / "sep",
                  "--threads", 1, check=False)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert str(tree / "test" / TEST / "mixture.wav") in res.stderr and "not a readable audio file" in res.stderr

    (tree / "test" / TEST / "vocals.wav").write_bytes(b"")
    res = run_cli("score", "--references", tree / "test" / TEST, "--estimates", tree / "test" / TEST,
                  "--out", tmp_path / "s.json", check=False)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert str(tree / "test" / TEST / "vocals.wav") in res.stderr and "0 bytes" in res.stderr
