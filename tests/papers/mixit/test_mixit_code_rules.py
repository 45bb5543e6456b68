"""The `fidelity=code` side of Paper B's conflicts against the authors' own rules.

tests/fixtures/mixit_code_rules.pt holds fixed inputs and what b-sigpro/mixit-mss @ 30614b7 computes on them
(made once in a session by running their loss, their channel-vote script's SNR + vote, and their FMA
chunking loop; their code is not in this repository): the fine-tuning loss
ThresSNRLossWithInactiveSource(zeroref_weight=0.1, only_denominator=False), the outputs their
select_heads step picks, and the clips their chunking_sad.py keeps.
"""
from pathlib import Path

import numpy as np
import pytest
import torch

from mixlab.papers.mixit.fma import ClipRule, Reject, clip_starts
from mixlab.losses.snr import neg_thresholded_snr_code, neg_thresholded_snr_silent_safe
from mixlab.papers.mixit.channel_selection import choose, chunk_votes
from tests.conftest import FIXTURES

FIXTURE = torch.load(FIXTURES / "mixit_code_rules.pt", weights_only=True)


def test_code_loss_equals_the_authors_loss():
    f = FIXTURE["loss"]
    ours = neg_thresholded_snr_code(f["ref"], f["est"])
    assert torch.allclose(ours, f["expected"], atol=1e-4), (ours, f["expected"])
    # the paper reading differs where a stem is quiet but not zero, or silent on one channel only
    paper = neg_thresholded_snr_silent_safe(f["ref"], f["est"], f["ref"].sum(1)).mean(1)
    assert (paper - f["expected"]).abs().max() > 0.5


def test_code_loss_gradient_is_finite_for_dropped_stems():
    f = FIXTURE["loss"]
    est = f["est"].clone().requires_grad_(True)
    neg_thresholded_snr_code(f["ref"], est).sum().backward()
    assert torch.isfinite(est.grad).all() and est.grad[1, 2].abs().sum() > 0   # the dropped stem is pushed too


def test_code_channel_vote_equals_the_authors_selection():
    f = FIXTURE["channels"]
    refs, ests = f["refs"].numpy(), f["ests"].numpy()
    votes = [(k, s, n) for k in range(len(refs)) for s, n in chunk_votes(refs[k], ests[k], "code")]
    assert votes == [tuple(v) for v in f["votes"].tolist()]
    table = np.zeros((refs.shape[1], ests.shape[1]), np.int64)
    for _, s, n in votes:
        table[s, n] += 1
    assert choose(table, ["bass", "drums", "vocals", "other"], "code", log=lambda m: None) == f["expected"].tolist()
    # the paper rule abstains for the -80 dB stem and fits all channels: other votes than theirs
    paper = [(k, s, n) for k in range(len(refs)) for s, n in chunk_votes(refs[k], ests[k], "paper")]
    assert paper != votes


def test_code_channel_vote_allows_a_shared_output_and_says_so():
    said = []
    votes = np.array([[5, 0, 1], [4, 1, 0], [0, 0, 6]])
    assert choose(votes, ["a", "b", "c"], "code", log=said.append) == [0, 0, 2]
    assert said and "same output" in said[0]
    with pytest.raises(ValueError, match="b"):
        choose(np.array([[1, 0], [0, 0]]), ["a", "b"], "code")


@pytest.mark.parametrize("name", list(FIXTURE["fma"]["cases"]))
def test_code_silence_rule_keeps_the_authors_clips(name):
    f = FIXTURE["fma"]
    case = f["cases"][name]
    rule = ClipRule(f["sample_rate"], clip_seconds=f["clip_seconds"], hop_seconds=f["hop_seconds"], silence="code")
    audio = case["audio"].numpy().astype(np.float32) / 32767.0
    if len(audio) < f["clip_seconds"] * f["sample_rate"]:
        assert case["starts"] is None          # shorter than a clip: _prepare_one rejects it before the rule
        return
    if case["starts"] is None:
        with pytest.raises(Reject, match="whole file"):
            clip_starts(audio, rule)
    else:
        assert clip_starts(audio, rule) == (case["starts"], 0)


def test_paper_and_code_silence_rules_differ_where_documented():
    f = FIXTURE["fma"]
    audio = f["cases"]["quiet"]["audio"].numpy().astype(np.float32) / 32767.0     # -75 dB noise, no zeros
    paper = ClipRule(f["sample_rate"], clip_seconds=10, hop_seconds=5)
    assert clip_starts(audio, paper) == ([], 7)                                     # silent by power: all dropped
    assert len(clip_starts(audio, ClipRule(f["sample_rate"], clip_seconds=10, hop_seconds=5, silence="code"))[0]) == 8
