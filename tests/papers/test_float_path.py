"""mixlab compare-runs: two runs' per-model scores, their float-path spread beside the seed spread."""
import pandas as pd
import pytest

from mixlab.papers import float_path as F
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
    assert "Float path: 4 models" in text and "std 0.09 dB" in text and "(pooled, 2 df)" in text
    with pytest.raises(FileNotFoundError, match="no scored models"):
        F.model_scores(tmp_path / "empty")
