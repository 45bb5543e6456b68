"""plan(config): which runs, specs, stores, test sets and histories a configuration implies.

One pure function of the resolved preset and the corpus's track lists, for both papers;
the workflow's input functions (workflow/rules/common.smk) only read it. Model ids are
file names that say what the model is (`fig1/p0.50`, `fig3/half1_r0.01`,
`mixit/medium_fma-large_full`).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from mixlab.papers.mixit import experiments as _mx
from mixlab.papers.random_mixing import experiments as _exp
from mixlab.papers.random_mixing.defaults import DEFAULTS as _A_DEFAULTS
from mixlab.train.defaults import same_training


@dataclass
class Plan:
    P: dict                                   # the resolved preset (config.validate)
    tracks: dict                              # split -> track names of the corpus the run reads
    runs: dict = field(init=False)            # experiment -> model id -> {"train": overrides, "tracks"?, "store"?}
    models: dict = field(init=False)          # experiment -> model ids (Paper B's fine-tuned models as "mixit")

    def __post_init__(self):
        self.runs = _exp.runs(self.P, self.tracks["train"])
        self.models = {exp: list(models) for exp, models in self.runs.items()}
        self.models["mixit"] = _mx.finetuned_models(self.P["mixit"])
        # the authors released the fully fine-tuned models of Tables 1 and 3 (none with a frozen separator)
        rows = _mx.table_rows(self.P["mixit"])
        self.models["released"] = list(dict.fromkeys(m for t in ("table1", "table3") for _, m in rows[t]))

    @property
    def fig1_p(self) -> list[str]:
        return [_exp.fmt_p(p) for p in self.P["fig1"]["p"]]

    @property
    def fig1_models(self) -> list[tuple[float, int, str]]:
        """(p, training seed, model id) of every Fig. 1 model."""
        return _exp.fig1_models(self.P)

    @property
    def fig2_p(self) -> list[str]:
        return [_exp.fmt_p(p) for p in self.P["fig2"]["p"]] if "fig2" in self.P else []

    def run_spec(self, exp: str, model: str) -> dict:
        """What one training run is: model, training settings, sampler variation, songs. Changing it retrains."""
        if model not in self.runs.get(exp, {}):
            raise KeyError(f"{exp}/{model}: no such model in this config's {exp} grid "
                           f"(known: {', '.join(self.runs.get(exp, {})) or 'none'})")
        run = self.runs[exp][model]
        # the paper's standard pitch-shift augmentation unless the run says otherwise (Fig. 5b, Table 1)
        train = {**self.P["train"], "pitch_max": self.P["augment"]["pitch_max"], **run["train"]}
        spec = {"recipe": "random_mixing", "model": {**self.P["model"], "sample_rate": self.P["sample_rate"]},
                "train": train}
        if "tracks" in run:
            spec["tracks"] = run["tracks"]
        # how the workflow separates with it: written into the model file, so `mixlab separate` by hand
        # gives the figures' numbers
        spec["separate"] = self.job_spec("separate", exp)
        return spec

    def job_spec(self, job: str, exp: str | None = None) -> dict:
        """The settings one data, scoring or separation job runs with, passed whole as `--spec` (JSON), so a
        job runs with exactly the config's values and never with a command-line default. Keys are the fields
        of the library call the job makes, or for the settings commands (store, score, ...) the command's own
        options; a job rejects any other key by name."""
        P, M = self.P, self.P["mixit"]
        rate = {"sample_rate": P["sample_rate"]}
        if job == "synth":                   # mixlab.data.synth.SynthSpec
            return {**rate, **P["synth"]}
        if job == "render":                  # mixlab.data.rendered.RenderSpec
            return {**rate, **P["render"]}
        if job == "import-musdb":            # mixlab.data.musdb_import.import_musdb
            return {**rate, **{k: v for k, v in (P.get("musdb") or {}).items() if v is not None}}
        if job == "fma-synth":               # mixlab.papers.mixit.fma_synth.FMASynthSpec
            # on the rendered corpus, the unlabelled pool is rendered full mixes too (never its test chorales)
            pool = {"source": "rendered", "render_seed": P["render"]["seed"]} if P["dataset"] == "rendered" else {}
            return {**rate, **pool, **M["fma"]}
        if job == "fma-prep":                # mixlab.papers.mixit.fma.ClipRule
            return {**rate, **M["clips"]}
        if job == "activity":                # mixlab.papers.mixit.activity.detect_store
            return dict(M["activity"])
        # the options of `mixlab <job>` the config sets (cli._common.settings_spec)
        if job in ("store", "shift-testset"):
            return dict(rate)
        if job == "song-level-store":
            return {"n_songs": P["table1"]["n_songs"]}
        if job == "evalset":                 # Fig. 2's chunks have the model's training length
            from mixlab.models.registry import model_chunk

            return {"chunk": model_chunk({**P["model"], **rate}), "seeds": P["fig2"]["seeds"],
                    "max_chunks": P["fig2"]["max_chunks"]}
        if job == "score":
            return {**rate, "scorer": P["scorer"]}
        if job == "usdr":
            return {**rate, "mode": M["usdr"]}
        if job == "select-channels":
            return {"chunk_seconds": M["channel_chunk_seconds"], "rule": M["channel_selection"]}
        if job == "separate":                # chunking of mixlab.separate.overlap_add
            if exp in ("mixit", "released"):  # Paper B: 12 s chunks with 6 s overlap (time domain)
                return {"window": "boxcar", **M["separate"]}
            return dict(P["separate"])       # Paper A: dim_t STFT frames
        raise KeyError(f"no job spec for {job!r}")

    def train_stores(self, exp: str, model: str, res: str) -> list[str]:
        """The run's training store (the original songs or a derived set) plus its pitch-bank copies."""
        base = self.runs[exp][model].get("store", "train")
        K = self.run_spec(exp, model)["train"]["pitch_max"]
        return [f"{res}/store/{base}"] + [f"{res}/store/{base}_pitch{k:+d}" for k in range(-K, K + 1) if k != 0]

    def fig4_rows(self) -> list[tuple[dict, str, str]]:
        return _exp.fig4_rows(self.P)

    def fig5_rows(self) -> list[tuple[dict, str, str]]:
        """(labels, experiment, model) per Fig. 5 table: the shift models, plus Fig. 1's p = 1 model as t_s = 0.
        A run identical to Fig. 1's p = 1 (consistent shifts at the standard augmentation's K) is that model."""
        rows = []
        has_p1 = "1.00" in self.fig1_p
        if has_p1:
            rows.append(({"model": "p1.00", "kind": "time", "value": 0.0, "mode": ""}, "fig1", "p1.00"))
        for m in self.models.get("fig5", []):
            t = self.runs["fig5"][m]["train"]
            same = has_p1 and same_training(self.run_spec("fig5", m), self.run_spec("fig1", "p1.00"), _A_DEFAULTS)
            source = ("fig1", "p1.00") if same else ("fig5", m)
            if "time_shift_s" in t:
                rows.append(({"model": m, "kind": "time", "value": t["time_shift_s"], "mode": ""}, *source))
            else:
                mode = "consistent" if t["pitch_consistent"] else "inconsistent"
                rows.append(({"model": m, "kind": "pitch", "value": float(t["pitch_max"]), "mode": mode}, *source))
        return rows

    # ---- Paper B's grid (table rows, seeded ids and run specs), as the workflow and `mixlab cost` read it
    def mixit_rows(self) -> dict[str, list[tuple[dict, str]]]:
        """Per table: (label columns, model id) per row, in the paper's order."""
        return _mx.table_rows(self.P["mixit"])

    def mixit_seeded_ids(self, mid: str) -> list[str]:
        return _mx.seeded_ids(self.P["mixit"], mid)

    def mixit_parts(self, mid: str) -> dict:
        """size, subset (None: from scratch), mode and seed of a fine-tuned model id."""
        return _mx.parse_model_id(mid)

    def mixit_pretrain_spec(self, size: str) -> dict:
        return {**_mx.pretrain_spec(self.P["mixit"], self.P["sample_rate"], size),
                "separate": self.job_spec("separate", "mixit")}

    def mixit_finetune_spec(self, mid: str) -> dict:
        return {**_mx.finetune_spec(self.P["mixit"], self.P["sample_rate"], mid),
                "separate": self.job_spec("separate", "mixit")}

    # ---- what a training job runs: the run spec with its recipe's inputs (`mixlab train --spec`)

    def train_job(self, exp: str, model: str, res: str) -> dict:
        """A Paper A training: the run spec and its stem stores (the songs, plus pitch-shifted copies)."""
        return {**self.run_spec(exp, model), "inputs": {"stores": self.train_stores(exp, model, res)}}

    def mixit_pretrain_job(self, size: str, subset: str, res: str) -> dict:
        """A MixIT pre-training on the prepared clips of one FMA subset."""
        return {**self.mixit_pretrain_spec(size), "inputs": {"clips": f"{res}/fma/{subset}"}}

    def mixit_finetune_inputs(self, mid: str, res: str) -> dict:
        """A fine-tuning's stems, their active segments, the validation songs and, from a pre-trained model,
        that model and its selected channels."""
        inputs = {"store": f"{res}/store/train", "valid_store": f"{res}/store/valid",
                  "activity": f"{res}/mixit/activity.json"}
        p = _mx.parse_model_id(mid)
        if p["subset"] is not None:
            inputs["init"] = f"{res}/mixit/pretrained/{p['size']}_{p['subset']}.pt"
            inputs["channels"] = f"{res}/mixit/channels/{p['size']}_{p['subset']}.json"
        return inputs

    def mixit_finetune_job(self, mid: str, res: str) -> dict:
        return {**self.mixit_finetune_spec(mid), "inputs": self.mixit_finetune_inputs(mid, res)}

    def mixit_seeds(self) -> list[int]:
        return _mx.seeds(self.P["mixit"])

    def mixit_table_scores(self, table: str, res: str) -> dict[str, list[str]]:
        """A Paper B table's per-track cSDR and uSDR tables, row-major over the fine-tuning seeds (row 0's first)."""
        ids = [s for _, m in self.mixit_rows()[table] for s in self.mixit_seeded_ids(m)]
        return {"csdr": [f"{res}/scores/test/mixit/{s}.csv" for s in ids],
                "usdr": [f"{res}/usdr/test/mixit/{s}.csv" for s in ids]}

    # ---- the line written beside each figure and table: the scale, the data and the settings it was made with

    def caption(self, target: str) -> str:
        P = self.P
        seeds = _exp.fig1_seeds(P)
        if target == "fig1":
            return (f"scale={P['scale']}, data={P['dataset']}, {P['sample_rate']} Hz, "
                    f"{P['train']['steps']} steps x batch {P['train']['batch_size']}, BSS Eval v4 ({P['scorer']} "
                    f"scorer) median of medians, training seeds {seeds}")
        what = {
            "fig2": f"SDX SDR improvement every {P['fig2']['every']} steps, chunks of the training length, "
                    f"training seed {seeds[0]}",
            "fig3": f"BSS Eval v4 ({P['scorer']} scorer) median of medians, average of stems, "
                    f"all songs: one training seed; about half of them: song subsets {P['fig3']['subset_seeds']}",
            "fig4": f"per-stem shifted test sets, seeds {P['fig4']['seeds']} x training seeds {seeds}, mean ± std over seeds",
            "fig5": "original mixes with per-stem shifts in training, unmodified test set, one training seed per model",
            "table1": "trained on original mixes (p = 1) of each set, "
                      + (f"pitch copies up to ±{P['table1']['pitch_max']} st" if P["table1"]["pitch_max"] else "no pitch copies"),
            "effects_a": f"Fig. 1 training seeds {seeds}; criteria fixed in mixlab.papers.random_mixing.claims",
        }
        if target in what:
            return _exp.caption(P, what[target])
        if target == "mixit":
            return _mx.caption(P)
        if target == "effects_b":
            return _mx.caption(P) + "; criteria fixed in mixlab.papers.mixit.claims"
        if target == "released":
            return (f"the authors' released models, separated and scored by mixlab ({P['scorer']} BSS Eval scorer), "
                    f"data={P['dataset']}, {P['sample_rate']} Hz")
        if target == "training":
            return f"scale={P['scale']}, data={P['dataset']}: training loss per logged step (dashed: validation loss)"
        raise KeyError(f"no caption for {target!r}")

    # ---- what a figure or table job makes: `mixlab figure --spec` (registries: papers/<paper>/figures.py)

    def figure_job(self, name: str, res: str) -> dict:
        """The spec of one figure or table of either paper, with its caption and the files it reads under
        "inputs"; `name` is the output's name in the run folder (fig1, table1, effects_a, mixit/table2,
        mixit/released/table1, training)."""
        target = {"mixit/effects": "effects_b"}.get(name)
        if target is None:
            target = "released" if name.startswith("mixit/released/") else "mixit" if name.startswith("mixit/") else name
        return {**self._figure(name, res), "caption": self.caption(target)}

    def _figure(self, name: str, res: str) -> dict:
        P = self.P
        scores = f"{res}/scores/test"
        if name == "fig1":
            models = self.fig1_models
            return {"figure": "random_mixing.fig1", "p": [p for p, _, _ in models], "seeds": [s for _, s, _ in models],
                    "inputs": {"tables": [f"{scores}/fig1/{m}.csv" for _, _, m in models]}}
        if name == "fig2":
            return {"figure": "random_mixing.fig2", "p": [float(p) for p in self.fig2_p],
                    "inputs": {"curves": [f"{res}/curves/fig2/p{p}.csv" for p in self.fig2_p]}}
        if name == "fig3":
            models = self.models.get("fig3", [])
            return {"figure": "random_mixing.fig3", "models": models,
                    "examples": P["train"]["steps"] * P["train"]["batch_size"], "songs": len(self.tracks["train"]),
                    "inputs": {"tables": [f"{scores}/fig3/{m}.csv" for m in models]}}
        if name == "fig4":
            rows = self.fig4_rows()
            return {"figure": "random_mixing.fig4", "rows": [labels for labels, _, _ in rows],
                    "inputs": {"tables": [f"{res}/scores/{ts}/fig1/{m}.csv" for _, ts, m in rows]}}
        if name == "fig5":
            rows = self.fig5_rows()
            return {"figure": "random_mixing.fig5", "rows": [labels for labels, _, _ in rows],
                    "inputs": {"tables": [f"{scores}/{exp}/{m}.csv" for _, exp, m in rows]}}
        if name == "table1":
            models = self.models["table1"]
            return {"figure": "random_mixing.table1", "models": models,
                    "inputs": {"tables": [f"{scores}/table1/{m}.csv" for m in models]}}
        if name == "effects_a":
            return {"figure": "random_mixing.claims",
                    "inputs": {k: f"{res}/{k}.csv" for k in ("fig1", "fig2", "fig3", "fig4", "fig5", "table1")}}
        if name in ("mixit/table1", "mixit/table2", "mixit/table3"):
            seeds = self.mixit_seeds()
            return {"figure": "mixit.table", "rows": [labels for labels, _ in self.mixit_rows()[name[6:]]],
                    "seeds": seeds if len(seeds) > 1 else None,
                    "inputs": self.mixit_table_scores(name[6:], res)}
        if name == "mixit/effects":
            return {"figure": "mixit.claims", "inputs": {k: f"{res}/mixit/{k}.csv" for k in ("table1", "table2", "table3")}}
        if name in ("mixit/released/table1", "mixit/released/table3"):
            rows = self.mixit_rows()[name[-6:]]
            return {"figure": "mixit.released", "rows": [labels for labels, _ in rows], "models": [m for _, m in rows],
                    "published": P["paper_b_published"],
                    "inputs": {"csdr": [f"{scores}/released/{m}.csv" for _, m in rows],
                               "usdr": [f"{res}/usdr/test/released/{m}.csv" for _, m in rows]}}
        if name == "training":
            histories = self.histories(res)
            return {"figure": "training", "labels": list(histories), "inputs": {"histories": list(histories.values())}}
        raise KeyError(f"no figure or table {name!r}")

    def crosscheck_pairs(self, exp: str, n: int) -> list[tuple[str, str]]:
        """A seeded sample of n (model, test track) pairs of an experiment that museval rescores."""
        pairs = [(m, t) for m in self.models[exp] for t in self.tracks["test"]]
        return random.Random(0).sample(pairs, min(n, len(pairs)))

    def trained(self) -> list[tuple[str, str]]:
        """(experiment, model) of every Paper A model the figures and the table train, each once."""
        runs = [("fig1", m) for _, _, m in self.fig1_models] + [("fig3", m) for m in self.models.get("fig3", [])]
        runs += [(exp, m) for _, exp, m in self.fig5_rows()] + [("table1", m) for m in self.models.get("table1", [])]
        return list(dict.fromkeys(runs))

    def histories(self, res: str) -> dict[str, str]:
        """label -> history CSV of every model the final targets train, both papers."""
        out = {f"{e}/{m}": f"{res}/models/{e}/{m}.history.csv" for e, m in self.trained()}
        if self.P.get("mixit_pretrained", "train") == "train":      # released ones come without a history
            out.update({f"mixit-pretrained/{m}": f"{res}/mixit/pretrained/{m}.history.csv"
                        for m in _mx.pretrained_models(self.P["mixit"])})
        out.update({f"mixit/{m}": f"{res}/models/mixit/{m}.history.csv" for m in self.models["mixit"]})
        return out


def plan(P: dict, tracks: dict) -> Plan:
    return Plan(P, tracks)
