"""The verdict criteria both papers share: intervals checked against scipy's t-tests, the three outcomes,
and their error rates on made-up seeds whose truth is known."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mixlab.papers import verdicts as V


def test_welch_is_scipys_welch_interval():
    rng = np.random.default_rng(0)
    for n_a, n_b in ((2, 2), (3, 3), (3, 5)):
        a, b = rng.normal(5.0, 0.3, n_a), rng.normal(4.6, 0.1, n_b)
        iv = V.welch(a.mean(), a.std(ddof=1), n_a, b.mean(), b.std(ddof=1), n_b)
        ref = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
        assert iv.lo == pytest.approx(ref.low) and iv.hi == pytest.approx(ref.high)
        assert iv.diff == pytest.approx(a.mean() - b.mean())
    assert V.welch(5.0, 0.1, 1, 4.0, 0.1, 3) is None                       # one seed: no interval
    assert V.welch(5.0, float("nan"), 3, 4.0, 0.1, 3) is None
    same = V.welch(5.0, 0.0, 3, 4.0, 0.0, 3)                               # identical seeds: a point
    assert (same.lo, same.hi, same.df) == (1.0, 1.0, 4)


def test_mean_and_known_spread_intervals_are_scipys_t_intervals():
    x = np.array([0.3, 0.1, 0.5, 0.2])
    iv, ref = V.mean_of(x), stats.ttest_1samp(x, 0.0).confidence_interval(0.95)
    assert (iv.lo, iv.hi, iv.df) == (pytest.approx(ref.low), pytest.approx(ref.high), 3)
    assert V.mean_of([0.3]) is None
    # the seed std of other runs, pooled, gives the pooled two-sample interval when they are these runs
    a, b = np.array([5.0, 5.3, 5.1]), np.array([4.2, 4.0, 4.5])
    sd, df = V.pooled_sd([a, b])
    assert df == 4 and sd == pytest.approx(np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2))
    iv = V.with_known_spread(a.mean() - b.mean(), sd, df, 3, 3)
    ref = stats.ttest_ind(a, b, equal_var=True).confidence_interval(0.95)
    assert iv.lo == pytest.approx(ref.low) and iv.hi == pytest.approx(ref.high)
    assert V.with_known_spread(0.5, float("nan"), 0) is None
    assert V.pooled_sd([[1.0], [2.0, np.nan]])[1] == 0


def test_three_outcomes_and_their_combination():
    assert V.outcome(V.Interval(0.5, 0.1, 0.9, 4)) == V.SHOWN
    assert V.outcome(V.Interval(-0.5, -0.9, -0.1, 4)) == V.CONTRADICTED
    assert V.outcome(V.Interval(0.3, -0.1, 0.7, 4)) == V.UNRESOLVED
    assert V.outcome(None) is None
    assert V.combined([V.SHOWN, V.SHOWN]) == V.SHOWN
    assert V.combined([V.SHOWN, V.UNRESOLVED]) == V.UNRESOLVED
    assert V.combined([V.SHOWN, V.CONTRADICTED]) == V.CONTRADICTED
    assert V.combined([V.SHOWN, None]) is None and V.combined([]) is None


def _rates(effect, n, rule, trials=4000, sd=0.1):
    """How often a rule calls an effect shown / contradicted when runs differ by seed noise only."""
    rng = np.random.default_rng(7)
    a = rng.normal(effect, sd, (trials, n))
    b = rng.normal(0.0, sd, (trials, n))
    calls = [rule(x, y) for x, y in zip(a, b)]
    return np.mean([c == V.SHOWN for c in calls]), np.mean([c == V.CONTRADICTED for c in calls])


def _t_rule(x, y):
    return V.outcome(V.welch(x.mean(), x.std(ddof=1), len(x), y.mean(), y.std(ddof=1), len(y)))


def _two_se_rule(x, y):            # the criterion these verdicts replace: difference > 2 SE
    se = np.hypot(x.std(ddof=1) / np.sqrt(len(x)), y.std(ddof=1) / np.sqrt(len(y)))
    return V.SHOWN if x.mean() - y.mean() > 2 * se else V.UNRESOLVED


@pytest.mark.parametrize("n", [2, 3])
def test_no_effect_is_shown_or_contradicted_at_most_about_2_5_percent_of_the_time(n):
    shown, contradicted = _rates(0.0, n, _t_rule)
    assert shown < 0.035 and contradicted < 0.035
    # "> 2 SE" over 2 or 3 seeds calls a null effect shown several times as often
    assert _rates(0.0, n, _two_se_rule)[0] > 2 * shown


def test_what_three_seeds_can_show():
    """The power the study's seed counts buy (seed std 0.1 dB): with 3 seeds per side an effect of 5 seed
    std is shown almost always, of 3 std two times in three; with 2 seeds, rarely either."""
    assert _rates(0.5, 3, _t_rule)[0] > 0.95 and _rates(-0.5, 3, _t_rule)[1] > 0.95
    assert 0.6 < _rates(0.3, 3, _t_rule)[0] < 0.75
    assert _rates(0.5, 2, _t_rule)[0] < 0.5


def test_the_written_table_names_each_outcome(tmp_path):
    table = pd.DataFrame([("a", "p", "+1.00 dB [+0.50, +1.50]", V.SHOWN, V.CRITERION),
                          ("b", "p", "-1.00 dB [-1.50, -0.50]", V.CONTRADICTED, V.CRITERION),
                          ("c", "p", "+0.10 dB [-0.50, +0.70]", V.UNRESOLVED, V.CRITERION),
                          ("d", "p", None, None, "not run")], columns=V.COLUMNS)
    V.write_effects(table, tmp_path / "e.md", "caption")
    text = (tmp_path / "e.md").read_text()
    for mark in ("| ✓ shown |", "| ✗ contradicted |", "| ? not resolved |", "| not measured | n/a |"):
        assert mark in text
    assert text.rstrip().endswith("caption")
