"""Real MUSDB18-HQ at a laptop scale: the songs it uses, the middle of each, resampled, same layout."""
import json

import numpy as np
import soundfile as sf

from mixlab.data.musdb_import import import_musdb, needs_import, resample
from mixlab.data.tracks import list_tracks
from tests.conftest import REAL_NAMES, run_cli


def test_resample_keeps_length_and_pitch():
    t = np.arange(44100 * 2) / 44100
    x = np.stack([np.sin(2 * np.pi * 440 * t)] * 2, 1)
    y = resample(x, 44100, 16000)
    assert y.shape == (32000, 2)
    spec = np.abs(np.fft.rfft(y[8000:24000, 0]))
    assert abs(np.argmax(spec) * 16000 / 16000 - 440) <= 1
    assert resample(x[:44101], 44100, 8000).shape[0] == round(44101 * 8000 / 44100)


def test_needs_import():
    assert not needs_import({"sample_rate": 44100})
    assert not needs_import({"sample_rate": 44100, "musdb": {"n_train": None}})
    assert needs_import({"sample_rate": 16000})
    assert needs_import({"sample_rate": 44100, "musdb": {"n_test": 4}})


def test_import_writes_the_chosen_excerpts_at_the_scale_rate(real_names_tree, tmp_path):
    out = tmp_path / "corpus"
    run_cli("import-musdb", "--root", real_names_tree, "--out", out, "--sample-rate", 8000, "--n-train", 2,
            "--n-test", 1, "--max-seconds", 2.0)
    manifest = json.loads((out / "mixlab_corpus.json").read_text())
    train = sorted(n for n in REAL_NAMES["train"] if "Lokke" not in n)
    assert list_tracks(out, "train") == train[:2]
    assert list_tracks(out, "valid") == ["Johnny Lokke - Promises & Lies"]
    assert list_tracks(out, "test") == sorted(REAL_NAMES["test"])[:1]
    name = train[0]
    assert manifest["excerpt_seconds"][name] == [2.0, 2.0]                 # the middle 2 s of 6 s
    for f in ("mixture", "vocals", "drums", "bass", "other"):
        info = sf.info(str(out / "train" / name / f"{f}.wav"))
        assert (info.samplerate, info.channels, info.frames, info.subtype) == (8000, 2, 16000, "PCM_16")
    src, _ = sf.read(str(real_names_tree / "train" / name / "vocals.wav"), start=88200, frames=88200)
    got, _ = sf.read(str(out / "train" / name / "vocals.wav"))
    np.testing.assert_allclose(got, resample(src, 44100, 8000), atol=2 / 32768)
