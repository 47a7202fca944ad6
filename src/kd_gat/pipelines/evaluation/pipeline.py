"""Evaluation pipeline: all detectors and fusion methods on every test scenario."""

from kedro.pipeline import Node, Pipeline

from kd_gat.pipelines.fusion.pipeline import PAIRS
from kd_gat.pipelines.scoring.pipeline import MODELS

from .nodes import collect_window_scores, evaluate, model_sizes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                collect_window_scores,
                inputs=[
                    "params:evaluation",
                    *(f"{m}.window_outputs" for m in MODELS),
                    *(f"{f}.window_scores" for f in PAIRS),
                ],
                outputs="window_scores",
                name="collect_window_scores",
            ),
            Node(evaluate, inputs="window_scores", outputs="metrics", name="evaluate"),
            Node(
                model_sizes,
                inputs={
                    "graphs_val": "graphs_val",
                    "params": "params:evaluation",
                    **{m: f"{m}.model" for m in MODELS},
                },
                outputs="model_sizes",
                name="model_sizes",
            ),
        ],
        tags=["evaluation"],
    )
