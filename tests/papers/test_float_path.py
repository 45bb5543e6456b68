"""mixlab compare-runs: two runs' per-model scores, their float-path spread beside the seed spread."""
import numpy as np
import pandas as pd
import pytest

from mixlab.papers import float_path as F
from mixlab.papers import verdicts as V
from tests.conftest import run_cli

STEMS = ("vocals", "drums", "bass", "other")


def _scores(run, exp, model, sdr):
    path = run / "scores" / "test" / exp / f"{model}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{"track": f"T{t}", "stem": s, "SDR": sdr + 0.01 * t} for t in range(3) for s in STEMS]
    pd.DataFrame(rows).to_csv(path, index=False)


def test_compare_runs_measures_the_float_path_beside_the_seeds(tmp_path):
    a, b = tmp_path / "study", tmp_path / "study-threads2"
    for model, sdr, moved in (("p0.00", 3.0, 0.10), ("p0.00_s1", 3.2, -0.10), ("p1.00", 2.0, 0.05),
                              ("p1.00_s1", 2.4, -0.05)):
        _scores(a, "fig1", model, sdr)
        _scores(b, "fig1", model, sdr + moved)
    _scores(a, "fig3", "r0.01", 1.0)                       # only in one run: left out
    t = F.compare(a, b)
    assert list(t["model"]) == ["p0.00", "p0.00_s1", "p1.00", "p1.00_s1"]
    assert t["diff"].round(6).tolist() == [0.1, -0.1, 0.05, -0.05]
    sd, df = F.seed_spread(F.model_scores(a))
    assert df == 2 and sd == pytest.approx(((0.2 ** 2 / 2 + 0.4 ** 2 / 2) / 2) ** 0.5)     # pooled over p
    out = tmp_path / "spread.md"
    run_cli("compare-runs", str(a), str(b), "--out", str(out))
    text = out.read_text()
    assert "| fig1 | p1.00_s1 | 2.41 | 2.36 | -0.05 |" in text
    # a difference holds both runs' perturbations: the per-model std is the differences' std / sqrt 2;
    # the seed std pools both runs' seed pairs (4 df); the ratio's interval is F's with (3, 4) df
    assert "| fig1 | 4 | +0.00 | 0.10 | 0.06 (3) | 0.19 (4) | 0.3 [0.1, 1.3] |" in text
    with pytest.raises(FileNotFoundError, match="no scored models"):
        F.model_scores(tmp_path / "empty")


def test_the_float_path_std_is_taken_within_each_experiment(tmp_path):
    """An offset common to an experiment's models cancels in its effects: it does not count as spread."""
    a, b = tmp_path / "a", tmp_path / "b"
    for exp, offset in (("fig1", 0.5), ("fig3", -0.5)):
        for i, moved in enumerate((0.01, -0.01, 0.0)):
            _scores(a, exp, f"m{i}", 2.0 + i)
            _scores(b, exp, f"m{i}", 2.0 + i + offset + moved)
    s = F.spreads(F.compare(a, b))
    assert s["df_float"] == 4 and s["sd_float"] == pytest.approx(0.01 / np.sqrt(2), abs=1e-9)
    assert s["df_seed"] == 0 and np.isnan(s["ratio"])
    text = F.report(a, b)
    assert "float path std 0.01 dB per model (4 df" in text and "float / seed —" in text
    per = F.by_experiment(F.compare(a, b))
    assert per["mean"].round(6).tolist() == [0.5, -0.5]


def test_a_float_path_that_acts_like_a_new_seed_has_the_seed_std():
    """Run B = the same models retrained with fresh seed noise: the per-model float-path std matches the
    seed std (ratio ~1, its interval holds 1), which is what the report's √2 is for."""
    rng = np.random.default_rng(0)
    truth = rng.normal(3.0, 1.0, 40)
    a = truth[:, None] + rng.normal(0, 0.2, (40, 3))                     # 40 models x 3 seeds
    b = truth[:, None] + rng.normal(0, 0.2, (40, 3))
    rows = lambda x: pd.DataFrame([{"exp": "e", "model": f"m{i}" + (f"_s{s}" if s else ""), "avg": x[i, s]}
                                   for i in range(40) for s in range(3)])               # noqa: E731
    both = rows(a).merge(rows(b), on=["exp", "model"], suffixes=("_a", "_b"))
    both["diff"] = both["avg_b"] - both["avg_a"]
    s = F.spreads(both)
    assert s["df_seed"] == 160 and s["sd_seed"] == pytest.approx(0.2, rel=0.15)
    assert s["ratio"] == pytest.approx(1.0, rel=0.2) and s["ratio_lo"] < 1 < s["ratio_hi"]
    both["diff"] *= 3                                                    # a float path worse than a seed
    assert F.spreads(both)["ratio_lo"] > 1


def test_compare_runs_puts_both_runs_verdicts_side_by_side(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for run, fig1, extra in ((a, V.SHOWN, "Fig. 4: p=0, pitch"), (b, V.CONTRADICTED, "Fig. 4: p=1, pitch")):
        _scores(run, "fig1", "p0.00", 3.0)
        table = pd.DataFrame([
            {"effect": "Fig. 1: random mixes", "paper": "+2.1 dB", "verdict": fig1,
             "measured": "+0.6 dB [+0.4, +0.9] (Welch, n = 3 training seeds; p=0 then p=1 per seed: 1, 2)",
             "criterion": "1 % < 10 %, |10 % − 100 %| ≤ 0.3 dB"},
            {"effect": "Fig. 3: |10 % − 100 %| small", "paper": "≈", "measured": "all songs: 1 % 1.5; half (mean of n = 1 song subset): 1.7",
             "verdict": V.UNRESOLVED, "criterion": "t"},
            {"effect": "Fig. 2: overfits", "paper": "p = 1", "measured": None, "verdict": None, "criterion": "t"},
            {"effect": extra, "paper": "+1 dB", "measured": "-0.1 dB [-0.3, +0.1]", "verdict": V.UNRESOLVED,
             "criterion": "t"}])
        V.write_effects(table, run / "effects_a.md", caption="scale=study")
    (a / "mixit").mkdir()
    V.write_effects(table.iloc[:1], a / "mixit" / "effects.md")             # Paper B only in run a
    back = V.read_effects(a / "effects_a.md")
    assert back["effect"].tolist()[:3] == ["Fig. 1: random mixes", "Fig. 3: |10 % − 100 %| small", "Fig. 2: overfits"]
    assert back["verdict"].tolist()[:2] == [V.SHOWN, V.UNRESOLVED] and back["verdict"].isna().tolist()[2]
    assert back["measured"].tolist()[1] == "all songs: 1 % 1.5; half (mean of n = 1 song subset): 1.7"
    assert back["measured"].tolist()[2] == "not measured"
    text = F.report(a, b)
    assert "| Fig. 1: random mixes | +0.6 dB [+0.4, +0.9] ✓ shown | +0.6 dB [+0.4, +0.9] ✗ contradicted | no |" in text
    assert "| Fig. 2: overfits | not measured n/a | not measured n/a | — |" in text
    assert "| Fig. 4: p=0, pitch | -0.1 dB [-0.3, +0.1] ? not resolved |  absent | — |" in text
    assert "(mean of n = 1 song subset)" in text                               # only the seeds' note goes
    assert "mixit/effects.md: only in" in text
    assert ("Verdicts: 1 of 2 effects judged in both runs the same; 1 turned from shown to contradicted or "
            "back; 3 without a verdict in one run or both.") in text


def test_an_effect_table_of_another_version_is_named_not_misread(tmp_path):
    old = tmp_path / "effects_a.md"
    old.write_text("| effect | paper | measured | shown | criterion |\n|---|---|---|---|---|\n| Fig. 1 | + | +0.6 | ✓ | x |\n")
    with pytest.raises(ValueError, match="effects_a.md: not an effect table of this version.*--forcerun"):
        V.read_effects(old)
    bad = tmp_path / "bad.md"
    bad.write_text(V.HEADER + "\n|---|---|---|---|---|\n| Fig. 1 | + | +0.6 | ✓ yes | x |\n")
    with pytest.raises(ValueError, match="bad.md, line 3: expected 5 cells with a verdict"):
        V.read_effects(bad)
    spaced = pd.DataFrame([{"effect": "a | b", "paper": "", "measured": "", "verdict": None, "criterion": ""}])
    with pytest.raises(ValueError, match="holds ' | '"):
        V.write_effects(spaced, tmp_path / "x.md")
