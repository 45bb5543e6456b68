import numpy as np
import pandas as pd
import pytest

from mixlab.papers.random_mixing.evalsets import build_eval_set, load_chunks
from mixlab.data.stem_store import StemStore
from mixlab.metrics.sdx import sdx_sdr

CHUNK = 4000


def test_sdx_sdr_matches_a_hand_computed_value():
    ref = np.array([[1.0, 2.0], [3.0, 4.0]])          # (channels, samples)
    est = 0.5 * ref
    # sum s^2 = 30, sum (s - s_hat)^2 = 7.5  ->  10 log10(4)
    assert sdx_sdr(ref, est) == pytest.approx(10 * np.log10((30 + 1e-7) / (7.5 + 1e-7)), abs=1e-12)
    assert sdx_sdr(ref, est) == pytest.approx(6.0206, abs=1e-4)
    # silent reference and silent estimate: 0 dB thanks to delta, not NaN
    assert sdx_sdr(np.zeros((2, 5)), np.zeros((2, 5))) == 0.0
    assert sdx_sdr(np.stack([ref, ref]), np.stack([est, ref])).shape == (2,)


@pytest.fixture(scope="module")
def store(tiny_store):
    return StemStore(tiny_store)


def test_eval_set_original_chunks_tile_songs_and_random_sets_are_per_stem_and_seed(store):
    recipe = build_eval_set(store, CHUNK, seeds=[0, 1])
    orig = recipe[recipe["kind"] == "original"]
    assert len(orig) == sum(int(L) // CHUNK for L in store.lengths)
    for name, group in orig.groupby("song_vocals"):
        offs = group["offset_vocals"].to_numpy()
        np.testing.assert_array_equal(offs, np.arange(len(offs)) * CHUNK)      # consecutive, no overlap
        for s in store.stems:
            assert (group[f"song_{s}"] == name).all() and (group[f"offset_{s}"] == offs).all()
    rand = recipe[recipe["kind"] == "random"]
    assert len(rand) == len(orig) * len(store.stems) * 2                          # 4 stems x 2 seeds
    assert set(rand["eval_stem"]) == set(store.stems) and set(rand["seed"]) == {0, 1}
    songs = rand[[f"song_{s}" for s in store.stems]].to_numpy()
    assert (songs != songs[:, :1]).any(1).mean() > 0.3                            # stems from several songs
    pd.testing.assert_frame_equal(recipe, build_eval_set(store, CHUNK, seeds=[0, 1]))   # built once, repeatable


def test_eval_set_cap_and_chunk_audio(store):
    recipe = build_eval_set(store, CHUNK, seeds=[0], max_chunks=3)
    assert (recipe["kind"] == "original").sum() == 3
    mixture, targets = load_chunks(store, recipe.iloc[:2], CHUNK, target_lufs=None)
    row = recipe.iloc[0]
    i = store.names.index(row["song_drums"])
    np.testing.assert_array_equal(targets[0, 1], store.read(i, 1, int(row["offset_drums"]), CHUNK))
    np.testing.assert_allclose(mixture, targets.sum(1), atol=1e-6)
