"""The fast BSS Eval v4 scorer against museval itself, frame by frame."""
import json

import museval
import numpy as np
import pytest

from mixlab.data.synth import STEMS
from mixlab.data.tracks import list_tracks, load_stems, track_dir
from mixlab.metrics.bsseval import bss_eval, frames_array
from mixlab.metrics.crosscheck import crosscheck, frame_differences
from mixlab.metrics import fast_bsseval, fast_bsseval_torch
from tests.conftest import noisy_estimates

TOL = 1e-3  # dB


# Both implementations of the fast scorer: numpy/scipy (the CPU's) and torch (for GPUs, run here on the CPU).
# Each test runs museval once and compares both with it.
IMPLEMENTATIONS = (fast_bsseval_torch.bss_eval_v4, fast_bsseval.bss_eval_v4)


def _museval(refs, ests, win, hop):
    return np.array(museval.evaluate(refs.astype(np.float64), ests.astype(np.float64), win=win, hop=hop))


def _assert_agree(fast, ref):
    diff = frame_differences(np.asarray(fast), np.asarray(ref))
    assert diff.max() <= TOL, f"max |diff| {diff.max()} dB at {np.unravel_index(diff.argmax(), diff.shape)}"


def _direct_correlations(xf, zf, max_lag):
    T = xf.shape[1]
    return np.stack([np.array([[sum(xf[i, t] * zf[j, t + k] for t in range(T) if 0 <= t + k < T)
                                for j in range(len(zf))] for i in range(len(xf))]) for k in range(-max_lag + 1, max_lag)], -1)


def test_lagged_correlations_match_direct_sums():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 300, 2)).astype(np.float32)
    y = rng.standard_normal((2, 300, 2)).astype(np.float32)
    xf = x.astype(np.float64).transpose(0, 2, 1).reshape(4, 300)
    zf = np.concatenate([xf, y.astype(np.float64).transpose(0, 2, 1).reshape(4, 300)])
    direct = _direct_correlations(xf, zf, 8)
    # blocks of 64 - 7 = 57 samples: 6 blocks, 5 boundaries, a partial last block and a partial last batch
    r = fast_bsseval._lagged_correlations(fast_bsseval._Signals(x, y), 8, workers=2, fft_size=64, blocks_per_batch=4)
    assert r.shape == (4, 8, 15)
    np.testing.assert_allclose(r, direct, atol=1e-10)
    import torch
    r = fast_bsseval_torch._lagged_correlations(torch.tensor(x), torch.tensor(y), 8, fft_size=64, blocks_per_step=4)
    np.testing.assert_allclose(r.numpy(), direct, atol=1e-10)


@pytest.mark.parametrize("impl", ["numpy", "torch"])
def test_gram_matrix_layout(impl):
    I, L = 3, 4
    r = np.random.default_rng(1).standard_normal((I, I, 2 * L - 1))
    if impl == "torch":
        import torch
        G = fast_bsseval_torch._gram(torch.tensor(r), L).numpy()
    else:
        G = fast_bsseval._gram(r, L)
    G = G.reshape(I, L, I, L)
    for j, a, i, b in np.ndindex(I, L, I, L):
        assert G[j, a, i, b] == r[i, j, b - a + L - 1]


@pytest.mark.parametrize("impl", ["numpy", "torch"])
def test_solve_in_place_falls_back_to_lu_when_not_positive_definite(impl):
    rng = np.random.default_rng(2)
    M = rng.standard_normal((6, 6))
    D = rng.standard_normal((6, 2))
    if impl == "torch":
        import torch
        solve, wrap, unwrap = fast_bsseval_torch._solve, torch.tensor, lambda t: t.numpy()
    else:
        solve, wrap, unwrap = fast_bsseval._solve, np.array, np.asarray
    G0 = M + M.T                                                   # symmetric, indefinite
    expected = np.linalg.solve(G0 + np.finfo(float).eps * np.eye(6), D)
    rebuilt = []
    out = solve(wrap(G0), wrap(D), rebuild=lambda: rebuilt.append(1) or wrap(G0))
    assert rebuilt == [1]
    np.testing.assert_allclose(unwrap(out), expected, rtol=1e-10)
    # a Gram matrix is factorised in place with no rebuild
    A = M @ M.T + np.eye(6)
    out = solve(wrap(A), wrap(D), rebuild=lambda: pytest.fail("rebuilt a positive definite matrix"))
    np.testing.assert_allclose(unwrap(out), np.linalg.solve(A, D), rtol=1e-8)


def test_numpy_and_torch_scorers_agree_on_a_multi_block_track():
    """Past 65025 samples pass 1 has several blocks (boundary pairs); frames in several threads and batches."""
    rng = np.random.default_rng(7)
    refs = rng.standard_normal((4, 150_000, 2)).astype(np.float32)
    ests = noisy_estimates(refs, [0, 10, 20, 30], seed=7)
    a = np.array(fast_bsseval.bss_eval_v4(refs, ests, 8000, 8000, frames_per_batch=3))
    b = np.array(fast_bsseval_torch.bss_eval_v4(refs, ests, 8000, 8000))
    assert a.shape == (4, 4, 18)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_real_track_noisy_estimates(real_track_museval):
    _, refs, ests, rate, museval_json = real_track_museval
    ref = frames_array(museval_json)
    assert np.nanmin(ref[0]) < -3 and np.nanmax(ref[0]) > 25, "estimates span SDR -5..30 dB"
    for bss_eval_v4 in IMPLEMENTATIONS:
        _assert_agree(bss_eval_v4(refs, ests, rate, rate), ref)


@pytest.mark.parametrize("index", [0, 1])
def test_synthetic_corpus_songs(tiny_corpus, index):
    name = list_tracks(tiny_corpus, "train")[index]
    refs = load_stems(track_dir(tiny_corpus, "train", name), 8000)
    rng = np.random.default_rng(index)
    # model-like errors: noise, leakage of the other stems, a little low-pass smearing
    leak = 0.1 * np.roll(refs, 1, axis=0)
    smear = 0.2 * (np.roll(refs, 1, axis=1) - refs)
    ests = noisy_estimates(refs + leak + smear, [0, 10, 20, 30], seed=index)
    ref = _museval(refs, ests, 8000, 8000)
    for bss_eval_v4 in IMPLEMENTATIONS:
        _assert_agree(bss_eval_v4(refs, ests, 8000, 8000), ref)


def test_window_and_hop_differ_and_short_tracks():
    rng = np.random.default_rng(3)
    refs = rng.standard_normal((3, 5000, 2)).astype(np.float32)
    ests = noisy_estimates(refs, [3, 8, 12])
    for win, hop in ((1500, 700), (8000, 8000)):                          # overlapping frames; one frame
        ref = _museval(refs, ests, win, hop)
        for bss_eval_v4 in IMPLEMENTATIONS:
            _assert_agree(bss_eval_v4(refs, ests, win, hop), ref)


def test_silent_frames_are_nan_like_museval():
    rng = np.random.default_rng(4)
    refs = rng.standard_normal((4, 6000, 2))
    ests = noisy_estimates(refs, [5, 5, 5, 5]).astype(np.float64)
    refs[2, 1000:2000] = 0          # a reference silent in frame 1
    ests[1, 3000:4000] = 0          # an estimate silent in frame 3
    ref = _museval(refs, ests, 1000, 1000)
    assert np.isnan(ref[:, :, [1, 3]]).all()
    for bss_eval_v4 in IMPLEMENTATIONS:
        fast = np.array(bss_eval_v4(refs, ests, 1000, 1000))
        assert np.isnan(fast[:, :, [1, 3]]).all() and not np.isnan(np.delete(fast, [1, 3], axis=2)).any()
        _assert_agree(fast, ref)


def test_silent_source_is_refused_like_museval():
    refs = np.random.default_rng(5).standard_normal((2, 3000, 2))
    ests = refs.copy()
    refs[1] = 0
    with pytest.raises(ValueError, match="non-silent"):
        museval.evaluate(refs, ests, win=1000, hop=1000)
    for bss_eval_v4 in IMPLEMENTATIONS:
        with pytest.raises(ValueError, match="non-silent"):
            bss_eval_v4(refs, ests, 1000, 1000)


def test_exactly_mono_stems_are_ill_posed_for_museval_itself():
    """L == R makes the filter fit singular; museval's ISR/SIR/SAR then follow rounding noise.

    The cross-check must report such frames as ill-posed rather than fail, and SDR
    (a plain per-frame SNR in v4) must still agree.
    """
    rng = np.random.default_rng(6)
    t = np.arange(16000) / 8000
    tones = [np.sin(2 * np.pi * f * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.7 * t)) for f in (110, 220, 440)]
    refs = np.stack([np.stack([x, x], 1) for x in tones])                  # exactly mono, pure tones
    ests = noisy_estimates(refs, [5, 10, 20], seed=1).astype(np.float64)
    ref = _museval(refs, ests, 8000, 8000)
    for bss_eval_v4 in IMPLEMENTATIONS:
        fast = np.array(bss_eval_v4(refs, ests, 8000, 8000))
        np.testing.assert_allclose(fast[0], ref[0], atol=TOL)                 # SDR always agrees
    report = crosscheck(refs, ests, fast, 8000, TOL)                          # the CPU's scorer's numbers
    assert report["ok"]
    assert report["failed_frames"] == {"SDR": 0, "ISR": 0, "SIR": 0, "SAR": 0}


@pytest.mark.slow
def test_crosscheck_fails_on_a_wrong_frame(tiny_corpus):
    name = list_tracks(tiny_corpus, "test")[0]
    refs = load_stems(track_dir(tiny_corpus, "test", name), 8000)[:, :24000]     # 3 frames: museval runs twice
    ests = noisy_estimates(refs, [2, 4, 6, 8])
    fast = np.array(bss_eval(refs, ests, 8000, "fast"))
    assert crosscheck(refs, ests, fast, 8000)["ok"]
    fast[2, 1, 0] += 0.01                                                  # SIR of drums, frame 0
    report = crosscheck(refs, ests, fast, 8000)
    assert not report["ok"] and report["failed_frames"]["SIR"] == 1
