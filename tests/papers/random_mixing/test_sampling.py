import numpy as np
import pyloudnorm
import pytest

from mixlab.papers.random_mixing.sampling import MixSampler
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
    from mixlab.papers.random_mixing.sampling import LoudnessNormalizer

    assert LoudnessNormalizer(8000).gain(np.zeros((2, 8000), dtype=np.float32)) == 1.0


def test_invalid_p(store):
    with pytest.raises(ValueError, match="p_original"):
        MixSampler(store, CHUNK, 1.5)


def test_chunk_shorter_than_loudness_block(store):
    with pytest.raises(ValueError, match="gating block"):
        MixSampler(store, 1000, 0.5, target_lufs=-14.0)


def test_fixed_mixes_repeat_exactly(store):
    R, B = 5, 2
    sampler = MixSampler(store, CHUNK, p_original=0.0, seed=4, target_lufs=None, fixed_mixes=R)
    seen = {}
    for step in range(3 * R):                       # 6 epochs over the R mixes
        batch = sampler.batch(step, B)
        assert not batch.original.any()
        for b in range(B):
            key = (tuple(batch.songs[b]), tuple(batch.offsets[b]))
            if key in seen:
                np.testing.assert_array_equal(batch.targets[b], seen[key])
            seen[key] = batch.targets[b].copy()
    assert len(seen) == R                            # only R distinct mixes, ever
    # each epoch (R consecutive examples) uses every mix once
    examples = [tuple(sampler.fixed_mix(sampler._fixed_index(g))[0]) + tuple(sampler.fixed_mix(sampler._fixed_index(g))[1])
                for g in range(2 * R)]
    assert len(set(examples[:R])) == R and len(set(examples[R:])) == R
    # and a fixed mix is a random mix: stems from several songs
    songs = np.array([sampler.fixed_mix(k)[0] for k in range(R)])
    assert (songs != songs[:, :1]).any()


def test_reduced_song_set_contains_only_its_songs(tiny_store):
    from mixlab.papers.random_mixing.experiments import song_subset

    full = StemStore(tiny_store)
    keep = song_subset(full.names, 0.5, seed=1)
    assert keep == song_subset(full.names, 0.5, seed=1) and 1 <= len(keep) < len(full.names)
    sub = StemStore(tiny_store, tracks=keep)
    assert sub.names == keep
    sampler = MixSampler(sub, CHUNK, p_original=0.5, seed=0, target_lufs=None)
    _, songs, _ = sampler.draw(np.random.default_rng(0), 500)
    assert {sub.names[i] for i in np.unique(songs)} <= set(keep)


@pytest.mark.parametrize("t_s", [0.05, 0.2])
def test_time_shift_moves_stems_of_original_mixes_within_range(store, t_s):
    sampler = MixSampler(store, CHUNK, p_original=1.0, seed=5, target_lufs=None, time_shift_s=t_s)
    original, songs, offsets = sampler.draw(np.random.default_rng(0), 2000)
    assert original.all() and (songs == songs[:, :1]).all()
    spread = offsets.max(1) - offsets.min(1)
    t = round(t_s * store.sample_rate)
    assert spread.max() <= 2 * t and spread.mean() > 0.5 * t
    assert (offsets + CHUNK <= store.lengths[songs]).all() and (offsets >= 0).all()


def test_infinite_time_shift_is_within_song_random_mixing(store):
    sampler = MixSampler(store, CHUNK, p_original=1.0, seed=6, target_lufs=None, time_shift_s=float("inf"))
    _, songs, offsets = sampler.draw(np.random.default_rng(0), 2000)
    assert (songs == songs[:, :1]).all()
    room = store.lengths[songs[:, 0]] - CHUNK
    # every stem anywhere in its song: offsets of two stems are independent and span the song
    assert np.abs(np.corrcoef(offsets[:, 0], offsets[:, 1])[0, 1]) < 0.1
    assert (offsets[:, 0] / room).min() < 0.05 and (offsets[:, 0] / room).max() > 0.95


@pytest.fixture(scope="module")
def bank(tiny_store, tmp_path_factory):
    from mixlab.papers.random_mixing.pitch_bank import build_pitch_bank

    return build_pitch_bank(tiny_store, tmp_path_factory.mktemp("bank") / "p+2", 2, progress=lambda m: None)


@pytest.fixture(scope="module")
def pooled(tiny_store, bank):
    return StemStore([tiny_store, bank])


def test_pitch_bank_copies_are_tagged_aligned_and_shifted(pooled, store, bank):
    from mixlab.papers.random_mixing.pitch_bank import build_pitch_bank

    n = len(store)
    assert len(pooled) == 2 * n
    assert pooled.semitones == [0] * n + [2] * n and pooled.songs[n:] == store.names
    np.testing.assert_array_equal(pooled.lengths[n:], store.lengths)      # same length: copies stay aligned
    a, b = pooled.read(0, 2, 1000, CHUNK), pooled.read(n, 2, 1000, CHUNK)
    assert not np.allclose(a, b)                                            # shifted audio, not a copy
    # a song subset keeps the song's copies too
    sub = StemStore([store.path, bank], tracks=store.names[:1])
    assert sub.songs == [store.names[0]] * 2 and sub.semitones == [0, 2]
    with pytest.raises(ValueError, match="already holds shifted copies"):
        build_pitch_bank(bank, bank.parent / "again", 1)


@pytest.mark.parametrize("consistent", [True, False])
def test_original_mixes_take_one_shift_or_one_per_stem(pooled, consistent):
    sampler = MixSampler(pooled, CHUNK, p_original=1.0, seed=9, target_lufs=None, pitch_consistent=consistent)
    _, entries, offsets = sampler.draw(np.random.default_rng(0), 400)
    songs = np.array(pooled.songs)[entries]
    semis = np.array(pooled.semitones)[entries]
    assert (songs == songs[:, :1]).all() and (offsets == offsets[:, :1]).all()
    mixed = (semis != semis[:, :1]).any(1).mean()
    if consistent:
        assert mixed == 0 and set(semis[:, 0]) == {0, 2}
    else:
        assert 0.8 < mixed < 0.95                                          # 1 - 2 * 0.5^4 = 0.875


def test_pitch_max_bounds_the_shifts_used(pooled):
    sampler = MixSampler(pooled, CHUNK, p_original=0.5, seed=9, target_lufs=None, pitch_max=1)
    _, entries, _ = sampler.draw(np.random.default_rng(0), 400)
    assert set(np.array(pooled.semitones)[entries].ravel()) == {0}
