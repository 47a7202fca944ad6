"""Evaluation pipeline: every detector and fusion method of the roster on every test scenario."""

from kedro.pipeline import Node, Pipeline

from kd_gat import roster

from .nodes import collect_window_scores, evaluate, model_sizes


def create_pipeline(**kwargs) -> Pipeline:
    detectors, fusions = roster.detector_names(), roster.fusion_names()
    return Pipeline(
        [
            Node(
                collect_window_scores,
                inputs={
                    "params": "params:evaluation",
                    **{d: f"{d}.window_outputs" for d in detectors},
                    **{f: f"{f}.window_scores" for f in fusions},
                },
                outputs="window_scores",
                name="collect_window_scores",
            ),
            Node(evaluate, inputs="window_scores", outputs="metrics", name="evaluate"),
            Node(
                model_sizes,
                inputs={
                    "graphs_val": "graphs_val",
                    "params": "params:evaluation",
                    **{d: f"{d}.model" for d in detectors},
                },
                outputs="model_sizes",
                name="model_sizes",
            ),
        ],
        tags=["evaluation"],
    )
