"""The study scale's verdicts: each criterion on made-up figure tables where the answer is known."""
import numpy as np
import pandas as pd

from mixlab.papers.random_mixing import claims as E
from mixlab.papers.verdicts import write_effects


def _fig1(d0, d1, seeds=True):
    t = pd.DataFrame({"p": [0.0, 1.0], "avg": [np.mean(d0), np.mean(d1)]})
    if seeds:
        t["avg_se"] = [np.std(d0, ddof=1) / np.sqrt(len(d0)), np.std(d1, ddof=1) / np.sqrt(len(d1))]
        t["n_seeds"] = len(d0)
        for i in range(len(d0)):
            t[f"avg_seed{i}"] = [d0[i], d1[i]]
    return t


def test_fig1_needs_the_difference_beyond_two_standard_errors():
    assert E.fig1_effect(_fig1([5.0, 5.2], [4.0, 4.1]))[1] is True
    assert E.fig1_effect(_fig1([5.0, 4.0], [4.6, 4.4]))[1] is False          # +0.0 dB with large spread
    assert E.fig1_effect(_fig1([4.0, 4.1], [5.0, 5.2]))[1] is False          # the wrong sign
    one = E.fig1_effect(_fig1([5.0], [4.0], seeds=False))
    assert one[1] is None and "no spread: 1 training seed)" in one[0]       # one seed: no verdict
    assert "n = 2 training seeds" in E.fig1_effect(_fig1([5.0, 5.2], [4.0, 4.1]))[0]
    # a p with one seed among several: its SE is NaN, so no verdict rather than a ✗ from comparing with NaN
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
    assert E.fig2_effect(_fig2([5, 6, 6.5, 6.2], [7, 8, 9, 10], [5, 6, 6.5, 6.6]))[1] is True
    assert E.fig2_effect(_fig2([5, 6, 6.5, 6.6], [7, 8, 9, 10], [5, 6, 6.5, 6.6]))[1] is False   # no turn
    assert E.fig2_effect(_fig2([5, 6, 6.5, 6.2], [7, 8, 9, 10], [5, 6, 6.5, 6.0]))[1] is False   # p = 0 turns too


def test_fig4_wants_a_monotone_rise_beyond_the_seed_spread():
    def fig4(gains, jitter):
        rows = [{"model": "p=0", "kind": "time", "value": 0.0, "seed": -1, "avg": 5.0}]
        for v, g in gains.items():
            rows += [{"model": "p=0", "kind": "time", "value": v, "seed": s, "avg": 5.0 + g + j}
                     for s, j in enumerate(jitter)]
        return pd.DataFrame(rows)
    assert E.fig4_effects(fig4({0.1: 0.3, 1.0: 0.9}, [-0.05, 0.05]))[0][2] is True
    assert E.fig4_effects(fig4({0.1: 0.3, 1.0: 0.2}, [-0.05, 0.05]))[0][2] is False     # not monotone
    assert E.fig4_effects(fig4({0.1: 0.3, 1.0: 0.9}, [-0.8, 0.8]))[0][2] is False       # within the spread
    assert "std 0.07 over n = 2 test-set seeds" in E.fig4_effects(fig4({0.1: 0.3, 1.0: 0.9}, [-0.05, 0.05]))[0][1]
    one = E.fig4_effects(fig4({0.1: 0.3, 1.0: 0.9}, [0.0]))[0]
    assert one[2] is None and "no spread: 1 test-set seed)" in one[1] and "std" not in one[1]


def test_fig5_and_table1_and_the_written_table(tmp_path):
    fig1 = _fig1([5.0, 5.2], [4.0, 4.2])                                        # p = 1 seed std 0.14
    fig5 = pd.DataFrame([
        {"model": "p1.00", "kind": "time", "value": 0.0, "mode": "", "avg": 4.1},
        {"model": "timeinf", "kind": "time", "value": np.inf, "mode": "", "avg": 4.8},
        {"model": "pitch2_consistent", "kind": "pitch", "value": 2.0, "mode": "consistent", "avg": 4.2},
        {"model": "pitch2_inconsistent", "kind": "pitch", "value": 2.0, "mode": "inconsistent", "avg": 4.3}])
    (inf, pitch) = E.fig5_effects(fig5, fig1)
    assert inf[2] is True and pitch[2] is False
    t1 = pd.DataFrame({"data": ["original", "random"], "avg_mean": [5.0, 3.0], "avg_std": [0.2, 0.3], "seeds": [2, 2]})
    assert E.table1_effect(t1)[1] is True
    assert E.table1_effect(t1.assign(avg_mean=[5.0, 4.9]))[1] is False
    assert "(SE, n = 2 training seeds)" in E.table1_effect(t1)[0]
    one = E.table1_effect(t1.assign(avg_std=[float("nan")] * 2, seeds=[1, 1]))
    assert one[1] is None and "no spread: 1 training seed)" in one[0]
    one_fig1 = E.fig5_effects(fig5, _fig1([5.0], [4.0], seeds=False))
    assert all(r[2] is None and "no spread: 1 Fig. 1 training seed at p = 1" in r[1] for r in one_fig1)
    paths = {}
    for name, frame in (("fig1", fig1), ("fig5", fig5), ("table1", t1)):
        paths[name] = tmp_path / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    table = E.effects_table(paths)
    assert table["effect"].str.startswith("Fig. 1").iloc[0] and "+2.1 dB" in table["paper"].iloc[0]
    write_effects(table, tmp_path / "effects.md", "caption")
    text = (tmp_path / "effects.md").read_text()
    assert "| ✓ |" in text and "| ✗ |" in text and "not run" in text             # Fig. 2, 3 had no CSV
