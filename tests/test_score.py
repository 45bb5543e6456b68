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


def test_musdb_reads_the_tree(real_musdb_tree):
    root, rate = real_musdb_tree
    db = musdb.DB(root=str(root), is_wav=True, subsets="test")
    assert [t.name for t in db] == [TRACK]
    track = db[0]
    assert track.rate == rate
    ref = sf.read(str(root / "test" / TRACK / "vocals.wav"))[0]
    np.testing.assert_allclose(track.targets["vocals"].audio, ref, atol=1e-6)


def test_score_cli_equals_museval(real_musdb_tree, tmp_path):
    root, rate = real_musdb_tree
    db = musdb.DB(root=str(root), is_wav=True, subsets="test")
    track = db[0]
    rng = np.random.default_rng(0)
    estimates, est_dir = {}, tmp_path / "est"
    est_dir.mkdir()
    for i, stem in enumerate(STEMS):
        ref = track.targets[stem].audio
        est = (ref + 10 ** (-i / 4) * 0.05 * rng.standard_normal(ref.shape)).astype(np.float32)
        sf.write(est_dir / f"{stem}.wav", est, rate, subtype="FLOAT")
        estimates[stem] = est.astype(np.float64)
    out = tmp_path / "score.json"
    run_cli("score", "--references", root / "test" / TRACK, "--estimates", est_dir, "--out", out,
            "--track-name", TRACK)
    ours = json.loads(out.read_text())
    theirs = json.loads(museval.eval_mus_track(track, estimates).json)
    assert ours.keys() == theirs.keys()
    assert [t["name"] for t in ours["targets"]] == [t["name"] for t in theirs["targets"]]
    for a, b in zip(ours["targets"], theirs["targets"]):
        assert len(a["frames"]) == len(b["frames"]) == 6
        for fa, fb in zip(a["frames"], b["frames"]):
            assert fa["time"] == fb["time"]
            for m in ("SDR", "SIR", "ISR", "SAR"):
                assert fa["metrics"][m] == pytest.approx(fb["metrics"][m], abs=1e-6, nan_ok=True)


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
