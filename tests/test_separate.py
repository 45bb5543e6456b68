import pytest
import torch

from mixlab.separate import overlap_add


def identity(x):  # (b, C, chunk) -> (b, S=4, C, chunk): every "source" is the mixture
    return x.unsqueeze(1).repeat(1, 4, 1, 1)


@pytest.mark.parametrize("length", [1, 999, 1000, 4321])
@pytest.mark.parametrize("chunk,overlap,window", [(256, 0.5, "hann"), (300, 0.75, "hann"),
                                                  (256, 0.0, "boxcar"), (100, 0.3, "boxcar")])
def test_identity_reconstructs_input(length, chunk, overlap, window):
    x = torch.randn(2, length)
    y = overlap_add(identity, x, chunk, overlap, window, batch_size=3)
    assert y.shape == (4, 2, length)
    torch.testing.assert_close(y, x.expand(4, 2, length), rtol=0, atol=1e-6)


def test_chunks_are_batched_and_cover_the_track():
    seen = []
    def spy(x):
        seen.append(x.shape[0])
        return identity(x)
    overlap_add(spy, torch.randn(2, 2000), 500, 0.5, "hann", batch_size=2)
    assert all(n <= 2 for n in seen) and sum(seen) == 9  # ceil((250 pad + 2000) / 250 hop) windows


def test_hann_without_overlap_is_refused():
    with pytest.raises(ValueError, match="overlap > 0"):
        overlap_add(identity, torch.randn(2, 100), 50, 0.0, "hann")


def test_autocast_runs_the_model_in_bf16_and_adds_in_float64():
    conv = torch.nn.Conv1d(2, 2, 5, padding=2)
    torch.manual_seed(0)
    x = torch.randn(2, 3000)
    seen = []

    def model(chunks):                                        # (b, C, chunk) -> (b, 1, C, chunk)
        y = conv(chunks)
        seen.append(y.dtype)
        return y[:, None]

    with torch.no_grad():
        full = overlap_add(model, x, 1000, 0.5, "boxcar")
        half = overlap_add(model, x, 1000, 0.5, "boxcar", autocast=torch.bfloat16)
    assert seen[0] == torch.float32 and seen[-1] == torch.bfloat16 and half.dtype == x.dtype
    assert 0 < (half - full).abs().max() < 0.05 * full.abs().max()


# ---- separating a song by hand: any file, any rate, the model file's settings

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from mixlab.separate import chunk_of, read_audio, separate_audio, settings_of  # noqa: E402

TINY = {"name": "tfc_tdf_v3", "sample_rate": 8000, "n_fft": 256, "hop_length": 64, "dim_f": 128, "dim_t": 64,
        "num_channels": 4, "growth": 4, "num_scales": 2, "num_subbands": 2, "num_blocks_per_scale": 1,
        "bottleneck_factor": 2}


def _model_file(path, separate=None):
    from mixlab.models.io import save_model
    from mixlab.models.registry import build_model

    torch.manual_seed(0)
    spec = {"model": TINY, "train": {}, **({"separate": separate} if separate else {})}
    save_model(path, spec, build_model(TINY).state_dict(), 0)
    return path


class Identity(torch.nn.Module):
    """Four 'stems' that are each a quarter of the mixture: they sum to what the model heard."""

    def __init__(self, rate):
        super().__init__()
        self.cfg = type("Cfg", (), {"sample_rate": rate, "chunk_size": 1000})()

    def forward(self, x):
        return x.unsqueeze(1).repeat(1, 4, 1, 1) / 4


@pytest.mark.parametrize("fmt,rate,channels", [("flac", 44100, 1), ("ogg", 22050, 2), ("mp3", 44100, 2),
                                               ("wav", 8000, 2)])
def test_a_song_in_any_format_rate_and_channel_count(tmp_path, fmt, rate, channels, capsys):
    from mixlab.cli import main

    model = _model_file(tmp_path / "mymodel.pt", {"dim_t": 128, "overlap": 0.5})
    song = tmp_path / f"My Song (live) & co.{fmt}"
    t = np.arange(int(1.3 * rate)) / rate
    audio = 0.3 * np.sin(2 * np.pi * 440 * t)[:, None] * np.ones((1, channels))
    sf.write(song, audio, rate)
    decoded, _ = read_audio(song)
    assert main(["separate", str(song), "--model", str(model), "--out", str(tmp_path / "out"), "--threads", "1"]) == 0
    out = tmp_path / "out" / "mymodel" / song.stem
    for stem in ("vocals", "drums", "bass", "other"):
        info = sf.info(out / f"{stem}.wav")
        assert (info.samplerate, info.channels, info.frames) == (rate, channels, decoded.shape[1])
    said = capsys.readouterr().out
    assert f"chunks of {64 * 127} samples" in said and "the model file's settings" in said


def test_the_model_files_settings_are_what_a_song_is_separated_with_and_flags_override_them(tmp_path):
    model = _model_file(tmp_path / "m.pt", {"dim_t": 128, "overlap": 0.75, "batch_size": 2})
    from mixlab.models.io import load_model

    m, spec = load_model(model)
    assert chunk_of(m.cfg, settings_of(spec)) == 64 * 127
    assert chunk_of(m.cfg, settings_of(spec, {"chunk_seconds": 2.0})) == 16000      # another unit replaces it
    assert settings_of(spec, {"overlap": 0.5, "window": None})["overlap"] == 0.5
    assert chunk_of(m.cfg, settings_of({"model": TINY})) == 64 * 63                  # none: the training chunk
    x = np.random.default_rng(0).standard_normal((2, 20000)).astype(np.float32) * 0.1
    by_hand = separate_audio(m, x, 8000, settings_of(spec), "cpu")
    direct = overlap_add(m, torch.from_numpy(x), 64 * 127, overlap=0.75, batch_size=2).numpy()
    np.testing.assert_array_equal(by_hand, direct)                                   # at the model's rate: no resampling


def test_other_rates_are_resampled_there_and_back():
    rate = 44100
    t = np.arange(3 * rate) / rate
    x = np.stack([np.sin(2 * np.pi * 440 * t), 0.5 * np.sin(2 * np.pi * 1000 * t)]).astype(np.float32)
    est = separate_audio(Identity(8000), x, rate, {"chunk_seconds": 0.5, "overlap": 0.5}, "cpu")
    assert est.shape == (4, 2, x.shape[1])
    inner = slice(rate // 10, -rate // 10)        # away from the filter's edges
    # within the polyphase filter's passband ripple, twice (~0.03 dB)
    np.testing.assert_allclose(est.sum(0)[:, inner], x[:, inner], atol=5e-3)
    mono = separate_audio(Identity(8000), x[:1], rate, {"chunk_seconds": 0.5, "overlap": 0.5}, "cpu")
    assert mono.shape == (4, 1, x.shape[1])
    np.testing.assert_allclose(mono.sum(0)[0, inner], x[0, inner], atol=5e-3)


def test_unusable_songs_are_named(tmp_path):
    from mixlab.errors import InputError

    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(InputError, match="empty.wav: not a readable audio file"):
        read_audio(tmp_path / "empty.wav")
    sf.write(tmp_path / "surround.wav", np.zeros((100, 6)), 8000)
    with pytest.raises(InputError, match="6 channels"):
        read_audio(tmp_path / "surround.wav")
    (tmp_path / "folder").mkdir()
    with pytest.raises(InputError, match="neither mixture.wav nor the stems"):
        read_audio(tmp_path / "folder")


def test_spec_and_flags_given_by_hand_override_the_model_files_settings(tmp_path, capsys):
    from mixlab.cli import main

    model = _model_file(tmp_path / "m.pt", {"dim_t": 128, "overlap": 0.75})
    song = tmp_path / "song.wav"
    sf.write(song, np.zeros((4000, 2)), 8000)
    out = ["--out", str(tmp_path / "o"), "--threads", "1"]
    assert main(["separate", str(song), "--model", str(model), "--spec", '{"overlap": 0.5}', *out]) == 0
    said = capsys.readouterr().out
    assert f"chunks of {64 * 127} samples" in said and "'overlap': 0.5" in said and "overridden by hand" in said
    assert main(["separate", str(song), "--model", str(model), "--spec", '{"overlap": 0.5}', "--dim-t", "64", *out]) == 0
    said = capsys.readouterr().out
    assert f"chunks of {64 * 63} samples" in said and "'overlap': 0.5" in said
