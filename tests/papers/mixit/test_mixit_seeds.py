"""Paper B with several fine-tuning seeds: ids, specs, tables (mean, SE, each seed) and the effect verdicts."""
import json

import numpy as np
import pandas as pd
import pytest

from mixlab.config import load
from mixlab.papers.mixit import claims as E
from mixlab.papers.mixit import experiments as X
from mixlab.papers.mixit.tables import build_table, write_table
from tests.conftest import CONFIGS, run_cli


@pytest.fixture(scope="module")
def M():
    return load(CONFIGS, {"scale": "demo"})["mixit"]


def test_first_seed_keeps_the_plain_id_and_the_spec_of_one_seed(M):
    one = X.finetuned_models(M)
    two = {**M, "seeds": [M["finetune"]["seed"], 7]}
    ids = X.finetuned_models(two)
    assert ids[:2] == [one[0], one[0] + "_s7"] and len(ids) == 2 * len(one)
    # the first seed's spec is the spec of a one-seed run: no retraining when seeds are added
    assert X.finetune_spec(two, 8000, one[0]) == X.finetune_spec(M, 8000, one[0])
    assert X.finetune_spec(two, 8000, one[0] + "_s7")["train"]["seed"] == 7
    assert X.parse_model_id("medium_fma-large_frozen_s7") == {"size": "medium", "subset": "large", "mode": "frozen",
                                                             "seed": 7}
    # seeds share their pre-training (one per size and subset)
    assert X.pretrained_models(two) == X.pretrained_models(M)
    # a seed list that does not start with finetune.seed: the plain id trains with the list's first seed
    assert X.finetune_spec({**M, "seeds": [3, 4]}, 8000, one[0])["train"]["seed"] == 3


def _scores(tmp_path, name, level):
    """A per-track cSDR table and a uSDR table whose averages are `level` dB."""
    stems = ["vocals", "bass", "drums", "other"]
    c, u = tmp_path / f"{name}_c.csv", tmp_path / f"{name}_u.csv"
    pd.DataFrame([{"track": f"t{i}", "stem": s, "SDR": level + 0.1 * i} for i in range(3) for s in stems]).to_csv(c)
    pd.DataFrame([{"track": f"t{i}", "stem": s, "uSDR": level - 0.1} for i in range(2) for s in stems]).to_csv(u)
    return str(c), str(u)


def test_table_is_the_mean_over_seeds_with_its_standard_error(tmp_path):
    labels = [{"Model size": "Small", "Pretrain": "-"}, {"Model size": "Small", "Pretrain": "MixIT"}]
    levels = [3.0, 3.4, 6.0, 6.2]                          # row-major: row 0's two seeds, then row 1's
    csvs = [_scores(tmp_path, f"m{i}", x) for i, x in enumerate(levels)]
    t = build_table(labels, [c for c, _ in csvs], [u for _, u in csvs], seeds=[5, 9])
    np.testing.assert_allclose(t["average_cSDR"], [3.3, 6.2])                  # median over tracks: level + 0.1
    np.testing.assert_allclose(t["average_uSDR_se"], [0.2, 0.1])               # std(ddof=1) / sqrt(2)
    assert list(t["average_cSDR_seed9"].round(6)) == [3.5, 6.3] and list(t["n_seeds"]) == [2, 2]
    # one seed: the table of a one-seed run, no SE columns
    single = build_table(labels, [csvs[0][0], csvs[2][0]], [csvs[0][1], csvs[2][1]])
    assert "n_seeds" not in single and single["average_cSDR"].tolist() == pytest.approx([3.1, 6.1])
    with pytest.raises(ValueError, match="2 rows x 2 seeds"):
        build_table(labels, [c for c, _ in csvs[:3]], [u for _, u in csvs[:3]], seeds=[5, 9])
    md = write_table(t, ["Model size", "Pretrain"], tmp_path / "table2")[0].read_text()
    assert "6.20 ± 0.10" in md and "standard error over n = 2 fine-tuning seeds" in md
    md, _, tex = write_table(single, ["Model size", "Pretrain"], tmp_path / "table2_one")
    assert "±" not in md.read_text().split("\n\n")[0] and "$\\pm$" not in tex.read_text()
    assert "n = 1 fine-tuning seed per row: no spread" in md.read_text()


def test_verdicts(tmp_path):
    from mixlab.papers.verdicts import CONTRADICTED, SHOWN, UNRESOLVED

    def t2(d_c, se, n=3):
        return pd.DataFrame({"Model size": ["Small", "Small"], "Pretrain": ["-", "MixIT"],
                             "average_cSDR": [3.0, 3.0 + d_c], "average_uSDR": [3.0, 3.0 + d_c],
                             "average_cSDR_se": [se, se], "average_uSDR_se": [se, se], "n_seeds": [n, n]})
    assert E.table2_effects(t2(1.0, 0.1))[0][3] == SHOWN
    assert E.table2_effects(t2(0.2, 0.1))[0][3] == UNRESOLVED     # 0.2 < t(4) x hypot(0.1, 0.1)
    assert E.table2_effects(t2(-1.0, 0.1))[0][3] == CONTRADICTED
    assert E.table2_effects(t2(0.5, 0.1, n=2))[0][3] == UNRESOLVED   # > 2 SE, but 2 seeds give 2 df
    assert "cSDR +1.00 dB [+0.61, +1.39]" in E.table2_effects(t2(1.0, 0.1))[0][2]
    one = t2(1.0, 0.1).drop(columns=["average_cSDR_se", "average_uSDR_se", "n_seeds"])
    assert E.table2_effects(one)[0][3] is None and "one" not in E.table2_effects(one)[0][2]
    t3 = pd.DataFrame({"Data scale": ["-", "Small", "Large"], "average_cSDR": [9.0, 9.5, 9.7],
                       "average_uSDR": [9.0, 9.5, 9.7], "average_cSDR_se": [0.1] * 3, "average_uSDR_se": [0.1] * 3,
                       "n_seeds": [3] * 3})
    assert E.table3_effect(t3)[0][3] == SHOWN
    assert E.table3_effect(t3.assign(average_cSDR=[9.0, 9.6, 9.45]))[0][3] == UNRESOLVED      # largest < smallest
    assert E.table3_effect(t3.assign(average_cSDR=[9.0, 9.5, 9.1]))[0][3] == UNRESOLVED
    assert E.table3_effect(t3.assign(average_cSDR=[9.0, 8.5, 9.5]))[0][3] == CONTRADICTED
    # end to end: the command reads the tables' CSVs; a missing table is "not run"
    t1 = t2(0.5, 0.05).rename(columns={"Model size": "Model"}).assign(Model="BS-Locoformer (Small)")
    t1.to_csv(tmp_path / "table1.csv", index=False)
    t2(1.0, 0.1).to_csv(tmp_path / "table2.csv", index=False)
    spec = {"figure": "mixit.claims", "caption": "c",                         # no Table 3: not run
            "inputs": {"table1": str(tmp_path / "table1.csv"), "table2": str(tmp_path / "table2.csv")}}
    run_cli("figure", "--spec", json.dumps(spec), "--out", str(tmp_path / "effects.md"))
    text = (tmp_path / "effects.md").read_text()
    assert text.count("| ✓ shown |") == 2 and "not run" in text and "(Small)" in text


def test_mixit_table_command_groups_the_seeds(tmp_path):
    csvs = [_scores(tmp_path, f"m{i}", x) for i, x in enumerate([3.0, 3.4, 6.0, 6.2])]
    rows = [{"Model size": "Small", "Pretrain": "-"}, {"Model size": "Small", "Pretrain": "MixIT"}]
    spec = {"figure": "mixit.table", "rows": rows, "seeds": [5, 9],
            "inputs": {"csdr": [c for c, _ in csvs], "usdr": [u for _, u in csvs]}}
    run_cli("figure", "--spec", json.dumps(spec), "--out", str(tmp_path / "t.md"))
    assert pd.read_csv(tmp_path / "t.csv")["average_cSDR_seed5"].tolist() == pytest.approx([3.1, 6.1])
    spec["inputs"] = {"csdr": [csvs[0][0]], "usdr": [csvs[0][1]]}
    bad = run_cli("figure", "--spec", json.dumps(spec), "--out", str(tmp_path / "u.md"), check=False)
    assert bad.returncode != 0 and "2 rows x 2 seeds" in bad.stderr
