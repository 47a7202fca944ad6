"""Evaluation pipeline: all detectors and fusion methods on every test scenario."""

from kedro.pipeline import Node, Pipeline, pipeline

from kd_gat.pipelines.fusion.pipeline import PAIRS
from kd_gat.pipelines.scoring.pipeline import MODELS

from .nodes import collect_window_scores, evaluate, model_sizes

# local input name -> the namespaced dataset it reads
OUTPUTS = {f"{m}_window_outputs": f"{m}.window_outputs" for m in MODELS}
FUSED = {f"{f}_window_scores": f"{f}.window_scores" for f in PAIRS}
TRAINED = {f"{m}_model": f"{m}.model" for m in MODELS}


def create_pipeline(**kwargs) -> Pipeline:
    nodes = Pipeline(
        [
            Node(
                collect_window_scores,
                inputs=["params:evaluation", *OUTPUTS, *FUSED],
                outputs="window_scores",
                name="collect_window_scores",
            ),
            Node(evaluate, inputs="window_scores", outputs="metrics", name="evaluate"),
            Node(
                model_sizes,
                inputs={
                    "graphs_val": "graphs_val",
                    "params": "params:evaluation",
                    **{m: f"{m}_model" for m in MODELS},
                },
                outputs="model_sizes",
                name="model_sizes",
            ),
        ],
        tags=["evaluation"],
    )
    return pipeline(nodes, inputs=OUTPUTS | FUSED | TRAINED)
