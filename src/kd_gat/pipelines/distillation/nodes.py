"""Distillation nodes: the training of a student with a frozen teacher and a distillation loss."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from torch import nn
from torch_geometric.data import Data

from kd_gat.roster import Detector
from kd_gat.training.fit import train_detector


def distill_model(
    graphs_train: Sequence[Data],
    graphs_val: Sequence[Data],
    teacher: nn.Module,
    training: dict[str, Any],
    trainer: dict[str, Any],
    model_scales: dict[str, Any],
    detector_overrides: dict[str, Any],
    distillation: dict[str, Any],
    *,
    detector: Detector,
) -> tuple[nn.Module, pd.DataFrame]:
    """Train the student `detector` (bound per namespace) from `teacher`.

    GAT: α·T²·KL(teacher‖student) + (1−α)·CE; VGAE: (1−α)·task + α·(latent + reconstruction
    matching); α and T from `distillation.<kind>`.
    """
    return train_detector(
        detector,
        graphs_train,
        graphs_val,
        training,
        trainer,
        model_scales,
        detector_overrides,
        teacher=teacher,
        distillation=distillation,
    )
