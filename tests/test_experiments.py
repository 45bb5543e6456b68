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
    from mixlab.train.defaults import same_training

    a = {"model": {"name": "m"}, "train": {"p_original": 1.0, "pitch_max": 2, "snapshot_every": 50}}
    b = {"model": {"name": "m"}, "train": {"p_original": 1.0, "pitch_max": 2, "pitch_consistent": True}}
    assert same_training(a, b)
    assert not same_training(a, {**b, "train": {**b["train"], "pitch_consistent": False}})
    assert not same_training(a, {**b, "tracks": ["x"]})


def test_fig5_runs_cover_the_time_and_pitch_grids():
    P = _preset(augment={"pitch_max": 2}, fig5={"time_shift_s": [0.1, float("inf")], "pitch_max": [1, 3]})
    runs = E.fig5_runs(P)
    assert runs["timeinf"]["train"] == {"p_original": 1.0, "time_shift_s": float("inf")}
    assert runs["pitch3_inconsistent"]["train"] == {"p_original": 1.0, "pitch_max": 3, "pitch_consistent": False}
    assert set(runs) == {"time0.1", "timeinf", "pitch1_consistent", "pitch1_inconsistent",
                         "pitch3_consistent", "pitch3_inconsistent"}
