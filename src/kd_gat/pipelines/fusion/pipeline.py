"""Fusion pipeline: per fusion pair of the roster, a namespace `<name>` that fits every fusion
method on the pair's validation outputs and scores validation and test windows."""

from kedro.pipeline import Node, Pipeline

from kd_gat import roster
from kd_gat.pipelines.templates import bind

from .nodes import fit_fusion

PARAMS = ["params:fusion", "params:evaluation"]


def create_pipeline(**kwargs) -> Pipeline:
    return sum(
        (
            Pipeline(
                [
                    Node(
                        bind(fit_fusion, pair=f),
                        inputs=["vgae_outputs", "gat_outputs", *PARAMS],
                        outputs=["window_scores", "summary", "model"],
                        name=f"fit_{f.name}",
                    )
                ],
                namespace=f.name,
                inputs={
                    "vgae_outputs": f"{f.vgae}.window_outputs",
                    "gat_outputs": f"{f.gat}.window_outputs",
                },
                parameters=set(PARAMS),
                tags=[f.name],
            )
            for f in roster.FUSIONS
        ),
        Pipeline([]),
    )
