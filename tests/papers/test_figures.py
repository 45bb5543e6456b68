"""Figures a reader can reuse: no caption baked into the image, the caption as Markdown beside it, and every
band saying what it is a spread over (and no band where there is nothing to spread)."""
import matplotlib.pyplot as plt
import pandas as pd
import pytest

from mixlab.papers.random_mixing import fig3 as F3
from mixlab.papers.random_mixing import fig4_fig5 as S
from mixlab.papers.random_mixing.fig1 import plot_fig1
from mixlab.papers.spread import count, pm
from mixlab.plots.save import save_figure


def _per_track(path, level):
    rows = [{"track": f"t{k}", "stem": s, "SDR": level + k} for k in range(3)
            for s in ("vocals", "drums", "bass", "other")]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture
def captured(monkeypatch):
    """The figures the plot functions hand to save_figure, kept open for inspection (and still saved)."""
    figs = []

    def keep(module):
        real = module.save_figure

        def save(fig, out, caption=""):
            figs.append(fig)
            real(fig, out, caption)
        monkeypatch.setattr(module, "save_figure", save)
    return figs, keep


def test_count_and_pm_say_n_and_show_no_spread_of_one():
    assert count(1, "training seed") == "1 training seed" and count(3, "training seed") == "3 training seeds"
    assert count([1, 3, 3], "song subset") == "1–3 song subsets" and count(1, "mix", "mixes") == "1 mix"
    assert pm(7.0, 0.714) == "7.00 ± 0.71" and pm(7.0, float("nan")) == "7.00" and pm(7.0, None) == "7.00"


def test_caption_goes_beside_the_figure_not_into_it(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    save_figure(fig, tmp_path / "f.pdf", "scale=demo, 3 seeds")
    assert not fig.texts                                                   # nothing drawn into the image
    assert (tmp_path / "f.pdf").read_bytes().startswith(b"%PDF") and (tmp_path / "f.png").exists()
    assert (tmp_path / "f.md").read_text() == "![f](f.png)\n\nscale=demo, 3 seeds\n"
    fig, ax = plt.subplots()
    save_figure(fig, tmp_path / "g.pdf")
    assert (tmp_path / "g.png").exists() and not (tmp_path / "g.md").exists()


def _fig3(tmp_path, subsets, examples=None):
    ids = [f"full_r{f:g}" for f in (0.01, 0.1, 1.0)]
    ids += [f"half{s}_r{f:g}" for s in subsets for f in (0.01, 0.1, 1.0)]
    csvs = [_per_track(tmp_path / f"{m}.csv", 5.0 + 0.3 * i) for i, m in enumerate(ids)]
    return F3.fig3_table(ids, csvs, examples=examples)


def test_fig3_one_axes_both_song_sets_and_the_mixes(tmp_path, captured):
    figs, keep = captured
    keep(F3)
    table = _fig3(tmp_path, [0, 1], examples=4000)
    assert table.loc[table["model"] == "full_r0.01", "mixes"].item() == 40
    assert "mixes" not in _fig3(tmp_path, [0]).columns
    F3.plot_fig3(table, tmp_path / "fig3.pdf", "cap", examples=4000, songs=10)
    (fig,) = figs
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["all 10 training songs", "~half of the songs, mean ± std over n = 2 song subsets"]
    assert len(ax.collections) == 1                                        # the band
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1 %", "10 %", "100 %"]
    assert [t.get_text() for t in ax.child_axes[0].get_xticklabels()] == ["40", "400", "4,000"]
    assert (tmp_path / "fig3.png").exists() and (tmp_path / "fig3.md").exists()


def test_fig3_with_one_subset_draws_no_band(tmp_path, captured):
    figs, keep = captured
    keep(F3)
    F3.plot_fig3(_fig3(tmp_path, [0]), tmp_path / "fig3.pdf")
    (ax,) = figs[0].axes
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[1] == "~half of the songs (n = 1 song subset, no spread)" and not ax.collections
    assert not ax.child_axes                                               # no steps x batch given: % only


def test_fig1_and_fig4_say_what_the_spread_is_over(tmp_path, captured):
    figs, keep = captured
    keep(S)
    import mixlab.papers.random_mixing.fig1 as F1
    keep(F1)
    t = pd.DataFrame({"p": [0.0, 1.0], "avg": [5.0, 4.0], "avg_se": [0.1, 0.2], "n_seeds": [3, 3]}).set_index("p")
    plot_fig1(t, tmp_path / "fig1.pdf")
    assert "avg ± 2 SE, n = 3 training seeds" in [x.get_text() for x in figs[-1].axes[0].get_legend().get_texts()]
    rows = [{"model": "p=0", "kind": k, "value": 0.0, "seed": -1, "avg": 5.0} for k in ("time", "pitch")]
    rows += [{"model": "p=0", "kind": k, "value": 1.0, "seed": s, "avg": 5.5 + 0.1 * s}
             for k in ("time", "pitch") for s in (0, 1)]
    table = pd.DataFrame(rows)
    assert S.fig4_spread(table) == "mean ± std over n = 2 test-set seeds"
    assert S.fig4_spread(table[table["seed"] < 1]) == "no spread: 1 test-set seed, 1 training seed"
    two = pd.concat([table.assign(train_seed=0), table.assign(train_seed=3)])
    assert S.fig4_spread(two).startswith("mean ± std over n = 4 (2 test-set seeds x 2 training seeds;")
    S.plot_fig4(table, tmp_path / "fig4.pdf", "cap")
    assert figs[-1].axes[0].get_legend().get_title().get_text() == "mean ± std over n = 2 test-set seeds"
