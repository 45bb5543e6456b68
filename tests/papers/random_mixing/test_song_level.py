import json

import numpy as np
import pandas as pd
import pytest

from mixlab.papers.random_mixing.song_level import build_song_level_store, song_level_plan
from mixlab.data.stem_store import StemStore
from mixlab.papers.random_mixing.tables import table1, write_table1


def test_random_songs_take_four_different_songs_trimmed_to_the_shortest():
    lengths = np.array([100, 250, 180, 90, 300, 220])
    random, original = song_level_plan(lengths, 20, seed=3)
    for songs, L in random:
        assert len(set(songs)) == 4 and L == lengths[songs].min()
    # the originals: same lengths, cut inside their songs
    assert sum(L for _, _, L in original) == sum(L for _, L in random)
    for (m, offset, L), (_, Lr) in zip(original, random):
        assert L == Lr and 0 <= offset and offset + L <= lengths[m]
    assert song_level_plan(lengths, 20, seed=3) == (random, original)
    assert song_level_plan(lengths, 20, seed=4) != (random, original)
    with pytest.raises(ValueError, match="at least 4"):
        song_level_plan(lengths[:3], 2, seed=0)


@pytest.fixture(scope="module")
def big_store(tmp_path_factory):
    """Five short songs in a store, each stem a distinct constant so its source is readable."""
    root = tmp_path_factory.mktemp("sl")
    entries = []
    for i, L in enumerate([900, 1200, 700, 1500, 1000]):
        arr = np.zeros((4, 2, L), dtype=np.int16)
        for s in range(4):
            arr[s] = 100 * i + s + 1
        np.save(root / f"{i:04d}.npy", arr)
        entries.append({"name": f"song{i}", "file": f"{i:04d}.npy", "length": L, "dtype": "int16"})
    (root / "store.json").write_text(json.dumps({"sample_rate": 8000, "stems": ["vocals", "drums", "bass", "other"],
                                                 "split": "train", "tracks": entries}))
    return root


def test_song_level_stores_hold_what_the_plan_says(big_store, tmp_path):
    src = StemStore(big_store)
    rnd = StemStore(build_song_level_store(big_store, tmp_path / "r", "random", 1, progress=lambda m: None))
    org = StemStore(build_song_level_store(big_store, tmp_path / "o", "original", 1, progress=lambda m: None))
    assert len(rnd) == len(org) == len(src)
    assert rnd.lengths.sum() == org.lengths.sum()
    for i in range(len(rnd)):
        sources = [int(round(rnd.read(i, s, 0, 1)[0, 0] * 32768)) // 100 for s in range(4)]
        assert len(set(sources)) == 4                                           # four different songs
        assert rnd.lengths[i] == min(src.lengths[m] for m in sources)           # trimmed to the shortest
        vals = {int(round(org.read(i, s, 0, 1)[0, 0] * 32768)) // 100 for s in range(4)}
        assert len(vals) == 1                                                   # one song, all stems


def test_table1_mean_and_std_over_seeds(tmp_path):
    csvs, ids = [], []
    for kind, base in (("original", 6.0), ("random", 1.0)):
        for seed, delta in enumerate((-0.5, 0.5)):
            rows = [{"track": f"t{k}", "stem": t, "SDR": base + delta + k} for k in range(3)
                    for t in ("vocals", "drums", "bass", "other")]
            path = tmp_path / f"{kind}{seed}.csv"
            pd.DataFrame(rows).to_csv(path, index=False)
            csvs.append(path)
            ids.append(f"{kind}_s{seed}")
    per_model, summary = table1(ids, csvs)
    assert summary.loc["original", "vocals_mean"] == pytest.approx(7.0)   # medians 6.5 and 7.5
    assert summary.loc["random", "avg_std"] == pytest.approx(0.5 ** 0.5)     # sample std of 1.5 and 2.5
    md, csv, tex = write_table1(summary, tmp_path / "table1", "demo")
    assert "7.00 ± 0.71" in md.read_text() and "$\\pm$" in tex.read_text()
    assert "mean ± std over n = 2 training seeds. demo" in md.read_text()
    # one seed: the mean alone, no "± 0.00", an empty std in the CSV (not 0) and n said right
    _, one = table1(ids[::2], csvs[::2])
    md, csv, tex = write_table1(one, tmp_path / "one", "demo")
    text = md.read_text()
    assert "6.50 |" in text and "±" not in text.split("\n\n")[0] and "$\\pm$" not in tex.read_text()
    assert "n = 1 training seed per row: no spread" in text and "1 training seeds" not in text
    assert pd.read_csv(csv, index_col=0)["avg_std"].isna().all()
