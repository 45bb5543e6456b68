import numpy as np

from mixlab.papers.mixit.activity import active_segments


def test_only_active_segments_are_kept():
    rate = 100
    seg = 8 * rate
    rng = np.random.default_rng(0)
    audio = np.zeros((2, 40 * rate))
    audio[:, : 20 * rate] = 0.5 * rng.standard_normal((2, 20 * rate))     # active 0-20 s, silent after
    kept, n = active_segments(audio, seg, 16)
    assert n == len(range(0, 40 * rate - seg + 1, seg // 2)) == 9
    # segments from 0..12 s are fully active, the one at 16 s has 8 of 16 active chunks (kept: >= half)
    assert [k / rate for k in kept] == [0.0, 4.0, 8.0, 12.0, 16.0]


def test_threshold_floor_drops_quiet_noise_everywhere():
    rate = 100
    audio = np.full((2, 40 * rate), 1e-3)
    audio[0, 0] = 1.0                    # peak normalisation makes everything else ~1e-6 power < 1e-3 floor
    kept, _ = active_segments(audio, 8 * rate, 16)
    assert kept == []
    assert active_segments(np.zeros((2, 2000)), 800, 16) == ([], 4)
