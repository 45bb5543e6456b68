"""FMA preparation: clips, silence dropping, rejected files with reasons; the synthetic FMA-like corpus."""
import csv
import json
from pathlib import Path

import numpy as np
import pytest

from mixlab.papers.mixit.fma import ClipRule, ClipStore, clip_starts, decode, prepare_subset
from mixlab.papers.mixit.fma_synth import PLANTED, FMASynthSpec, build_fma_corpus

RATE = 44100


def _tone(seconds, rate, f0=220.0):
    t = np.arange(int(seconds * rate)) / rate
    x = 0.3 * np.sin(2 * np.pi * f0 * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t))
    return np.stack([x, 0.8 * x], 1).astype(np.float32)


def _mp3(path, audio, rate):
    from pedalboard.io import AudioFile

    path.parent.mkdir(parents=True, exist_ok=True)
    with AudioFile(str(path), "w", rate, 2, quality="V2") as f:
        f.write(audio.T.copy())


@pytest.fixture(scope="module")
def fma_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("fma") / "fma_large"
    good = _tone(25, RATE)
    good[int(13 * RATE):] = 0.0                       # music 0-13 s, then 12 s of silence
    _mp3(root / "000" / "000002.mp3", good, RATE)
    _mp3(root / "000" / "000005.mp3", _tone(21, 48000, 330.0), 48000)     # resampled to 44.1 kHz
    full = _tone(20, RATE)
    _mp3(root / "001" / "001000.mp3", full, RATE)
    data = (root / "001" / "001000.mp3").read_bytes()
    (root / "001" / "001000.mp3").write_bytes(data[: len(data) // 2])     # truncated
    (root / "001" / "001001.mp3").write_bytes(b"")                        # empty
    mostly = _tone(20, RATE)
    mostly[int(3 * RATE):] = 0.0
    _mp3(root / "002" / "002000.mp3", mostly, RATE)                       # mostly silent
    _mp3(root / "002" / "002001.mp3", _tone(20, 22050), 22050)            # below 44.1 kHz
    (root / "002" / "002002.mp3").write_bytes(np.random.default_rng(0).bytes(5000))   # corrupt
    return root


def test_prep_keeps_the_right_clips_and_rejects_the_right_files(fma_folder, tmp_path):
    out = tmp_path / "clips"
    man = prepare_subset(fma_folder, out, ClipRule(RATE), workers=1, progress=lambda m: None)
    with open(out / "rejects.tsv") as fh:
        rejects = {r["path"]: r["reason"] for r in csv.DictReader(fh, delimiter="\t")}
    assert set(rejects) == {"001/001000.mp3", "001/001001.mp3", "002/002000.mp3", "002/002001.mp3", "002/002002.mp3"}
    assert rejects["001/001000.mp3"].startswith("truncated")
    assert rejects["001/001001.mp3"].startswith("empty file")
    assert rejects["002/002000.mp3"].startswith("silent")
    assert rejects["002/002001.mp3"] == "sample rate 22050 Hz below 44100 Hz"
    assert rejects["002/002002.mp3"].startswith("undecodable")
    assert [f["path"] for f in man["files"]] == ["000/000002.mp3", "000/000005.mp3"]
    # 25 s file: clips at 0 and 5 s kept (0 and 2 s of silence), 10 and 15 s dropped (7 and 10 s)
    # 21 s file at 48 kHz: clips at 0, 5, 10 s
    starts = [(f, s / RATE) for f, s in man["clips"]]
    assert starts == [(0, 0.0), (0, 5.0), (1, 0.0), (1, 5.0), (1, 10.0)]
    assert man["dropped_silent_clips"] == 2
    store = ClipStore(out)
    assert store.sample_rate == RATE and len(store) == 5
    decoded = decode(fma_folder / "000" / "000002.mp3", RATE)
    np.testing.assert_allclose(store.read(1, 100, 1000), decoded[5 * RATE + 100: 5 * RATE + 1100].T, atol=1 / 32768)
    with pytest.raises(ValueError, match="outside"):
        store.read(0, RATE * 9, RATE * 2)


def test_resampled_file_keeps_its_pitch(fma_folder):
    audio = decode(fma_folder / "000" / "000005.mp3", RATE)
    assert abs(len(audio) / RATE - 21.0) < 0.1
    spec = np.abs(np.fft.rfft(audio[RATE:2 * RATE, 0]))
    assert abs(np.argmax(spec) - 330.0) <= 1.0


def test_clip_starts_counts_silent_seconds():
    rule = ClipRule(100, clip_seconds=10, hop_seconds=5, max_silent_seconds=5)
    audio = np.full((3000, 2), 0.1, np.float32)
    audio[1200:1800] = 0.0                       # 6 silent seconds: 12..18 s
    kept, dropped = clip_starts(audio, rule)
    # clips [0,10) 0 s, [5,15) 3 s, [10,20) 6 s -> drop, [15,25) 3 s, [20,30) 0 s
    assert kept == [0, 500, 1500, 2000] and dropped == 1


def test_synthetic_fma_corpus_is_nested_and_its_planted_files_are_rejected(tmp_path):
    spec = FMASynthSpec(seed=1, sample_rate=16000, small=2, medium=3, large=3, full=4, min_seconds=11, max_seconds=12)
    build_fma_corpus(tmp_path, spec, progress=lambda m: None)
    man = json.loads((tmp_path / "fma_synth.json").read_text())
    subsets = {s: sorted(p.stem for p in (tmp_path / f"fma_{s}").glob("*/*.mp3")) for s in ("small", "medium", "large", "full")}
    planted = {p["id"]: p for p in man["planted"]}
    assert set(subsets["small"]) <= set(subsets["medium"]) <= set(subsets["large"]) <= set(subsets["full"])
    assert [len(set(v) - set(planted)) for v in subsets.values()] == [2, 3, 3, 4]
    assert all(len(t) == 6 and (tmp_path / "fma_full" / t[:3] / f"{t}.mp3").exists() for t in subsets["full"])
    out = tmp_path / "prep"
    res = prepare_subset(tmp_path / "fma_small", out, ClipRule(16000), progress=lambda m: None)
    with open(out / "rejects.tsv") as fh:
        rejects = {r["path"].split("/")[1][:6]: r["reason"] for r in csv.DictReader(fh, delimiter="\t")}
    assert set(rejects) == set(planted)
    for tid, p in planted.items():
        assert rejects[tid].startswith(PLANTED[p["kind"]]), (p["kind"], rejects[tid])
    assert len(res["files"]) == 2 and len(res["clips"]) == 2   # 11-12 s songs: one 10 s clip each


def test_resampled_length_rounds_and_keeps_the_last_clip(tmp_path):
    """30.000 s at 48 kHz is exactly 1,323,000 frames at 44.1 kHz; one short would lose the 20-30 s clip."""
    import soundfile as sf

    folder = tmp_path / "fma_small"
    _mp3(folder / "000" / "000010.mp3", _tone(30, 48000), 48000)
    source = sf.info(str(folder / "000" / "000010.mp3")).frames
    audio = decode(folder / "000" / "000010.mp3", RATE)
    assert source == 30 * 48000                    # gapless decoding: the encoder's padding is not audio
    assert len(audio) == 30 * RATE                 # the resampler alone gives 1,322,999
    man = prepare_subset(folder, tmp_path / "out", ClipRule(RATE), progress=lambda m: None)
    assert [s / RATE for _, s in man["clips"]] == [0.0, 5.0, 10.0, 15.0, 20.0]


def test_mono_files_are_skipped_or_duplicated_and_listed(tmp_path):
    from pedalboard.io import AudioFile

    folder = tmp_path / "fma_small"
    path = folder / "000" / "000011.mp3"
    path.parent.mkdir(parents=True)
    with AudioFile(str(path), "w", RATE, 1, quality="V2") as f:
        f.write(_tone(12, RATE)[:, :1].T.copy())
    _mp3(folder / "000" / "000012.mp3", _tone(12, RATE), RATE)

    man = prepare_subset(folder, tmp_path / "skip", ClipRule(RATE), progress=lambda m: None)   # default: skip
    with open(tmp_path / "skip" / "rejects.tsv") as fh:
        rejects = {r["path"]: r["reason"] for r in csv.DictReader(fh, delimiter="\t")}
    assert rejects["000/000011.mp3"].startswith("mono: skipped as the authors' code does")
    assert [f["path"] for f in man["files"]] == ["000/000012.mp3"] and man["mono_duplicated"] == []

    man = prepare_subset(folder, tmp_path / "dup", ClipRule(RATE, mono="duplicate"), progress=lambda m: None)
    assert [f["path"] for f in man["files"]] == ["000/000011.mp3", "000/000012.mp3"]
    assert man["mono_duplicated"] == ["000/000011.mp3"]
    left, right = ClipStore(tmp_path / "dup").read(0, 1000, 500)
    np.testing.assert_array_equal(left, right)


def test_a_rendered_unlabelled_pool_is_full_mixes_of_chorales_it_never_tests_on(tmp_path):
    """dataset=rendered: Paper B pre-trains on rendered full mixes, drawn from the training chorales only."""
    import os

    from mixlab.data import rendered

    if rendered.check_tools(rendered.RenderSpec(singer="patch")) and not os.environ.get("MIXLAB_REQUIRE_CORPUS"):
        pytest.skip("the corpus renderer is not installed (make corpus-deps)")
    spec = FMASynthSpec(seed=1, sample_rate=16000, small=1, medium=1, large=2, full=2, min_seconds=4, max_seconds=5,
                        source="rendered", render_seed=1)
    build_fma_corpus(tmp_path, spec, progress=lambda m: None)
    clips = prepare_subset(tmp_path / "fma_large", tmp_path / "prep", ClipRule(16000, clip_seconds=3.0, hop_seconds=3.0),
                           progress=lambda m: None)
    good = {f["id"] for f in json.loads((tmp_path / "fma_synth.json").read_text())["files"]}
    assert len(good) == 2 and good <= {f["id"] for f in clips["files"]}     # both rendered songs decode and sound
    _, made = rendered.unlabelled_mixture(1, 0, 16000, 4.0, corpus_seed=1)
    test_chorales = {c for s in rendered.draw_songs(rendered.RenderSpec(seed=1, n_test=40))["test"] for c in s["candidates"]}
    assert made["composition"] not in {p.rsplit("/", 1)[-1] for p in test_chorales}
    with pytest.raises(ValueError, match="source"):
        build_fma_corpus(tmp_path / "x", FMASynthSpec(source="oscillators"), progress=lambda m: None)


def test_a_soundtracks_pool_is_clips_of_recorded_tracks_with_their_licences(tmp_path):
    """mixit.fma.source: soundtracks: FMA-layout MP3 clips of the installed game soundtracks, each named with
    its file, package, licence and author, that the preparation reads as it reads FMA."""
    import os

    from mixlab.papers.mixit import soundtracks

    if len(soundtracks.find_tracks()) < 3 and not os.environ.get("MIXLAB_REQUIRE_CORPUS"):
        pytest.skip("the game soundtracks are not installed (make corpus-deps)")
    spec = FMASynthSpec(seed=3, sample_rate=8000, small=1, medium=2, large=2, full=3, min_seconds=4, max_seconds=5,
                        source="soundtracks")
    build_fma_corpus(tmp_path, spec, progress=lambda m: None)
    made = json.loads((tmp_path / "fma_synth.json").read_text())["files"]
    assert len({f["source"] for f in made}) == 3 and all(f["licence"] in ("GPL-2+", "CC-BY-SA-3.0") for f in made)
    clips = prepare_subset(tmp_path / "fma_full", tmp_path / "prep", ClipRule(8000, clip_seconds=3.0, hop_seconds=3.0),
                           progress=lambda m: None)
    assert {f["id"] for f in made} <= {f["id"] for f in clips["files"]}
    attribution = (tmp_path / "ATTRIBUTION.md").read_text()
    assert all(Path(f["source"]).name in attribution and f["author"] in attribution for f in made)
    # the same seed gives the same clips; another seed other pieces
    again = tmp_path / "again"
    build_fma_corpus(again, spec, progress=lambda m: None)
    assert (again / "fma_full" / "000" / "000002.mp3").read_bytes() == (tmp_path / "fma_full" / "000" / "000002.mp3").read_bytes()
    other = [t.path for t in soundtracks.shuffled(soundtracks.find_tracks(), 4)[:3]]
    assert other != [f["source"] for f in made]


def test_too_few_soundtracks_are_named_with_the_command_that_installs_them(tmp_path, monkeypatch):
    from mixlab.papers.mixit import soundtracks

    monkeypatch.setattr(soundtracks, "SOURCES", (("hyperrogue-music", (str(tmp_path / "none"),), "CC-BY-SA-3.0", {}),))
    with pytest.raises(ValueError, match=r"needs 4 recorded tracks .* found 0 installed: install them with `apt-get"):
        build_fma_corpus(tmp_path / "pool", FMASynthSpec(full=4, source="soundtracks"), progress=lambda m: None)
