"""Training nodes: graph stores + parameters → trained model (best epoch) + per-epoch history.

Kedro does all dataset I/O. The one exception is the fit's own checkpoint folder
(`<training.checkpoint_root>/<name>/`), which Lightning writes so that an interrupted run
resumes; per-epoch metrics also go to the active MLflow run when kedro-mlflow opened one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from torch import nn
from torch_geometric.data import Data

from kd_gat.roster import Detector
from kd_gat.training.fit import train_detector


def train_model(
    graphs_train: Sequence[Data],
    graphs_val: Sequence[Data],
    training: dict[str, Any],
    trainer: dict[str, Any],
    model_scales: dict[str, Any],
    detector_overrides: dict[str, Any],
    *,
    detector: Detector,
) -> tuple[nn.Module, pd.DataFrame]:
    """Train `detector` (a roster entry, bound per namespace): the model and its history."""
    return train_detector(
        detector, graphs_train, graphs_val, training, trainer, model_scales, detector_overrides
    )
