"""Paper B's grid: which models Tables 1-3 need, their ids (file names) and run specs.

Ids: pre-trained models `{size}_{subset}` (MixIT on that FMA subset); fine-tuned
models `{size}_{init}_{mode}` with init `scratch` or `fma-{subset}` and mode
`full` (all weights train) or `frozen` (separator frozen, Table 2). A model
several tables share (e.g. medium_fma-large_full in Tables 1 and 3) is trained once.
With several fine-tuning seeds (`mixit.seeds`), the first seed's model keeps the plain id
and the others add `_s{seed}`; a table row is then the mean over its seeds' models.
No torch import: the workflow reads this at parse time.
"""
from __future__ import annotations

SIZES = ("small", "medium", "large")


def model_id(size: str, subset: str | None, mode: str, seed: int | None = None) -> str:
    """seed: None for the first fine-tuning seed (the plain id), else that seed."""
    return f"{size}_{'scratch' if subset is None else 'fma-' + subset}_{mode}" + ("" if seed is None else f"_s{seed}")


def parse_model_id(mid: str) -> dict:
    size, init, mode, *seed = mid.split("_")
    return {"size": size, "subset": None if init == "scratch" else init.removeprefix("fma-"), "mode": mode,
            "seed": int(seed[0].removeprefix("s")) if seed else None}


def seeds(M: dict) -> list[int]:
    """The fine-tuning seeds each table row is trained with (default: the one of `mixit.finetune.seed`)."""
    return list(M.get("seeds") or [M["finetune"]["seed"]])


def seeded_ids(M: dict, mid: str) -> list[str]:
    """The model ids of one table row, one per fine-tuning seed (the first is `mid` itself)."""
    p = parse_model_id(mid)
    return [mid] + [model_id(p["size"], p["subset"], p["mode"], s) for s in seeds(M)[1:]]


def table_rows(M: dict) -> dict[str, list[tuple[dict, str]]]:
    """Per table: (label columns, model id) per row, in the paper's order."""
    t1 = []
    for size in M["table1"]["sizes"]:
        letter = size[0].upper()
        for k, subset in ((1, None), (2, M["table1"]["subset"])):
            t1.append(({"ID": f"{letter}{k}", "Model": f"BS-Locoformer ({size.capitalize()})",
                        "Pretrain": "-" if subset is None else "MixIT"}, model_id(size, subset, "full")))
    t2 = [({"Model size": size.capitalize(), "Pretrain": "-" if subset is None else "MixIT"},
           model_id(size, subset, "frozen"))
          for size in M["table2"]["sizes"] for subset in (None, M["table2"]["subset"])]
    size3 = M["table3"]["size"]
    t3 = [({"Data scale": "-" if subset is None else subset.capitalize()}, model_id(size3, subset, "full"))
          for subset in [None, *M["table3"]["subsets"]]]
    return {"table1": t1, "table2": t2, "table3": t3}


def finetuned_models(M: dict) -> list[str]:
    seen = []
    for rows in table_rows(M).values():
        for _, mid in rows:
            for m in seeded_ids(M, mid):
                if m not in seen:
                    seen.append(m)
    return seen


def pretrained_models(M: dict) -> list[str]:
    out = []
    for mid in finetuned_models(M):
        p = parse_model_id(mid)
        if p["subset"] is not None and f"{p['size']}_{p['subset']}" not in out:
            out.append(f"{p['size']}_{p['subset']}")
    return out


def _model(M: dict, sample_rate: int, size: str, n_outputs: int) -> dict:
    if size not in M["sizes"]:
        raise ValueError(f"mixit.sizes has no '{size}'")
    return {**M["model"], **M["sizes"][size], "sample_rate": sample_rate, "n_outputs": n_outputs}


def pretrain_spec(M: dict, sample_rate: int, size: str) -> dict:
    return {"recipe": "mixit.pretrain", "model": _model(M, sample_rate, size, M["n_outputs"]),
            "train": {**M["pretrain"], "lr": M["lr"][size]}}


def finetune_spec(M: dict, sample_rate: int, mid: str) -> dict:
    p = parse_model_id(mid)
    seed = seeds(M)[0] if p["seed"] is None else p["seed"]
    train = {**M["finetune"], "lr": M["lr"][p["size"]], "seed": seed}
    if p["mode"] == "frozen":
        train.update(steps=M["frozen_steps"], freeze_separator=True)
    return {"recipe": "mixit.finetune", "model": _model(M, sample_rate, p["size"], 4), "train": train}


def caption(P: dict) -> str:
    """The line under Paper B's tables: the scale, both corpora, the sizes and the training budgets."""
    M = P["mixit"]
    if M["fma"] == "fma":
        fma = "real FMA"
    else:                                                       # what Plan.job_spec("fma-synth") builds
        fma = {"rendered": "rendered full mixes (MP3, FMA layout)",
               "soundtracks": "clips of recorded game soundtracks (MP3, FMA layout)",
               "synthetic": "synthetic FMA-like MP3 corpus"}[
            M["fma"].get("source", "rendered" if P.get("dataset") == "rendered" else "synthetic")]
    sizes = ", ".join(f"{k}: B{v['n_blocks']} D{v['emb_dim']}" for k, v in M["sizes"].items())
    n = len(seeds(M))
    runs = (f"mean of {n} fine-tuning seeds ({', '.join(map(str, seeds(M)))}; one pre-training per size and "
            "FMA subset), ") if n > 1 else ""
    return (f"scale={P['scale']}, {P['sample_rate']} Hz, {runs}fine-tuning data={P['dataset']}, pre-training data={fma}, "
            f"BS-Locoformer sizes {sizes}, "
            f"N={M['n_outputs']}, pre-training {M['pretrain']['steps']} steps x batch {M['pretrain']['batch_size']}, "
            f"fine-tuning {M['finetune']['steps']} (frozen: {M['frozen_steps']}) steps x batch "
            f"{M['finetune']['batch_size']}; cSDR = museval median of medians, uSDR = mean song-level SNR")
