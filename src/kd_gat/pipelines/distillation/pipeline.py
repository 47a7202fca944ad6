"""Distillation pipeline: per distilled student of the roster, a namespace `<name>` that trains it
from its frozen teacher's `<teacher>.model` (saved by the training stage) and writes the same
artifacts as a training namespace."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from kd_gat import roster
from kd_gat.pipelines import bind, detector_pipeline

from .nodes import distill_model

INPUTS = ["graphs_train", "graphs_val"]
PARAMS = [
    "params:training",
    "params:trainer",
    "params:model_scales",
    "params:detector_overrides",
    "params:distillation",
]


def create_pipeline(**kwargs) -> Pipeline:
    return sum(
        (
            detector_pipeline(
                d,
                Node(
                    bind(distill_model, detector=d),
                    inputs=[*INPUTS, "teacher", *PARAMS],
                    outputs=["model", "training_history"],
                    name="distill_model",
                ),
                inputs={name: name for name in INPUTS} | {"teacher": f"{d.teacher}.model"},
            )
            for d in roster.distilled()
        ),
        Pipeline([]),
    )
