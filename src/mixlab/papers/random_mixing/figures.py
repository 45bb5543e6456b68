"""Paper A's figures and table as `mixlab figure` makes them: name -> inputs, settings, writer.

The workflow's spec for each comes from `Plan.figure_job` (mixlab/plan.py)."""
from __future__ import annotations

from pathlib import Path

from mixlab.plots.figure import Figure, same_length

SCORE_TABLES = "per-track score tables (`mixlab aggregate`), one per model"


def _fig1(spec, out):
    from mixlab.papers.random_mixing.fig1 import fig1_table, plot_fig1

    tables = spec["inputs"]["tables"]
    same_length("random_mixing.fig1", tables=tables, p=spec["p"], seeds=spec["seeds"])
    table = fig1_table(spec["p"], tables, spec["seeds"])
    table.round(3).to_csv(Path(out).with_suffix(".csv"))
    plot_fig1(table, out, spec["caption"])
    return table.round(2).to_string()


def _fig2(spec, out):
    from mixlab.papers.random_mixing.fig2 import fig2_table, plot_fig2

    curves = spec["inputs"]["curves"]
    same_length("random_mixing.fig2", curves=curves, p=spec["p"])
    table = fig2_table(spec["p"], curves)
    table.round(4).to_csv(Path(out).with_suffix(".csv"), index=False)
    plot_fig2(table, out, spec["caption"])
    return f"{len(curves)} curves"


def _fig3(spec, out):
    from mixlab.papers.random_mixing.fig3 import fig3_table, plot_fig3

    tables = spec["inputs"]["tables"]
    same_length("random_mixing.fig3", tables=tables, models=spec["models"])
    table = fig3_table(spec["models"], tables, examples=spec["examples"])
    table.round(3).to_csv(Path(out).with_suffix(".csv"), index=False)
    plot_fig3(table, out, spec["caption"], examples=spec["examples"], songs=spec["songs"])
    return table.round(2).to_string()


def _shifts(number):
    def make(spec, out):
        from mixlab.papers.random_mixing.fig4_fig5 import plot_fig4, plot_fig5, shift_table

        tables = spec["inputs"]["tables"]
        same_length(f"random_mixing.fig{number}", tables=tables, rows=spec["rows"])
        table = shift_table(spec["rows"], tables)
        table.round(3).to_csv(Path(out).with_suffix(".csv"), index=False)
        (plot_fig4 if number == 4 else plot_fig5)(table, out, spec["caption"])
        return table.round(2).to_string()

    return make


def _table1(spec, out):
    from mixlab.papers.random_mixing.tables import table1, write_table1

    tables = spec["inputs"]["tables"]
    same_length("random_mixing.table1", tables=tables, models=spec["models"])
    per_model, summary = table1(spec["models"], tables)
    paths = write_table1(summary, Path(out).with_suffix(""), spec["caption"])
    return per_model.round(2).to_string() + "\n" + Path(paths[0]).read_text()


def _claims(spec, out):
    from mixlab.papers.random_mixing.claims import effects_table
    from mixlab.papers.verdicts import write_effects

    table = effects_table(spec["inputs"])
    write_effects(table, out, spec["caption"])
    return table[["effect", "verdict"]].to_string(index=False)


FIGURES = {
    "fig1": Figure("figure", _fig1, ("tables",), ("p",), {"seeds": None},
                   help="SDR vs p, the share of original mixes; `p`, `seeds`: one per table"),
    "fig2": Figure("figure", _fig2, ("curves",), ("p",),
                   help="training curves (`mixlab curve`) of the Fig. 1 models; `p`: one per curve"),
    "fig3": Figure("figure", _fig3, ("tables",), ("models",), {"examples": None, "songs": None},
                   help="SDR vs the share of the training run: `models` (full_r<f>, half<seed>_r<f>), one per "
                        "table; `examples` (steps x batch) also counts the mixes; `songs` of the full set"),
    "fig4": Figure("figure", _shifts(4), ("tables",), ("rows",),
                   help="SDR on per-stem shifted test sets; `rows`: label dicts (model, kind, value, ...)"),
    "fig5": Figure("figure", _shifts(5), ("tables",), ("rows",),
                   help="original mixes with per-stem shifts in training; `rows`: label dicts"),
    "table1": Figure("table", _table1, ("tables",), ("models",),
                     help="original vs song-level random mixes; `models`: <original|random>_s<seed>, one per table"),
    "claims": Figure("verdicts", _claims, ("fig1", "fig2", "fig3", "fig4", "fig5", "table1"), optional_inputs=True,
                     help="each headline effect measured with a fixed criterion, from the figures' CSVs "
                          "(an absent one: not measured)"),
}
