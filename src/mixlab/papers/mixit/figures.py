"""Paper B's tables as `mixlab figure` makes them: name -> inputs, settings, writer.

The workflow's spec for each comes from `Plan.figure_job` (mixlab/plan.py)."""
from __future__ import annotations

from pathlib import Path

from mixlab.config import ConfigError
from mixlab.plots.figure import Figure


def _table(spec, out):
    from mixlab.papers.mixit.tables import build_table, write_table

    rows, seeds = spec["rows"], spec["seeds"]
    csdr, usdr = spec["inputs"]["csdr"], spec["inputs"]["usdr"]
    n = len(seeds or [None])
    if not len(rows) * n == len(csdr) == len(usdr):
        raise ConfigError(f"figure mixit.table: csdr and usdr need one table per row and seed each ({len(rows)} rows "
                          f"x {n} seeds; got {len(csdr)} and {len(usdr)})")
    table = build_table(rows, csdr, usdr, seeds)
    paths = write_table(table, list(rows[0]), Path(out).with_suffix(""), spec["caption"])
    return "wrote " + ", ".join(map(str, paths))


def _released(spec, out):
    from mixlab.papers.mixit.released import compare_table, write_compare

    rows, models = spec["rows"], spec["models"]
    csdr, usdr = spec["inputs"]["csdr"], spec["inputs"]["usdr"]
    if not len(rows) == len(models) == len(csdr) == len(usdr):
        raise ConfigError("figure mixit.released: rows, models, csdr and usdr need one entry per model each")
    unknown = [m for m in models if m not in spec["published"]]
    if unknown:
        raise ConfigError(f"figure mixit.released: no published numbers for {', '.join(unknown)} "
                          "(config key paper_b_published)")
    table = compare_table(rows, models, csdr, usdr, spec["published"])
    paths = write_compare(table, list(rows[0]), Path(out).with_suffix(""), spec["caption"])
    return "wrote " + ", ".join(map(str, paths))


def _claims(spec, out):
    from mixlab.papers.mixit.claims import effects_table
    from mixlab.papers.verdicts import write_effects

    table = effects_table(spec["inputs"])
    write_effects(table, out, spec["caption"])
    return table[["effect", "verdict"]].to_string(index=False)


FIGURES = {
    "table": Figure("table", _table, ("csdr", "usdr"), ("rows",), {"seeds": None},
                    help="Table 1, 2 or 3: `rows` (label dicts, one per row); with `seeds` the cSDR and uSDR "
                         "tables are row-major, one per row and seed"),
    "released": Figure("table", _released, ("csdr", "usdr"), ("rows", "models", "published"),
                       help="the authors' released models scored by mixlab beside the paper's numbers: "
                            "`published` {model: {stem|average: [cSDR, uSDR]}}"),
    "claims": Figure("verdicts", _claims, ("table1", "table2", "table3"), optional_inputs=True,
                     help="each headline effect measured with a fixed criterion, from the tables' CSVs "
                          "(an absent one: not measured)"),
}
