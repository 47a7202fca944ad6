"""Project pipelines: every package under `kd_gat.pipelines` is found by name.

Each stage is wrapped in a Kedro namespace named after it (`prefix_datasets_with_namespace=False`:
the nodes group, the datasets keep their catalog names), so kedro-viz shows the story as
collapsible groups — ingestion → profiles → graphs → training → distillation → scoring →
calibration → fusion → evaluation → reporting.
"""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

from kd_gat.log_filters import quiet_dependency_warnings

# the default run, in the order of the story it tells; then the stages run on demand
STAGES = (
    "ingestion",
    "profiles",
    "graphs",
    "training",
    "distillation",
    "scoring",
    "calibration",
    "fusion",
    "evaluation",
    "reporting",
)
ON_DEMAND = ("inference", "export")

# Stages read each other's namespaced artifacts on purpose (`gat_teacher.model` is the training
# namespace's output that distillation and scoring consume), which Kedro warns about.
quiet_dependency_warnings()


def register_pipelines() -> dict[str, Pipeline]:
    """Register each stage by its package name.

    `__default__` runs ingestion through reporting; `inference` (scoring new captures with the
    trained models) runs on demand.
    """
    # Kedro loads only the packages a `--pipeline` run asks for; `__default__` is rebuilt below
    found = find_pipelines(raise_errors=True)
    found.pop("__default__", None)
    pipelines = {
        name: Pipeline(stage, namespace=name, prefix_datasets_with_namespace=False)
        for name, stage in found.items()
    }
    if set(STAGES) <= set(pipelines):
        pipelines["__default__"] = sum((pipelines[name] for name in STAGES), Pipeline([]))
    return pipelines
