"""Scoring pipeline: the template `score_windows`, once per trained model namespace."""

from kedro.pipeline import Node, Pipeline, pipeline

from kd_gat.pipelines.distillation.pipeline import JOBS as DISTILLED
from kd_gat.pipelines.training.pipeline import JOBS as TRAINED

from .nodes import score_windows

# every detector variant: trained alone (training pipeline) and distilled (distillation pipeline)
MODELS = (*TRAINED, *DISTILLED)


def create_pipeline(**kwargs) -> Pipeline:
    template = Pipeline(
        [
            Node(
                score_windows,
                inputs=[
                    "model",
                    "graphs_train",
                    "graphs_val",
                    "graphs_test",
                    "params:job",
                    "params:scoring",
                ],
                outputs="window_outputs",
                name="score_windows",
            )
        ]
    )
    return sum(
        (
            pipeline(
                template,
                namespace=ns,
                inputs={"graphs_train", "graphs_val", "graphs_test"},
                parameters={"params:job": f"params:{ns}", "params:scoring": "params:scoring"},
                tags=["scoring", ns],
            )
            for ns in MODELS
        ),
        Pipeline([]),
    )
