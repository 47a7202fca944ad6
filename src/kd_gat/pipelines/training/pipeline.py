"""Training pipeline: per detector of the roster trained alone, a namespace `<name>` that fits it
on `graphs_train` / `graphs_val` and writes `<name>.model`, `.training_history`, `.learning_curves`
(catalog factories in `catalog_training.yml`)."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from kd_gat import roster
from kd_gat.pipelines import bind, detector_pipeline

from .nodes import train_model

INPUTS = ["graphs_train", "graphs_val"]
PARAMS = ["params:training", "params:trainer", "params:model_scales", "params:detector_overrides"]


def create_pipeline(**kwargs) -> Pipeline:
    return sum(
        (
            detector_pipeline(
                d,
                Node(
                    bind(train_model, detector=d),
                    inputs=[*INPUTS, *PARAMS],
                    outputs=["model", "training_history"],
                    name="train_model",
                ),
                inputs={name: name for name in INPUTS},
            )
            for d in roster.trained()
        ),
        Pipeline([]),
    )
