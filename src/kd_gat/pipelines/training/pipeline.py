"""Training pipeline: per detector of the roster trained alone, a namespace `<name>` that fits it
on `graphs_train` / `graphs_val` and writes `<name>.model`, `.training_history`, `.learning_curves`
(catalog factories in `catalog_training.yml`)."""

from __future__ import annotations

from kedro.pipeline import Pipeline

from kd_gat import roster
from kd_gat.pipelines.templates import detector_pipeline


def create_pipeline(**kwargs) -> Pipeline:
    return sum((detector_pipeline(d) for d in roster.trained()), Pipeline([]))
