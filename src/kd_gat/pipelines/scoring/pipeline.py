"""Scoring pipeline: per detector of the roster, a namespace `<name>` that scores every window of
train, val and each test scenario with `<name>.model` into `<name>.window_outputs`, and every
node of val and test into `<name>.node_outputs`."""

from kedro.pipeline import Node, Pipeline

from kd_gat import roster
from kd_gat.pipelines.templates import bind

from .nodes import score_nodes, score_windows

STORES = ["graphs_train", "graphs_val", "graphs_test"]


def create_pipeline(**kwargs) -> Pipeline:
    return sum(
        (
            Pipeline(
                [
                    Node(
                        bind(score_windows, detector=d),
                        inputs=["model", *STORES, "params:scoring"],
                        outputs="window_outputs",
                        name=f"score_{d.name}_windows",
                    ),
                    Node(
                        bind(score_nodes, detector=d),
                        inputs=["model", "graphs_val", "graphs_test", "params:scoring"],
                        outputs="node_outputs",
                        name=f"score_{d.name}_nodes",
                    ),
                ],
                namespace=d.name,
                inputs=set(STORES),
                parameters={"params:scoring"},
                tags=[d.name],
            )
            for d in roster.DETECTORS
        ),
        Pipeline([]),
    )
