"""The rendered corpus: a short song per split in MUSDB18-HQ layout -- stems that sum to the mixture exactly,
a tree check-musdb accepts, the same bytes from the same seed -- and the renderer's pieces on their own."""
from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import soundfile as sf

from mixlab.data import rendered
from mixlab.data.layout import STEMS

TINY = rendered.RenderSpec(seed=3, n_train=1, n_valid=1, n_test=1, seconds=3.0, singer="auto")
MISSING = rendered.check_tools(TINY)
# `make test` installs the renderer (make corpus-deps) and requires these tests to run
needs_tools = pytest.mark.skipif(bool(MISSING) and not os.environ.get("MIXLAB_REQUIRE_CORPUS"),
                                 reason="the corpus renderer is not installed (make corpus-deps): " + "; ".join(MISSING))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    assert not MISSING, MISSING
    return rendered.build_corpus(tmp_path_factory.mktemp("rendered") / "c", TINY, progress=lambda m: None)


@needs_tools
def test_a_rendered_corpus_is_musdb18hq_and_its_stems_sum_to_the_mixture(corpus):
    from mixlab.data.check_musdb import check_musdb

    manifest = json.loads((corpus / "mixlab_corpus.json").read_text())
    report = check_musdb(corpus)
    assert report.ok, report.text()
    assert {k: sorted(v) for k, v in report.tracks.items()} == {k: sorted(v) for k, v in manifest["splits"].items()}
    for split in ("train", "valid", "test"):
        for name in manifest["splits"][split]:
            folder = corpus / ("test" if split == "test" else "train") / name
            audio = {s: sf.read(folder / f"{s}.wav", dtype="int16")[0].astype(np.int32) for s in (*STEMS, "mixture")}
            assert sf.info(folder / "mixture.wav").samplerate == 44100 and audio["mixture"].shape == (3 * 44100, 2)
            assert np.array_equal(audio["mixture"], sum(audio[s] for s in STEMS))       # exactly, as written
            for s in STEMS:      # every stem sounds
                assert np.sqrt(np.mean((audio[s] / 32768.0) ** 2)) > 1e-3, (name, s)
            song = manifest["songs"][name]
            assert song["composition"].startswith("bwv") and song["singer"] == manifest["singer"]
    text = (corpus / "ATTRIBUTION.md").read_text()
    assert "CC-BY-SA" in text and ("Nagoya" in text) == (manifest["singer"] == "sinsy")


@needs_tools
def test_the_same_seed_gives_the_same_bytes(corpus, tmp_path):
    spec = rendered.RenderSpec(**{**TINY.__dict__, "n_valid": 0})     # other splits do not move a song
    again = rendered.build_corpus(tmp_path / "again", spec, progress=lambda m: None)
    name = rendered.track_names(TINY, "test")[0]
    for s in (*STEMS, "mixture"):
        assert (again / "test" / name / f"{s}.wav").read_bytes() == (corpus / "test" / name / f"{s}.wav").read_bytes()


def test_songs_are_drawn_by_seed_and_no_chorale_is_in_two_splits():
    a, b = rendered.draw_songs(TINY), rendered.draw_songs(rendered.RenderSpec(seed=4))
    assert a == rendered.draw_songs(TINY) and a["test"][0]["candidates"] != b["test"][0]["candidates"]
    spec = rendered.RenderSpec(seed=0, n_train=20, n_valid=3, n_test=10)
    songs = rendered.draw_songs(spec)
    per_split = {s: {c for song in songs[s] for c in song["candidates"]} for s in songs}
    assert not per_split["train"] & per_split["test"] and not per_split["valid"] & per_split["test"]
    assert all(32 <= song["bass_program"] <= 39 for s in songs.values() for song in s)


def test_the_leads_musicxml_is_timed_bar_by_bar():
    notes = [(0.0, 0.5, 72), (0.5, 1.25, 74), (1.75, 2.0, 61)]           # at 120 bpm: 1, 2.5 and 4 beats
    xml = ET.fromstring(rendered.musicxml(notes, 120, ["あ", "ら"]).encode())
    measures = xml.findall(".//measure")
    assert all(sum(int(d.text) for d in m.iter("duration")) == 16 for m in measures)   # 4 beats x 4 divisions
    pitched = [n for n in xml.iter("note") if n.find("pitch") is not None]
    assert [n.find("pitch/step").text for n in pitched[:2]] == ["C", "D"]
    assert pitched[-1].find("pitch/alter").text == "1" and pitched[-1].find("pitch/octave").text == "4"   # C#4
    assert len([n for n in xml.iter("lyric")]) == 3                                                     # one per note
    assert measures[0].find("note/rest") is not None and measures[-1].find("note/rest") is not None


def test_a_missing_tool_is_named_with_its_install_command(monkeypatch):
    monkeypatch.setattr(rendered.shutil, "which", lambda name: None)
    monkeypatch.setattr(rendered, "_soundfont", lambda name: None)
    problems = rendered.check_tools(rendered.RenderSpec(singer="patch"))
    assert any("apt-get install mma" in p for p in problems)
    assert any("apt-get install avldrums.lv2-soundfont" in p for p in problems)
    assert all(rendered.SETUP in p for p in problems)


@needs_tools
def test_every_groove_plays_drums_a_bass_and_other_parts(tmp_path):
    """Each groove a song may draw compiles in MMA and gives all three band stems."""
    from tinysoundfont.midi import NoteOn, ProgramChange

    for groove in rendered.GROOVES:
        events = rendered.band_events(["C", "Am", "F", "G7"] * 2, 100, groove, 1, tmp_path)
        program = {e.channel: e.action.program for e in events if isinstance(e.action, ProgramChange)}
        used = {e.channel for e in events if isinstance(e.action, NoteOn)}
        bass = {c for c in used if c != 9 and program.get(c, 0) in rendered.BASS_PROGRAMS}
        assert 9 in used and bass and used - bass - {9}, groove


def test_every_chorale_is_one_file_and_its_chords_are_names_mma_plays(tmp_path):
    """A few chorales come as .krn and .mxl: one file each, so none lands in two splits. The chords read from
    chorales -- diminished triads, sevenths, half-diminished -- are all chord names MMA accepts."""
    chorales = rendered._chorales()
    assert len({os.path.basename(p).rsplit(".", 1)[0] for p in chorales}) == len(chorales)
    if MISSING and not os.environ.get("MIXLAB_REQUIRE_CORPUS"):
        pytest.skip("the corpus renderer is not installed (make corpus-deps)")
    names = set()
    for path in chorales[:12]:
        got = rendered.read_chorale(path, 0)
        if not isinstance(got, str):
            names |= set(got[0])
    assert any(n.endswith("mb5") or n.endswith("m7b5") or n.endswith("dim7") for n in names), names
    rendered.band_events(sorted(names) * 2, 100, "Rock1", 1, tmp_path)          # raises on a name MMA refuses


@needs_tools
def test_the_sung_lead_keeps_the_bands_time(tmp_path):
    """Sinsy sings at the song's tempo: its note onsets line up with the same line played on a patch, at the
    start of the song and at its end (no drift)."""
    if not rendered.sinsy_available():
        pytest.skip("pysinsy is not installed: the lead is a voice patch")
    rate, seconds = 16000, 20.0
    song = rendered.draw_songs(rendered.RenderSpec(seed=2, n_test=1))["test"][0]
    notes = rendered.arrangement(song, seconds)["notes"]
    n = int(seconds * rate)
    sung = rendered.sung_lead(notes, song, n, rate, tmp_path)[:, 0]
    played = rendered.patch_lead(notes, song, n, rate)[:, 0]
    hop = rate // 100

    def onsets(x):
        env = np.sqrt(np.convolve(x.astype(np.float64) ** 2, np.ones(hop) / hop, "same")[::hop])
        return np.diff(env, prepend=0).clip(0)

    a, b = onsets(played), onsets(sung)
    for part in (slice(0, len(a) // 3), slice(2 * len(a) // 3, len(a))):
        x, y = a[part] - a[part].mean(), b[part] - b[part].mean()
        lags = range(-30, 31)                                     # +-300 ms
        best = max(lags, key=lambda k: float(np.dot(x[max(0, -k):len(x) - max(0, k)], y[max(0, k):len(y) - max(0, -k)])))
        assert abs(best) <= 12, (part, best)                      # within 120 ms: a consonant before the vowel
