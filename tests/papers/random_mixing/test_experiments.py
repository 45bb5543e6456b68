from mixlab.papers.random_mixing import experiments as E


def _preset(**extra):
    return {"train": {"steps": 100, "batch_size": 4}, "fig1": {"p": [0.0, 0.5, 1.0]}, **extra}


def test_fixed_mix_count_is_a_fraction_of_all_examples():
    assert E.fixed_mix_count(0.1, 470000, 4) == 188000       # the paper's 10 % setting
    assert E.fixed_mix_count(1.0, 100, 4) == 400
    assert E.fixed_mix_count(1e-9, 100, 4) == 1


def test_song_subsets_differ_by_seed_and_keep_corpus_order():
    songs = [f"s{i:02d}" for i in range(86)]
    a, b = E.song_subset(songs, 0.5, 0), E.song_subset(songs, 0.5, 1)
    assert len(a) == len(b) == 43 and a != b
    assert a == sorted(a) and set(a) <= set(songs)


def test_fig3_runs_train_on_fixed_mixes_of_full_and_reduced_sets():
    songs = [f"s{i}" for i in range(10)]
    P = _preset(fig3={"fractions": [0.01, 1.0], "subset_seeds": [0, 1], "subset_fraction": 0.5})
    runs = E.runs(P, songs)["fig3"]
    assert set(runs) == {"full_r0.01", "full_r1", "half0_r0.01", "half1_r0.01", "half0_r1", "half1_r1"}
    assert runs["full_r0.01"]["train"] == {"p_original": 0.0, "fixed_mixes": 4}
    assert runs["half1_r0.01"]["train"] == {"p_original": 0.0, "fixed_mixes": 4, "seed": 1}
    assert "tracks" not in runs["full_r1"]
    assert len(runs["half1_r1"]["tracks"]) == 5 and runs["half1_r1"]["tracks"] == runs["half1_r0.01"]["tracks"]
    assert runs["half0_r1"]["tracks"] != runs["half1_r1"]["tracks"]


def test_same_training_ignores_snapshots_and_spelled_out_defaults():
    from mixlab.papers.random_mixing.defaults import DEFAULTS
    from mixlab.train.defaults import same_training

    a = {"model": {"name": "m"}, "train": {"p_original": 1.0, "pitch_max": 2, "snapshot_every": 50}}
    b = {"model": {"name": "m"}, "train": {"p_original": 1.0, "pitch_max": 2, "pitch_consistent": True}}
    assert same_training(a, b, DEFAULTS)
    assert not same_training(a, {**b, "train": {**b["train"], "pitch_consistent": False}}, DEFAULTS)
    assert not same_training(a, {**b, "tracks": ["x"]}, DEFAULTS)


def test_fig5_runs_cover_the_time_and_pitch_grids():
    P = _preset(augment={"pitch_max": 2}, fig5={"time_shift_s": [0.1, float("inf")], "pitch_max": [1, 3]})
    runs = E.fig5_runs(P)
    assert runs["timeinf"]["train"] == {"p_original": 1.0, "time_shift_s": float("inf")}
    assert runs["pitch3_inconsistent"]["train"] == {"p_original": 1.0, "pitch_max": 3, "pitch_consistent": False}
    assert set(runs) == {"time0.1", "timeinf", "pitch1_consistent", "pitch1_inconsistent",
                         "pitch3_consistent", "pitch3_inconsistent"}


def test_fig1_training_seeds_keep_the_first_seeds_ids():
    one = E.runs(_preset(), [])["fig1"]
    assert list(one) == ["p0.00", "p0.50", "p1.00"] and "seed" not in one["p0.50"]["train"]
    P = _preset(fig1={"p": [0.0, 1.0], "seeds": [0, 3]}, fig2={"p": [1.0], "every": 10})
    runs = E.runs(P, [])["fig1"]
    assert list(runs) == ["p0.00", "p0.00_s3", "p1.00", "p1.00_s3"]
    assert runs["p1.00_s3"]["train"] == {"p_original": 1.0, "seed": 3}
    assert runs["p1.00"]["train"] == {"p_original": 1.0, "snapshot_every": 10}     # Fig. 2: the first seed only
    rows = E.fig4_rows({**P, "fig4": {"p": [1.0], "time_shift_s": [0.1], "pitch_max": [], "seeds": [0]}})
    assert {(r["train_seed"], m) for r, _, m in rows} == {(0, "p1.00"), (3, "p1.00_s3")}


def test_fig1_table_averages_training_seeds_and_keeps_each(tmp_path):
    import numpy as np
    import pandas as pd

    from mixlab.papers.random_mixing.fig1 import fig1_table

    def table(name, sdr):
        rows = [{"track": t, "stem": s, "SDR": sdr + i} for i, t in enumerate("ab") for s in ("vocals", "drums", "bass", "other")]
        pd.DataFrame(rows).to_csv(tmp_path / name, index=False)
        return tmp_path / name

    csvs = [table("a", 1.0), table("b", 3.0), table("c", 5.0), table("d", 5.0)]
    t = fig1_table([0.0, 0.0, 1.0, 1.0], csvs, [0, 1, 0, 1])
    assert list(t.index) == [0.0, 1.0] and t.loc[0.0, "avg"] == 2.5 and t.loc[1.0, "avg"] == 5.5
    assert np.isclose(t.loc[0.0, "avg_se"], np.std([1.5, 3.5], ddof=1) / np.sqrt(2)) and t.loc[1.0, "avg_se"] == 0.0
    assert t.loc[0.0, "avg_seed0"] == 1.5 and t.loc[0.0, "avg_seed1"] == 3.5 and (t["n_seeds"] == 2).all()
    single = fig1_table([0.0, 1.0], csvs[:2])
    assert "avg_se" not in single and single.loc[1.0, "avg"] == 3.5
