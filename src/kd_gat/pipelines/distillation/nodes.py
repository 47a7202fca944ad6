"""Distillation nodes: the training node with a frozen teacher and a distillation loss."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from torch import nn
from torch_geometric.data import Data

from kd_gat.pipelines.training.nodes import train_model


def distill_model(
    graphs_train: Sequence[Data],
    graphs_val: Sequence[Data],
    teacher: nn.Module,
    job: dict[str, Any],
    training: dict[str, Any],
    trainer: dict[str, Any],
    model_scales: dict[str, Any],
    distillation: dict[str, Any],
) -> tuple[nn.Module, pd.DataFrame]:
    """Train the student of `job` from `teacher` (loaded from the training pipeline's artifact).

    GAT: α·T²·KL(teacher‖student) + (1−α)·CE; VGAE: (1−α)·task + α·(latent + reconstruction
    matching); α and T from `distillation.<kind>`.
    """
    return train_model(
        graphs_train,
        graphs_val,
        job,
        training,
        trainer,
        model_scales,
        teacher=teacher,
        distillation=distillation,
    )
