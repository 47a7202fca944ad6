"""Plain torch.nn models of window graphs (no Kedro, no Lightning), and their registry by kind.

Every model carries `kind` and `config` (its constructor arguments), which is all the model file
format (`kd_gat.models.model_file`) needs to rebuild it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from kd_gat.fusion.policy import FusionPolicy
from kd_gat.models.gat import GATClassifier
from kd_gat.models.layers import count_parameters
from kd_gat.models.vgae import GraphVGAE, VGAEOutput

MODELS: dict[str, type[nn.Module]] = {
    "gat": GATClassifier,
    "vgae": GraphVGAE,
    "fusion": FusionPolicy,
}


def model_from_config(kind: str, config: Mapping[str, Any]) -> nn.Module:
    """Rebuild a model from its kind and its full `config` (as stored in `model.config`)."""
    if kind not in MODELS:
        raise ValueError(f"unknown model kind {kind!r}; expected one of {sorted(MODELS)}")
    return MODELS[kind](**config)


def build_model(
    kind: str, config: Mapping[str, Any], num_ids: int, node_dim: int, edge_dim: int
) -> nn.Module:
    """Build a model from its hyper-parameters and the data's sizes."""
    return model_from_config(
        kind, {**config, "num_ids": num_ids, "node_dim": node_dim, "edge_dim": edge_dim}
    )


__all__ = [
    "MODELS",
    "FusionPolicy",
    "GATClassifier",
    "GraphVGAE",
    "VGAEOutput",
    "build_model",
    "count_parameters",
    "model_from_config",
]
