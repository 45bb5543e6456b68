"""The study scale's verdicts: each criterion on made-up figure tables where the answer is known."""
import numpy as np
import pandas as pd

from mixlab.papers.random_mixing import claims as E
from mixlab.papers.verdicts import CONTRADICTED, SHOWN, UNRESOLVED, write_effects


def _fig1(d0, d1, seeds=True):
    t = pd.DataFrame({"p": [0.0, 1.0], "avg": [np.mean(d0), np.mean(d1)]})
    if seeds:
        t["avg_se"] = [np.std(d0, ddof=1) / np.sqrt(len(d0)), np.std(d1, ddof=1) / np.sqrt(len(d1))]
        t["n_seeds"] = len(d0)
        for i in range(len(d0)):
            t[f"avg_seed{i}"] = [d0[i], d1[i]]
    return t


def test_fig1_wants_the_interval_over_training_seeds_above_zero():
    assert E.fig1_effect(_fig1([5.0, 5.2, 5.1], [4.0, 4.1, 4.05]))[1] == SHOWN
    assert E.fig1_effect(_fig1([5.0, 4.0, 4.5], [4.6, 4.4, 4.5]))[1] == UNRESOLVED      # +0.0 dB, large spread
    assert E.fig1_effect(_fig1([4.0, 4.1, 4.05], [5.0, 5.2, 5.1]))[1] == CONTRADICTED   # the wrong sign
    # two seeds of a 1 dB effect with 0.1 dB spread: 2 SE would call it, the t interval (1 df) does not
    assert E.fig1_effect(_fig1([5.0, 5.2], [4.0, 4.5]))[1] == UNRESOLVED
    one = E.fig1_effect(_fig1([5.0], [4.0], seeds=False))
    assert one[1] is None and "no spread: 1 training seed)" in one[0]       # one seed: no verdict
    assert "n = 3 training seeds" in E.fig1_effect(_fig1([5.0, 5.2, 5.1], [4.0, 4.1, 4.05]))[0]
    assert "+1.05 dB [+0." in E.fig1_effect(_fig1([5.0, 5.2, 5.1], [4.0, 4.1, 4.05]))[0]
    # a p with one seed among several: its spread is NaN, so no verdict rather than one from comparing with NaN
    mixed = _fig1([5.0, 5.2], [4.0, 4.1]).assign(avg_se=[0.1, float("nan")], n_seeds=[2, 1])
    assert E.fig1_effect(mixed)[1] is None


def _fig2(valid1, train1, valid0):
    rows = []
    for p, valid, train in ((1.0, valid1, train1), (0.0, valid0, train1)):
        for i, (v, t) in enumerate(zip(valid, train)):
            step = 100 * (i + 1)
            rows += [{"p": p, "step": step, "split": "valid", "kind": k, "sdr_improvement": v} for k in ("original", "random")]
            rows += [{"p": p, "step": step, "split": "train", "kind": k, "sdr_improvement": t} for k in ("original", "random")]
    return pd.DataFrame(rows)


def test_fig2_wants_p1_valid_falling_while_train_rises():
    assert E.fig2_effect(_fig2([5, 6, 6.5, 6.2], [7, 8, 9, 10], [5, 6, 6.5, 6.6]))[1] == SHOWN
    # one training seed cannot contradict: a curve that does not turn is not resolved
    assert E.fig2_effect(_fig2([5, 6, 6.5, 6.6], [7, 8, 9, 10], [5, 6, 6.5, 6.6]))[1] == UNRESOLVED   # no turn
    assert E.fig2_effect(_fig2([5, 6, 6.5, 6.2], [7, 8, 9, 10], [5, 6, 6.5, 6.0]))[1] == UNRESOLVED   # p = 0 too


def test_fig4_wants_a_monotone_rise_with_the_largest_gain_above_zero():
    def fig4(gains, jitter, train_seeds=(None,)):
        rows = []
        for t in train_seeds:
            more = {} if t is None else {"train_seed": t}
            rows.append({"model": "p=0", "kind": "time", "value": 0.0, "seed": -1, "avg": 5.0 + 0.1 * (t or 0), **more})
            for v, g in gains.items():
                rows += [{"model": "p=0", "kind": "time", "value": v, "seed": s, "avg": 5.0 + 0.1 * (t or 0) + g + j,
                          **more} for s, j in enumerate(jitter)]
        return pd.DataFrame(rows)
    assert E.fig4_effects(fig4({0.1: 0.3, 1.0: 0.9}, [-0.05, 0.05, 0.0]))[0][2] == SHOWN
    assert E.fig4_effects(fig4({0.1: 0.3, 1.0: 0.2}, [-0.05, 0.05, 0.0]))[0][2] == UNRESOLVED   # not monotone
    assert E.fig4_effects(fig4({0.1: 0.3, 1.0: 0.9}, [-0.8, 0.8]))[0][2] == UNRESOLVED          # within the spread
    assert E.fig4_effects(fig4({0.1: -0.3, 1.0: -0.9}, [-0.05, 0.05]))[0][2] == CONTRADICTED      # harder, not easier
    assert "over n = 3 test-set seeds" in E.fig4_effects(fig4({0.1: 0.3, 1.0: 0.9}, [-0.05, 0.05, 0.0]))[0][1]
    one = E.fig4_effects(fig4({0.1: 0.3, 1.0: 0.9}, [0.0]))[0]
    assert one[2] is None and "no spread: 1 test-set seed)" in one[1]
    # several training seeds: the gain is over each model's own unshifted score, one value per training seed
    several = E.fig4_effects(fig4({0.1: 0.3, 1.0: 0.9}, [-0.05, 0.05], train_seeds=(0, 1, 2)))[0]
    assert several[2] == SHOWN and "+0.90 dB [+0.90, +0.90] over n = 3 training seeds (each the mean of 2" in several[1]


def test_fig5_and_table1_and_the_written_table(tmp_path):
    fig1 = _fig1([5.0, 5.2, 5.1], [4.0, 4.2, 4.1])                              # seed std 0.1, 4 df
    fig5 = pd.DataFrame([
        {"model": "p1.00", "kind": "time", "value": 0.0, "mode": "", "avg": 4.1},
        {"model": "timeinf", "kind": "time", "value": np.inf, "mode": "", "avg": 4.8},
        {"model": "pitch2_consistent", "kind": "pitch", "value": 2.0, "mode": "consistent", "avg": 4.2},
        {"model": "pitch2_inconsistent", "kind": "pitch", "value": 2.0, "mode": "inconsistent", "avg": 4.3}])
    (inf, pitch) = E.fig5_effects(fig5, fig1)
    # +0.70 ± t(4) x 0.1 x sqrt(2) = ± 0.39: shown; +0.10: not resolved
    assert inf[2] == SHOWN and pitch[2] == UNRESOLVED and "[+0.31, +1.09]" in inf[1] and "4 df" in inf[1]
    assert E.fig5_effects(fig5.assign(avg=[4.1, 3.4, 4.2, 4.3]), fig1)[0][2] == CONTRADICTED
    t1 = pd.DataFrame({"data": ["original", "random"], "avg_mean": [5.0, 3.0], "avg_std": [0.2, 0.3], "seeds": [3, 3]})
    assert E.table1_effect(t1)[1] == SHOWN
    assert E.table1_effect(t1.assign(avg_mean=[5.0, 4.9]))[1] == UNRESOLVED
    assert E.table1_effect(t1.assign(avg_mean=[3.0, 5.0]))[1] == CONTRADICTED
    assert "(Welch, n = 3 training seeds)" in E.table1_effect(t1)[0]
    one = E.table1_effect(t1.assign(avg_std=[float("nan")] * 2, seeds=[1, 1]))
    assert one[1] is None and "no spread: 1 training seed)" in one[0]
    one_fig1 = E.fig5_effects(fig5, _fig1([5.0], [4.0], seeds=False))
    assert all(r[2] is None and "no spread: 1 Fig. 1 training seed)" in r[1] for r in one_fig1)
    paths = {}
    for name, frame in (("fig1", fig1), ("fig5", fig5), ("table1", t1)):
        paths[name] = tmp_path / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    table = E.effects_table(paths)
    assert table["effect"].str.startswith("Fig. 1").iloc[0] and "+2.1 dB" in table["paper"].iloc[0]
    write_effects(table, tmp_path / "effects.md", "caption")
    text = (tmp_path / "effects.md").read_text()
    assert "| ✓ shown |" in text and "| ? not resolved |" in text and "not run" in text   # Fig. 2, 3 had no CSV
