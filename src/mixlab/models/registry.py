"""Model registry: a run spec's `model.name` picks the architecture."""
from __future__ import annotations

from mixlab.models.bs_locoformer import BSLocoformer, BSLocoformerConfig
from mixlab.models.tfc_tdf_v3 import TFCTDFConfig, TFCTDFNet

MODELS = {"tfc_tdf_v3": (TFCTDFConfig, TFCTDFNet), "bs_locoformer": (BSLocoformerConfig, BSLocoformer)}


def build_model(model_spec: dict):
    name = model_spec.get("name")
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {sorted(MODELS)}")
    cfg_cls, net_cls = MODELS[name]
    return net_cls(cfg_cls.from_dict(model_spec))


def model_chunk(model_spec: dict) -> int:
    """Samples per training chunk the architecture expects."""
    name = model_spec.get("name")
    return MODELS[name][0].from_dict(model_spec).chunk_size
