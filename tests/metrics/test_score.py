import json

import musdb
import museval
import numpy as np
import pytest
import soundfile as sf

from mixlab.data.synth import STEMS
from mixlab.metrics.bsseval import median_over_tracks, track_medians
from tests.conftest import run_cli

TRACK = "The Easton Ellises - Falcon 69"


def test_track_lists_follow_musdbs_split(tmp_path):
    from mixlab.data.tracks import list_tracks, musdb_validation_tracks

    valid = musdb_validation_tracks()
    assert len(valid) == 14
    for subset, names in {"train": ["A - x", "B - y", valid[0], valid[3]], "test": ["C - z", "D - w"]}.items():
        for name in names:
            (tmp_path / subset / name).mkdir(parents=True)
            for stem in ("mixture", "vocals", "drums", "bass", "other"):
                sf.write(tmp_path / subset / name / f"{stem}.wav", np.zeros((100, 2)), 44100)
    for split, subset in (("train", "train"), ("valid", "train"), ("test", "test")):
        db = musdb.DB(root=str(tmp_path), is_wav=True, subsets=subset, split=None if split == "test" else split)
        assert list_tracks(tmp_path, split) == [t.name for t in db]
    assert list_tracks(tmp_path, "valid") == sorted([valid[0], valid[3]])


def test_musdb_reads_the_tree(real_musdb_tree):
    root, rate = real_musdb_tree
    db = musdb.DB(root=str(root), is_wav=True, subsets="test")
    assert [t.name for t in db] == [TRACK]
    track = db[0]
    assert track.rate == rate
    ref = sf.read(str(root / "test" / TRACK / "vocals.wav"))[0]
    np.testing.assert_allclose(track.targets["vocals"].audio, ref, atol=1e-6)


@pytest.mark.parametrize("scorer", ["museval", "fast"])
def test_score_cli_equals_museval(real_musdb_tree, real_track_museval, tmp_path, scorer):
    track, refs, ests, rate, museval_json = real_track_museval
    est_dir = tmp_path / "est"
    est_dir.mkdir()
    for stem, est in zip(STEMS, ests):
        sf.write(est_dir / f"{stem}.wav", est, rate, subtype="FLOAT")
    out = tmp_path / "score.json"
    run_cli("score", "--references", real_musdb_tree[0] / "test" / TRACK, "--estimates", est_dir, "--out", out, "--scorer", scorer)
    ours, theirs = json.loads(out.read_text()), json.loads(museval_json)
    assert ours.keys() == theirs.keys()
    assert [t["name"] for t in ours["targets"]] == [t["name"] for t in theirs["targets"]] == list(STEMS)
    tol = 1e-6 if scorer == "museval" else 1e-3
    for a, b in zip(ours["targets"], theirs["targets"]):
        assert len(a["frames"]) == len(b["frames"]) == 6
        for fa, fb in zip(a["frames"], b["frames"]):
            assert fa["time"] == fb["time"]
            for m in ("SDR", "SIR", "ISR", "SAR"):
                assert fa["metrics"][m] == pytest.approx(fb["metrics"][m], abs=tol, nan_ok=True)


def test_score_cli_many_tracks_in_one_call(real_musdb_tree, real_track_museval, tmp_path):
    track, refs, ests, rate, museval_json = real_track_museval
    ref_dir = real_musdb_tree[0] / "test" / TRACK
    est_dirs = [tmp_path / "est0", tmp_path / "est1"]
    for k, d in enumerate(est_dirs):
        d.mkdir()
        for stem, est in zip(STEMS, ests):
            sf.write(d / f"{stem}.wav", est * (1.0 - 0.3 * k), rate, subtype="FLOAT")
    outs = [tmp_path / "a" / "0.json", tmp_path / "b" / "1.json"]
    run_cli("score", "--references", ref_dir, ref_dir, "--estimates", *est_dirs, "--out", *outs, "--scorer", "fast")
    single = tmp_path / "single.json"
    run_cli("score", "--references", ref_dir, "--estimates", est_dirs[1], "--out", single, "--scorer", "fast")
    assert outs[1].read_text() == single.read_text()
    assert outs[0].read_text() != outs[1].read_text()  # scaled estimates change SDR: pairs are not mixed up
    res = run_cli("score", "--references", ref_dir, "--estimates", *est_dirs, "--out", single, check=False)
    assert res.returncode != 0 and "one entry per track" in res.stderr


def test_median_of_medians(tmp_path):
    def frames(values):
        return [{"time": float(i), "duration": 1.0, "metrics": {"SDR": v, "SIR": v, "ISR": v, "SAR": v}}
                for i, v in enumerate(values)]
    files = []
    for k, base in enumerate([0.0, 10.0, 4.0]):
        data = {"targets": [{"name": s, "frames": frames([base + j, base + 2 * j, None, base])}
                                              for j, s in enumerate(STEMS)]}
        files.append(tmp_path / f"t{k}.json")
        files[-1].write_text(json.dumps(data).replace("null", "NaN"))
    per_track = track_medians(files)
    # track 1, stem 'drums' (j=1): frames 11, 12, NaN, 10 -> nanmedian 11
    assert per_track.query("track == 't1' and stem == 'drums'")["SDR"].item() == 11.0
    agg = median_over_tracks(per_track)
    # medians over tracks of (base + j) for bases 0, 10, 4 -> 4 + j
    assert list(agg[list(STEMS)]) == [4.0, 5.0, 6.0, 7.0]
    assert agg["avg"] == 5.5


@pytest.mark.parametrize("win, hop", [(1.0, 1.0), (1, 1), (1.5, 0.5)])
def test_json_is_museval_trackstore_byte_for_byte(win, hop):
    """The per-track JSON is written without importing museval; it must be museval's TrackStore.json exactly."""
    from mixlab.metrics.bsseval import to_museval_json

    rng = np.random.default_rng(0)
    m = rng.standard_normal((4, 4, 7)) * 30
    m[0, 0, 0], m[1, 1, 1], m[2, 2, 2], m[3, 3, 3] = np.nan, np.inf, -np.inf, -0.0
    m[0, 1, 2], m[0, 2, 3], m[0, 3, 4], m[1, 0, 0] = 123456.7890123, 0.000005, -0.000015, 12.345675  # ties, rounding
    sdr, isr, sir, sar = m
    store = museval.TrackStore(win=win, hop=hop, track_name="")
    for i, stem in enumerate(STEMS):
        store.add_target(target_name=stem, values={"SDR": sdr[i].tolist(), "SIR": sir[i].tolist(),
                                                   "ISR": isr[i].tolist(), "SAR": sar[i].tolist()})
    assert to_museval_json(m, win_s=win, hop_s=hop) == store.json
