"""Paper B pieces: dynamic mixing, MixIT pairs, LR schedule, output selection, channel votes."""
import numpy as np
import pytest
import torch

from mixlab.papers.mixit.channel_selection import resolve_votes, snr_matrix
from mixlab.papers.mixit.activity import detect_store
from mixlab.papers.mixit.dynamic_mixing import TARGET_RMS, DynamicMixSampler
from mixlab.data.stem_store import StemStore
from mixlab.models.bs_locoformer import BSLocoformer, BSLocoformerConfig, select_outputs
from mixlab.train.schedule import lr_at

TINY_MODEL = dict(sample_rate=8000, n_fft=256, hop_length=64, n_outputs=5, n_blocks=1, emb_dim=8, ffn_dim=12,
                  n_heads=2, n_groups=2, conv_kernel=4, chunk_seconds=0.5)


@pytest.fixture(scope="module")
def activity(tiny_store, tmp_path_factory):
    out = tmp_path_factory.mktemp("act") / "activity.json"
    return detect_store(tiny_store, out, segment_seconds=2.0, n_chunks=4, progress=lambda m: None)


def test_dynamic_mixing(tiny_store, activity):
    store = StemStore(tiny_store)
    s = DynamicMixSampler(store, activity, 2000, seed=1, gain_db=10.0, p_drop=0.0)
    a, b = s.batch(5, 3), s.batch(5, 3)
    np.testing.assert_array_equal(a.mixture, b.mixture)
    assert not np.array_equal(a.mixture, s.batch(6, 3).mixture)
    np.testing.assert_allclose(a.mixture, a.targets.sum(1), atol=1e-6)
    rms = np.sqrt((a.targets.astype(np.float64) ** 2).mean((-2, -1)))
    # a window of an active segment can itself be silent (a rest); every other one is RMS-normalised
    assert (rms > 0).mean() > 0.75
    rms_db = 20 * np.log10(rms[rms > 0] / TARGET_RMS)
    assert np.all(np.abs(rms_db) <= 10.0 + 1e-3)        # then scaled by a gain in [-10, 10] dB
    assert rms_db.std() > 1.0                             # gains do vary
    dropped = DynamicMixSampler(store, activity, 2000, seed=1, p_drop=0.5)
    kept = DynamicMixSampler(store, activity, 2000, seed=1, p_drop=0.0)
    silent = [(dropped.batch(k, 4).targets ** 2).sum((-2, -1)) == 0 for k in range(50)]
    base = [(kept.batch(k, 4).targets ** 2).sum((-2, -1)) == 0 for k in range(50)]
    silent, base = np.array(silent), np.array(base)
    frac = silent[~base].mean()                  # same draws: only the drops differ
    assert 0.4 < frac < 0.6
    with pytest.raises(ValueError, match="longer than an activity segment"):
        DynamicMixSampler(store, activity, 10 ** 6, seed=0)


def test_lr_schedule():
    kw = dict(peak=1e-3, warmup_steps=10, epoch_steps=5, decay=0.5)
    assert lr_at(0, **kw) == pytest.approx(1e-4)
    assert lr_at(9, **kw) == pytest.approx(1e-3)                 # the peak when the warm-up ends: no decay during it
    assert lr_at(14, **kw) == pytest.approx(1e-3)
    assert lr_at(15, **kw) == pytest.approx(1e-3 * 0.5)          # one epoch after the warm-up
    assert lr_at(22, **kw) == pytest.approx(1e-3 * 0.5 ** 2)
    # the paper's pre-training: 5000 warm-up steps overlap five 1000-step epochs, the peak is still reached
    pre = dict(peak=1e-3, warmup_steps=5000, epoch_steps=1000, decay=0.965)
    assert lr_at(4999, **pre) == pytest.approx(1e-3) and lr_at(5999, **pre) == pytest.approx(1e-3)
    assert lr_at(6000, **pre) == pytest.approx(0.965e-3) and lr_at(2499, **pre) == pytest.approx(0.5e-3)
    ft = dict(peak=1.0, warmup_steps=0, epoch_steps=10, decay=0.98, decay_start_epoch=550, decay_every_epochs=2)
    assert lr_at(5499, **ft) == 1.0 and lr_at(5500, **ft) == 1.0 and lr_at(5519, **ft) == 1.0
    assert lr_at(5520, **ft) == pytest.approx(0.98) and lr_at(5540, **ft) == pytest.approx(0.98 ** 2)
    # fine-tuning with the 5000-step warm-up: constant after it until epoch 550, then x0.98 every 2 epochs
    ftw = {**ft, "warmup_steps": 5000, "epoch_steps": 110}
    assert lr_at(2499, **ftw) == pytest.approx(0.5) and lr_at(5000, **ftw) == 1.0 and lr_at(60519, **ftw) == 1.0
    assert lr_at(60720, **ftw) == pytest.approx(0.98) and lr_at(98999, **ftw) == pytest.approx(0.98 ** 174)


def test_select_outputs_keeps_the_chosen_outputs_exactly():
    torch.manual_seed(0)
    model = BSLocoformer(BSLocoformerConfig(**TINY_MODEL)).eval()
    x = torch.randn(2, 2, 4000)
    chosen = [3, 0, 4, 1]
    small = select_outputs(model, chosen).eval()
    assert small.cfg.n_outputs == 4
    with torch.no_grad():
        torch.testing.assert_close(small(x), model(x)[:, chosen], rtol=1e-5, atol=1e-6)
    twice = select_outputs(model, [2, 2]).eval()        # the authors' selection may repeat an output
    with torch.no_grad():
        torch.testing.assert_close(twice(x), model(x)[:, [2, 2]], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="outputs in"):
        select_outputs(model, [0, 9])


def test_channel_votes():
    refs = np.random.default_rng(0).standard_normal((2, 2, 100))
    ests = np.stack([refs[1] * 0.9, np.zeros((2, 100)), refs[0] + 0.01])
    snr = snr_matrix(refs, ests)
    assert snr.shape == (2, 3) and snr[0].argmax() == 2 and snr[1].argmax() == 0
    assert resolve_votes(np.array([[5, 1, 0], [4, 3, 0]])) == [0, 1]     # stem 1 loses output 0 to stem 0
    assert resolve_votes(np.array([[0, 0, 7], [9, 0, 0]])) == [2, 0]


def test_mixtures_of_mixtures_at_a_drawn_snr(tmp_path):
    """mom_snr_db: the first mixture rescaled so that 10 log10(P1 / P2) ~ U(lo, hi); the windows are the same."""
    from mixlab.papers.mixit.fma import ClipStore
    from mixlab.papers.mixit.mixit_pairs import MixITPairSampler
    from tests.papers.mixit.test_recipe import _clip_store

    clips = ClipStore(_clip_store(tmp_path / "clips"))
    plain = MixITPairSampler(clips, 2000, seed=3).batch(7, 64)
    drawn = MixITPairSampler(clips, 2000, seed=3, snr_db=(-5.0, 5.0)).batch(7, 64)
    assert np.array_equal(plain[:, 1], drawn[:, 1])                      # x2 untouched, same windows
    k = np.sqrt(np.square(drawn[:, 0], dtype=np.float64).mean((1, 2)) / np.square(plain[:, 0], dtype=np.float64).mean((1, 2)))
    assert np.allclose(drawn[:, 0], plain[:, 0] * k[:, None, None], rtol=1e-5, atol=1e-7)   # x1 only rescaled
    p = np.square(drawn.astype(np.float64)).mean((2, 3))
    snr = 10 * np.log10(p[:, 0] / p[:, 1])
    assert snr.min() >= -5 - 1e-4 and snr.max() <= 5 + 1e-4 and snr.std() > 2   # spread over the range
    fixed = MixITPairSampler(clips, 2000, seed=3, snr_db=(3.0, 3.0)).batch(7, 8)
    pf = np.square(fixed.astype(np.float64)).mean((2, 3))
    assert np.allclose(10 * np.log10(pf[:, 0] / pf[:, 1]), 3.0, atol=1e-4)
    with pytest.raises(ValueError, match="lo <= hi"):
        MixITPairSampler(clips, 2000, seed=3, snr_db=(5.0, -5.0))


def test_decay_stops_where_the_authors_code_stops_it():
    kw = dict(peak=1.0, warmup_steps=4000, epoch_steps=2038, decay=0.965, decay_stop_epoch=75)
    assert lr_at(4000 + 2038, **kw) == pytest.approx(0.965)
    stop = 75 * 2038
    assert lr_at(stop, **kw) == lr_at(stop + 10 * 2038, **kw) == pytest.approx(0.965 ** ((stop - 4000) // 2038))


def test_usdr_modes():
    """joint: one SNR over both channels (MDX); channel_mean: the mean of per-channel SNRs (the authors' code)."""
    from mixlab.metrics.sdx import sdx_sdr
    from mixlab.metrics.usdr import channel_mean_snr

    rng = np.random.default_rng(0)
    ref = rng.standard_normal((4, 2, 1000))
    est = ref + np.stack([0.1 * rng.standard_normal((4, 1000)), 0.5 * rng.standard_normal((4, 1000))], 1)
    per = 10 * np.log10(np.square(ref).sum(-1) / np.square(ref - est).sum(-1))
    assert np.allclose(channel_mean_snr(ref, est), per.mean(-1), atol=1e-6)
    joint = sdx_sdr(ref, est)
    assert np.all(joint < per.mean(-1))          # the louder error dominates the joint SNR; the mean forgives it


def test_stem_levels_by_rms_or_mean_abs(tiny_store, activity):
    """gain_norm=mean_abs (the authors' code): mean |x| of each stem segment at the target level before the gain;
    the same draws otherwise."""
    store = StemStore(tiny_store)
    rms = DynamicMixSampler(store, activity, 2000, seed=1, gain_db=0.0, p_drop=0.0).batch(5, 4)
    mav = DynamicMixSampler(store, activity, 2000, seed=1, gain_db=0.0, p_drop=0.0, gain_norm="mean_abs").batch(5, 4)
    level = np.abs(mav.targets.astype(np.float64)).mean((-2, -1))
    assert np.allclose(level[level > 0], TARGET_RMS, rtol=1e-4)
    ratio = mav.targets.reshape(4, 4, -1).sum(-1) / np.where(rms.targets.reshape(4, 4, -1).sum(-1) == 0, 1,
                                                             rms.targets.reshape(4, 4, -1).sum(-1))
    assert np.all(ratio[level > 0] > 0)               # the same windows, only levelled differently
    with pytest.raises(ValueError, match="rms or mean_abs"):
        DynamicMixSampler(store, activity, 2000, seed=1, gain_norm="peak")
