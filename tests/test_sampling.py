import numpy as np
import pyloudnorm
import pytest

from mixlab.data.sampling import MixSampler
from mixlab.data.stem_store import StemStore

CHUNK = 4000


@pytest.fixture(scope="module")
def store(tiny_store):
    return StemStore(tiny_store)


def test_original_mixes_share_song_and_offset(store):
    sampler = MixSampler(store, CHUNK, p_original=1.0, seed=1, target_lufs=None)
    for step in range(20):
        batch = sampler.batch(step, 4)
        assert batch.original.all()
        assert (batch.songs == batch.songs[:, :1]).all()
        assert (batch.offsets == batch.offsets[:, :1]).all()
        # the audio is that song's excerpt at that offset
        b = 0
        m, t = batch.songs[b, 0], batch.offsets[b, 0]
        for s in range(4):
            np.testing.assert_array_equal(batch.targets[b, s], store.read(m, s, t, CHUNK))
        np.testing.assert_allclose(batch.mixture, batch.targets.sum(1), atol=1e-6)


def test_random_mixes_draw_independently(store):
    sampler = MixSampler(store, CHUNK, p_original=0.0, seed=2, target_lufs=None)
    original, songs, offsets = sampler.draw(np.random.default_rng(0), 20000)
    assert not original.any()
    n = len(store)
    # each stem's song is uniform and independent of the others: P(all four equal) = 1/n^3
    all_same = (songs == songs[:, :1]).all(1).mean()
    assert abs(all_same - 1 / n ** 3) < 0.02
    for s in range(4):
        counts = np.bincount(songs[:, s], minlength=n) / len(songs)
        np.testing.assert_allclose(counts, 1 / n, atol=0.02)
    assert abs(np.corrcoef(songs[:, 0], songs[:, 1])[0, 1]) < 0.03
    assert (offsets != offsets[:, :1]).any(1).mean() > 0.99
    assert (offsets + CHUNK <= store.lengths[songs]).all()


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_share_of_original_mixes_matches_p(store, p):
    sampler = MixSampler(store, CHUNK, p_original=p, seed=3, target_lufs=None)
    original, _, _ = sampler.draw(np.random.default_rng(1), 20000)
    assert abs(original.mean() - p) < 4 * np.sqrt(p * (1 - p) / 20000)


def test_same_seed_same_batches(store):
    a = MixSampler(store, CHUNK, 0.5, seed=7).batch(11, 3)
    b = MixSampler(store, CHUNK, 0.5, seed=7).batch(11, 3)
    c = MixSampler(store, CHUNK, 0.5, seed=8).batch(11, 3)
    np.testing.assert_array_equal(a.targets, b.targets)
    assert not np.array_equal(a.targets, c.targets)


def test_loudness_normalization_one_gain(store):
    raw = MixSampler(store, CHUNK, 0.5, seed=4, target_lufs=None).batch(0, 4)
    norm = MixSampler(store, CHUNK, 0.5, seed=4, target_lufs=-14.0).batch(0, 4)
    meter = pyloudnorm.Meter(store.sample_rate)
    for b in range(4):
        assert meter.integrated_loudness(norm.mixture[b].T.astype(np.float64)) == pytest.approx(-14.0, abs=0.05)
        gain = norm.mixture[b].std() / raw.mixture[b].std()
        np.testing.assert_allclose(norm.targets[b], raw.targets[b] * gain, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(norm.mixture[b], norm.targets[b].sum(0), atol=1e-5)


def test_silent_mixture_is_left_alone():
    from mixlab.data.sampling import LoudnessNormalizer

    assert LoudnessNormalizer(8000).gain(np.zeros((2, 8000), dtype=np.float32)) == 1.0


def test_invalid_p(store):
    with pytest.raises(ValueError, match="p_original"):
        MixSampler(store, CHUNK, 1.5)


def test_chunk_shorter_than_loudness_block(store):
    with pytest.raises(ValueError, match="gating block"):
        MixSampler(store, 1000, 0.5, target_lufs=-14.0)
