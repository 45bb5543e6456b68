"""Paper B with the authors' released models: which folder is which mixlab model, and the tables that
set mixlab's scores of them beside the paper's published numbers.

The authors' `model_weights/download_pretrained_weights.py` (b-sigpro/mixit-mss, hub kohei0209/mixit_mss)
writes `<root>/sup/<name>/` (fine-tuned models) and `<root>/mixit/<name>/` (MixIT pre-trained models),
each `checkpoints/model.pth` + `merged_config.yaml`. `released_root` in the config is that `<root>`.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from mixlab.papers.mixit.experiments import parse_model_id
from mixlab.papers.mixit.tables import TABLE_STEMS, scores_row

DOWNLOAD = ("python model_weights/download_pretrained_weights.py (in a clone of github.com/b-sigpro/mixit-mss; "
            "needs huggingface_hub and internet), then --config released_root=<that clone>/model_weights")


def released_folder(root: str | Path, model: str) -> Path:
    """The released folder of a mixlab model id: a fine-tuned `{size}_{scratch|fma-<subset>}_full` or a
    MixIT pre-trained `{size}_{subset}` (12 outputs)."""
    parts = model.split("_")
    if len(parts) == 2:                                     # pre-trained {size}_{subset}
        size, subset = parts
        return Path(root) / "mixit" / f"mixit.fma-{subset}.bslocoformer-{size}.12outputs"
    p = parse_model_id(model)
    if p["mode"] != "full":
        raise ValueError(f"{model}: the authors released no model with a frozen separator (Table 2)")
    name = f"sup.musdb18hq.bslocoformer-{p['size']}"
    if p["subset"] is not None:
        name += f".mixit-fma-{p['subset']}-pretrained"
    return Path(root) / "sup" / name


def missing(root: str | Path, models: list[str]) -> list[str]:
    """The released folders of `models` that are not there in full (checkpoints/ and merged_config.yaml)."""
    out = []
    for m in models:
        folder = released_folder(root, m)
        ckpts = folder / "checkpoints"
        if not ((folder / "merged_config.yaml").is_file() and ckpts.is_dir()
                and any(p.suffix in (".pth", ".ckpt", ".pt") for p in ckpts.iterdir())):
            out.append(str(folder))
    return out


def compare_table(labels: list[dict], models: list[str], csdr: list, usdr: list, published: dict) -> pd.DataFrame:
    """Per row: the labels, mixlab's cSDR/uSDR of the released model, the paper's and the difference."""
    rows = []
    for lab, model, c, u in zip(labels, models, csdr, usdr):
        ours = scores_row(c, u)
        if model not in published:
            raise ValueError(f"no published numbers for {model} (config paper_b_published)")
        row = {**lab, "model": model}
        for group in (*TABLE_STEMS, "average"):
            for i, metric in enumerate(("cSDR", "uSDR")):
                key = f"{group}_{metric}"
                paper = float(published[model][group][i])
                row[key] = ours[key]
                row[f"{key}_paper"] = paper
                row[f"{key}_diff"] = ours[key] - paper
        rows.append(row)
    return pd.DataFrame(rows)


def write_compare(table: pd.DataFrame, label_cols: list[str], stem: str | Path, caption: str = "") -> list[Path]:
    """Markdown (each cell: mixlab / paper (difference)) and CSV (the three numbers in columns)."""
    groups = (*TABLE_STEMS, "average")
    heads = [f"{g.capitalize()} {m}" for g in groups for m in ("cSDR", "uSDR")]
    md = ["| " + " | ".join(label_cols + heads) + " |", "|---" * (len(label_cols) + len(heads)) + "|"]
    for _, r in table.iterrows():
        cells = [f"{r[f'{g}_{m}']:.2f} / {r[f'{g}_{m}_paper']:.2f} ({r[f'{g}_{m}_diff']:+.2f})"
                 for g in groups for m in ("cSDR", "uSDR")]
        md.append("| " + " | ".join([str(r[c]) for c in label_cols] + cells) + " |")
    md += ["", "Each cell: mixlab's score of the authors' released model / the paper's published score "
               "(difference, dB)."] + ([caption] if caption else [])
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".md"), stem.with_suffix(".csv")]
    paths[0].write_text("\n".join(md) + "\n")
    table.round(4).to_csv(paths[1], index=False)
    return paths
