"""Project pipelines: every package under `kd_gat.pipelines` is found by name.

Each is wrapped in a namespace named after its stage, so kedro-viz shows the story as
collapsible groups — ingestion → graphs → training → distillation → scoring → fusion →
evaluation → reporting — while every dataset and parameter keeps its catalog name.
"""

from __future__ import annotations

import warnings

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline, pipeline

ON_DEMAND = {"inference"}

# Stages read each other's namespaced artifacts on purpose (`gat_teacher.model` is the training
# namespace's output that distillation and scoring consume), which Kedro warns about.
warnings.filterwarnings("ignore", message="One or more dataset names contain '.'")


def stage(name: str, stage_pipeline: Pipeline) -> Pipeline:
    """`stage_pipeline` with its nodes grouped under namespace `name`, datasets unrenamed."""
    datasets = stage_pipeline.datasets()
    params = {d for d in datasets if d.startswith("params:") or d == "parameters"}
    return pipeline(
        stage_pipeline,
        namespace=name,
        inputs=stage_pipeline.inputs() - params,
        outputs=stage_pipeline.all_outputs(),
        parameters=params,
    )


def register_pipelines() -> dict[str, Pipeline]:
    """Register each stage by its package name.

    `__default__` runs ingestion through reporting; `inference` (scoring new captures with the
    trained models) runs on demand.
    """
    pipelines = {name: stage(name, p) for name, p in find_pipelines(raise_errors=True).items()}
    pipelines["__default__"] = sum(p for name, p in pipelines.items() if name not in ON_DEMAND)
    return pipelines
