"""Which models each Paper A experiment trains, and with what sampler settings.

The workflow asks `runs(P, train_songs)` once at parse time: experiment ->
model id -> overrides of the preset's `train` section (plus `tracks`, a song
subset, where an experiment trains on fewer songs). Model ids are file names,
so they say what the model is (`p0.50`, `full_r0.1`, `half1_r0.01`).
"""
from __future__ import annotations

import numpy as np


def fmt_p(p: float) -> str:
    return f"{float(p):.2f}"


def fmt_num(x: float) -> str:
    """A grid value as it appears in a model id: 0.1 -> '0.1', 1.0 -> '1', inf -> 'inf'."""
    return "inf" if np.isinf(float(x)) else f"{float(x):g}"


def fixed_mix_count(fraction: float, steps: int, batch_size: int) -> int:
    """R of Fig. 3: a fraction of all training examples I x B, at least one mix."""
    return max(1, int(round(fraction * steps * batch_size)))


def song_subset(songs: list[str], fraction: float, seed: int) -> list[str]:
    """About `fraction` of the training songs, drawn by `seed` (Fig. 3b's reduced sets), in corpus order."""
    k = max(1, int(round(fraction * len(songs))))
    keep = set(np.random.default_rng([seed, 3]).choice(len(songs), size=k, replace=False).tolist())
    return [s for i, s in enumerate(songs) if i in keep]


def fig1_seeds(P: dict) -> list[int]:
    """Training seeds of each Fig. 1 point (initialisation and sampling); the first is train.seed's model."""
    return [int(s) for s in P["fig1"].get("seeds", [P["train"].get("seed", 0)])]


def fig1_id(p: float, seed: int, P: dict) -> str:
    """`p0.50` for the first seed (the id a one-seed grid has always had), `p0.50_s1` for the others."""
    return f"p{fmt_p(p)}" + ("" if int(seed) == fig1_seeds(P)[0] else f"_s{int(seed)}")


def fig1_models(P: dict) -> list[tuple[float, int, str]]:
    """(p, seed, model id) of every Fig. 1 model."""
    return [(float(p), seed, fig1_id(p, seed, P)) for p in P["fig1"]["p"] for seed in fig1_seeds(P)]


def fig1_runs(P: dict) -> dict:
    every = P["fig2"]["every"] if "fig2" in P else 0
    fig2_p = {fmt_p(p) for p in P["fig2"]["p"]} if "fig2" in P else set()
    first = fig1_seeds(P)[0]
    runs = {}
    for p, seed, model in fig1_models(P):
        train = {"p_original": p}
        if seed != P["train"].get("seed", 0):
            train["seed"] = seed
        # Fig. 2 scores snapshots of the first seed's Fig. 1 models with its p values along training
        if fmt_p(p) in fig2_p and seed == first and every:
            train["snapshot_every"] = every
        runs[model] = {"train": train}
    return runs


def fig3_runs(P: dict, train_songs: list[str]) -> dict:
    c, t = P["fig3"], P["train"]
    runs = {}
    for frac in c["fractions"]:
        R = fixed_mix_count(frac, t["steps"], t["batch_size"])
        runs[f"full_r{fmt_num(frac)}"] = {"train": {"p_original": 0.0, "fixed_mixes": R}}
        for seed in c["subset_seeds"]:
            # each seed redraws the songs and the fixed mixes (and the initialisation), as the paper repeats
            # "the song selection and random mix creation"
            runs[f"half{seed}_r{fmt_num(frac)}"] = {
                "train": {"p_original": 0.0, "fixed_mixes": R, "seed": int(seed)},
                "tracks": song_subset(train_songs, c["subset_fraction"], seed)}
    return runs


def fig5_runs(P: dict) -> dict:
    """Original mixes only, with per-stem timing shifts (inf: within-song random mixing) or pitch shifts
    up to K semitones, one per mix (consistent) or one per stem (inconsistent), in training."""
    runs = {f"time{fmt_num(t)}": {"train": {"p_original": 1.0, "time_shift_s": float(t)}}
            for t in P["fig5"]["time_shift_s"]}
    for K in P["fig5"]["pitch_max"]:
        for mode in ("consistent", "inconsistent"):
            runs[f"pitch{K}_{mode}"] = {"train": {"p_original": 1.0, "pitch_max": int(K),
                                                  "pitch_consistent": mode == "consistent"}}
    return runs


def fig4_rows(P: dict) -> list[tuple[dict, str, str]]:
    """(labels, test set, model id of fig1) per table Fig. 4 plots; value 0 is the unmodified test set."""
    rows = []
    for p in P["fig4"]["p"]:
        for train_seed in fig1_seeds(P):        # every training seed of Fig. 1's model at this p
            model = fig1_id(p, train_seed, P)
            more = {"train_seed": train_seed} if len(fig1_seeds(P)) > 1 else {}
            for kind in ("time", "pitch"):
                rows.append(({"model": f"p={float(p):g}", "kind": kind, "value": 0.0, "seed": -1, **more},
                             "test", model))
                grid = P["fig4"]["time_shift_s"] if kind == "time" else P["fig4"]["pitch_max"]
                for v in grid:
                    for seed in P["fig4"]["seeds"]:
                        rows.append(({"model": f"p={float(p):g}", "kind": kind, "value": float(v), "seed": seed,
                                      **more}, f"{kind}{fmt_num(v)}_s{seed}", model))
    return rows


def table1_runs(P: dict) -> dict:
    """Original mixes (p = 1) of song-level random songs or of trimmed original songs, with pitch copies
    of those sets up to table1.pitch_max (the paper trains them like Fig. 1's p = 1 model)."""
    return {f"{kind}_s{seed}": {"train": {"p_original": 1.0, "pitch_max": P["table1"]["pitch_max"],
                                          "seed": int(seed)},
                                "store": f"table1_{kind}_s{seed}"}
            for kind in ("original", "random") for seed in P["table1"]["seeds"]}


def runs(P: dict, train_songs: list[str]) -> dict:
    out = {"fig1": fig1_runs(P)}
    if "fig3" in P:
        out["fig3"] = fig3_runs(P, train_songs)
    if "fig5" in P:
        out["fig5"] = fig5_runs(P)
    if "table1" in P:
        out["table1"] = table1_runs(P)
    return out


def caption(P: dict, what: str) -> str:
    """The line under a Paper A figure or table: the scale, data and settings it was made with."""
    return (f"scale={P['scale']}, data={P['dataset']}, {P['sample_rate']} Hz, {P['model']['name']}, "
            f"{P['train']['steps']} steps x batch {P['train']['batch_size']}, {what}")
