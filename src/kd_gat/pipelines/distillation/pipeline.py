"""Distillation pipeline: per distilled student of the roster, a namespace `<name>` that trains it
from its frozen teacher's `<teacher>.model` (saved by the training stage) and writes the same
artifacts as a training namespace. Loss: α·T²·KL + (1−α)·CE (GAT); (1−α)·task + α·(latent +
reconstruction matching) (VGAE); α and T from `distillation.<kind>`."""

from __future__ import annotations

from kedro.pipeline import Pipeline

from kd_gat import roster
from kd_gat.pipelines.templates import detector_pipeline


def create_pipeline(**kwargs) -> Pipeline:
    return sum((detector_pipeline(d) for d in roster.distilled()), Pipeline([]))
