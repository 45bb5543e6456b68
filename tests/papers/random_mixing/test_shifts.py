import json

import numpy as np
import pytest
import soundfile as sf

from mixlab.papers.random_mixing.shifted_testsets import build_shifted_testset, draw_shifts, pitch_shift, time_shift
from mixlab.data.tracks import list_tracks, load_stems, track_dir


def test_time_shift_moves_a_stem_by_the_drawn_amount():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1000, 2)).astype(np.float32)
    for k in (0, 7, -13, 999, -999):
        y = time_shift(x, k)
        assert y.shape == x.shape
        if k >= 0:
            np.testing.assert_array_equal(y[k:], x[:1000 - k])
            assert not y[:k].any()
        else:
            np.testing.assert_array_equal(y[:1000 + k], x[-k:])
            assert not y[1000 + k:].any()


def _f0(y, sr):
    spec = np.abs(np.fft.rfft(y[:, 0] * np.hanning(len(y)), n=16 * len(y)))
    return np.argmax(spec) * sr / (16 * len(y))


@pytest.mark.parametrize("k", [-3, -1, 2])
def test_pitch_shift_moves_f0_by_the_semitone_ratio(k):
    sr, f0 = 16000, 440.0
    t = np.arange(2 * sr) / sr
    x = np.stack([0.5 * np.sin(2 * np.pi * f0 * t)] * 2, 1).astype(np.float32)
    y = pitch_shift(x, sr, k)
    assert y.shape == x.shape
    mid = slice(sr // 2, 3 * sr // 2)            # away from Rubber Band's start-up
    assert _f0(y[mid], sr) == pytest.approx(f0 * 2 ** (k / 12), rel=0.01)


def test_draws_are_per_stem_bounded_and_repeatable():
    d = [draw_shifts("pitch", 3, s, "Song A", 8000) for s in range(40)]
    flat = np.array(d)
    assert flat.shape == (40, 4) and flat.min() >= -3 and flat.max() <= 3
    assert (flat != flat[:, :1]).any()            # inconsistent across stems
    assert d[5] == draw_shifts("pitch", 3, 5, "Song A", 8000)
    t = np.array([draw_shifts("time", 0.1, s, "Song A", 8000) for s in range(40)])
    assert np.abs(t).max() <= 800 and np.abs(t).max() > 400
    with pytest.raises(ValueError, match="unknown shift kind"):
        draw_shifts("tempo", 1, 0, "x", 8000)


def test_shifted_test_set_is_a_listenable_corpus(tiny_corpus, tmp_path):
    out = build_shifted_testset(tiny_corpus, tmp_path / "t", "time", 0.05, 1, 8000, progress=lambda m: None)
    names = list_tracks(tiny_corpus, "test")
    assert list_tracks(out, "test") == names
    shifts = json.loads((out / "mixlab_corpus.json").read_text())["shift"]["per_track"]
    orig = load_stems(track_dir(tiny_corpus, "test", names[0]), 8000)
    new = load_stems(track_dir(out, "test", names[0]), 8000)
    for s, k in enumerate(shifts[names[0]]):
        np.testing.assert_allclose(new[s], time_shift(orig[s], k), atol=1e-7)
    mix, sr = sf.read(track_dir(out, "test", names[0]) / "mixture.wav", dtype="float32")
    assert sr == 8000
    np.testing.assert_allclose(mix, new.sum(0), atol=1e-5)


@pytest.mark.parametrize("k", [-2, 2, 3])
def test_pitch_shift_keeps_timing_within_a_few_milliseconds(k):
    """Shifted copies are mixed with unshifted stems (Fig. 5b): Rubber Band must not delay them audibly."""
    sr = 16000
    x = np.zeros((3 * sr, 2), np.float32)
    for c in range(sr // 4, 3 * sr - 100, sr // 3):          # 1 kHz clicks three times a second
        x[c:c + 40] = (np.hanning(40) * np.sin(2 * np.pi * 1000 * np.arange(40) / sr))[:, None]
    y = pitch_shift(x, sr, k)
    ex, ey = np.abs(x[:, 0]), np.abs(y[:, 0])
    n = 2 * len(ex)
    cc = np.fft.irfft(np.fft.rfft(ey, n) * np.conj(np.fft.rfft(ex, n)), n)
    lag = int(np.argmax(np.concatenate([cc[-400:], cc[:400]]))) - 400
    assert abs(lag) <= 0.01 * sr                              # measured: 0-6 ms
