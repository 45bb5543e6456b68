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
    # a difference holds both runs' perturbations: the per-model std is the differences' std / sqrt 2
    assert "All: 4 models" in text and "float path std 0.06 dB per model" in text and "(pooled, 2 df)" in text
    assert "| fig1 | 4 | +0.00 | 0.06 | 0.10 | 0.22 (2) | 0.3 |" in text
    with pytest.raises(FileNotFoundError, match="no scored models"):
        F.model_scores(tmp_path / "empty")


def test_a_float_path_that_acts_like_a_new_seed_has_the_seed_std(tmp_path):
    """Run B = the same models retrained with fresh seed noise: the per-model float-path std matches the
    seed std (ratio ~1), which is what the report's √2 is for."""
    rng = np.random.default_rng(0)
    truth = rng.normal(3.0, 1.0, 40)
    a = truth[:, None] + rng.normal(0, 0.2, (40, 3))                     # 40 models x 3 seeds
    b = truth[:, None] + rng.normal(0, 0.2, (40, 3))
    rows = lambda x: pd.DataFrame([{"exp": "e", "model": f"m{i}" + (f"_s{s}" if s else ""), "avg": x[i, s]}
                                   for i in range(40) for s in range(3)])               # noqa: E731
    both = rows(a).merge(rows(b), on=["exp", "model"], suffixes=("_a", "_b"))
    both["diff"] = both["avg_b"] - both["avg_a"]
    per = F.by_experiment(both, rows(a)).iloc[0]
    assert per["df_seed"] == 80 and per["sd_seed"] == pytest.approx(0.2, rel=0.15)
    assert per["sd_float"] / per["sd_seed"] == pytest.approx(1.0, rel=0.2)


def test_compare_runs_puts_both_runs_verdicts_side_by_side(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for run, fig1, fig5 in ((a, V.SHOWN, V.UNRESOLVED), (b, V.CONTRADICTED, V.UNRESOLVED)):
        _scores(run, "fig1", "p0.00", 3.0)
        table = pd.DataFrame([
            {"effect": "Fig. 1: random mixes", "paper": "+2.1 dB", "measured": "+0.6 dB [+0.4, +0.9]",
             "verdict": fig1, "criterion": "1 % < 10 %, |10 % − 100 %| ≤ 0.3 dB"},
            {"effect": "Fig. 5: pitch", "paper": "helps", "measured": "+0.2 dB [-0.1, +0.6]", "verdict": fig5,
             "criterion": "t"},
            {"effect": "Fig. 2: overfits", "paper": "p = 1", "measured": None, "verdict": None, "criterion": "t"}])
        V.write_effects(table, run / "effects_a.md", caption="scale=study")
    back = V.read_effects(a / "effects_a.md")
    assert back["effect"].tolist() == ["Fig. 1: random mixes", "Fig. 5: pitch", "Fig. 2: overfits"]
    assert back["verdict"].tolist()[:2] == [V.SHOWN, V.UNRESOLVED] and back["verdict"].isna().tolist()[2]
    assert back["measured"].tolist()[2] == "not measured"
    text = F.report(a, b)
    assert "| Fig. 1: random mixes | +0.6 dB [+0.4, +0.9] ✓ shown | +0.6 dB [+0.4, +0.9] ✗ contradicted | no |" in text
    assert "Verdicts: 2 of 3 the same in both runs; 1 turned from shown to contradicted or back." in text
