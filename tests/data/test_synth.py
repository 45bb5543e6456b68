import json

import numpy as np
import soundfile as sf

from mixlab.data.synth import MANIFEST, STEMS, render_song, track_names
from tests.conftest import TINY


def test_layout_and_manifest(tiny_corpus):
    manifest = json.loads((tiny_corpus / MANIFEST).read_text())
    for split in ("train", "valid", "test"):
        assert manifest["splits"][split] == track_names(TINY, split)
    folder = tiny_corpus / "train" / track_names(TINY, "train")[0]
    for name in ("mixture", *STEMS):
        info = sf.info(str(folder / f"{name}.wav"))
        assert (info.samplerate, info.channels, info.subtype) == (8000, 2, "PCM_16")
    # the mixture is the sum of the stems, up to 16-bit quantization of each file
    mix = sf.read(str(folder / "mixture.wav"))[0]
    total = sum(sf.read(str(folder / f"{s}.wav"))[0] for s in STEMS)
    assert np.abs(mix - total).max() < 5 / 32768


def test_deterministic_and_distinct():
    a = render_song(0, "train", 0, 8000, 3.0, 4.0)
    b = render_song(0, "train", 0, 8000, 3.0, 4.0)
    c = render_song(0, "train", 1, 8000, 3.0, 4.0)
    for s in STEMS:
        np.testing.assert_array_equal(a[s], b[s])
        assert np.abs(a[s]).max() > 0.01, f"{s} is silent"
    assert a["drums"].shape != c["drums"].shape or not np.allclose(a["drums"], c["drums"])


def test_stems_share_the_beat():
    """Drum onsets and bass note starts fall on one grid: the coherence random mixing breaks."""
    sr = 8000
    song = render_song(5, "train", 2, sr, 6.0, 6.0)
    def onset_env(x, hop=80):
        e = np.array([np.sum(x[i:i + hop, 0] ** 2) for i in range(0, len(x) - hop, hop)])
        return np.maximum(np.diff(np.log(e + 1e-9)), 0)
    d, b = onset_env(song["drums"]), onset_env(song["bass"])
    same = np.corrcoef(d, b)[0, 1]
    other = render_song(6, "train", 3, sr, 6.0, 6.0)
    b2 = onset_env(other["bass"])[: len(d)]
    cross = np.corrcoef(d[: len(b2)], b2)[0, 1]
    assert same > cross + 0.1


def _silent_bars(x, sr):
    """Fraction of 0.5 s windows in which a stem is silent (< -60 dB re its peak)."""
    w = sr // 2
    e = np.array([np.sqrt(np.mean(x[i:i + w] ** 2)) for i in range(0, len(x) - w, w)])
    return float(np.mean(e < 1e-3 * np.abs(x).max()))


def test_entangled_songs_rest_for_whole_bars_and_leave_the_plain_corpus_alone():
    plain = render_song(0, "train", 0, 8000, 12.0, 12.0)
    np.testing.assert_array_equal(plain["bass"], render_song(0, "train", 0, 8000, 12.0, 12.0, entangled=False)["bass"])
    tangled = [render_song(0, "train", i, 8000, 12.0, 12.0, entangled=True) for i in range(4)]
    assert max(_silent_bars(plain[s], 8000) for s in ("bass", "vocals", "other")) < 0.1
    rests = [_silent_bars(song[s], 8000) for song in tangled for s in ("bass", "vocals", "other")]
    assert max(rests) > 0.2 and np.mean(rests) > 0.05          # instruments of variable presence


def test_the_fma_like_corpus_can_hold_entangled_songs():
    from mixlab.papers.mixit.fma_synth import _song_audio

    plain = _song_audio(0, 3, 8000, 12.0)
    np.testing.assert_array_equal(plain, _song_audio(0, 3, 8000, 12.0, entangled=False))
    assert not np.allclose(plain, _song_audio(0, 3, 8000, 12.0, entangled=True))
