import shutil

import numpy as np
import pytest
import soundfile as sf

from mixlab.data.stem_store import StemStore, build_store
from mixlab.data.tracks import TrackError, check_stem_files, list_tracks, load_stems, track_dir


def _copy_track(tiny_corpus, tmp_path):
    name = list_tracks(tiny_corpus, "train")[0]
    dst = tmp_path / "train" / name
    shutil.copytree(track_dir(tiny_corpus, "train", name), dst)
    return dst


def test_missing_stem_names_file(tiny_corpus, tmp_path):
    folder = _copy_track(tiny_corpus, tmp_path)
    (folder / "bass.wav").unlink()
    with pytest.raises(TrackError, match=r"bass\.wav: missing stem 'bass'"):
        check_stem_files(folder, 8000)


def test_wrong_sample_rate(tiny_corpus, tmp_path):
    folder = _copy_track(tiny_corpus, tmp_path)
    with pytest.raises(TrackError, match=r"vocals\.wav: sample rate 8000 Hz, expected 44100 Hz"):
        check_stem_files(folder, 44100)


def test_mono_and_short_stem(tiny_corpus, tmp_path):
    folder = _copy_track(tiny_corpus, tmp_path)
    audio, sr = sf.read(str(folder / "drums.wav"))
    sf.write(folder / "drums.wav", audio[:-100], sr, subtype="PCM_16")
    with pytest.raises(TrackError, match="stems differ in length"):
        check_stem_files(folder, sr)
    sf.write(folder / "drums.wav", audio[:, 0], sr, subtype="PCM_16")
    with pytest.raises(TrackError, match=r"drums\.wav: 1 channel\(s\), expected 2"):
        check_stem_files(folder, sr)


def test_corrupt_stem(tiny_corpus, tmp_path):
    folder = _copy_track(tiny_corpus, tmp_path)
    (folder / "other.wav").write_bytes(b"RIFF not really a wav")
    with pytest.raises(TrackError, match=r"other\.wav: cannot be read"):
        check_stem_files(folder, 8000)


def test_store_is_lossless(tiny_corpus, tiny_store):
    store = StemStore(tiny_store)
    name = store.names[1]
    stems = load_stems(track_dir(tiny_corpus, "train", name), 8000)
    assert store.lengths[1] == stems.shape[1]
    for s in range(4):
        np.testing.assert_array_equal(store.read(1, s, 100, 500), stems[s, 100:600].T)


def test_store_rejects_short_track(tiny_corpus, tmp_path):
    names = list_tracks(tiny_corpus, "train")
    with pytest.raises(TrackError, match="shorter than one training chunk"):
        build_store(tiny_corpus, "train", names, tmp_path / "s", 8000, min_length=10 ** 7, progress=lambda m: None)
