"""Pydantic models of the parameter groups: the one home of every default and bound.

`PARAMETER_MODELS` maps each group of `conf/*/parameters_*.yml` to its model; the project hook
validates every group before a run starts, and a test checks the YAML of each environment.
"""

from __future__ import annotations

from pydantic import BaseModel, RootModel

from kd_gat.params.distillation import DistillationParams
from kd_gat.params.evaluation import EvaluationParams
from kd_gat.params.export import ExportParams
from kd_gat.params.fusion import FusionParams
from kd_gat.params.graphs import GraphsParams
from kd_gat.params.inference import InferenceParams
from kd_gat.params.ingestion import IngestionParams
from kd_gat.params.profiles import ProfilesParams
from kd_gat.params.scoring import ScoringParams
from kd_gat.params.training import DetectorOverrides, ModelScales, TrainerParams, TrainingParams

PARAMETER_MODELS: dict[str, type[BaseModel] | type[RootModel]] = {
    "ingestion": IngestionParams,
    "graphs": GraphsParams,
    "trainer": TrainerParams,
    "training": TrainingParams,
    "model_scales": ModelScales,
    "detector_overrides": DetectorOverrides,
    "distillation": DistillationParams,
    "scoring": ScoringParams,
    "profiles": ProfilesParams,
    "fusion": FusionParams,
    "evaluation": EvaluationParams,
    "inference": InferenceParams,
    "export": ExportParams,
}
