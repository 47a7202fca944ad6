"""Training pipeline: one template, instantiated once per model under a Kedro namespace.

Namespace `<ns>` reads the shared `graphs_train` / `graphs_val` and the shared parameter groups
`training`, `trainer`, `model_scales`, plus its own block `params:<ns>` (kind, scale,
overrides); it writes `<ns>.model`, `<ns>.training_history` and `<ns>.learning_curves`
(catalog factories in `catalog_training.yml`).
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline, pipeline

from .nodes import plot_learning_curves, train_model

JOBS = ("gat_teacher", "gat_student", "vgae_teacher", "vgae_student")
SHARED_INPUTS = {"graphs_train", "graphs_val"}
SHARED_PARAMS = ("training", "trainer", "model_scales")


TRAIN = Node(
    train_model,
    inputs=[
        "graphs_train",
        "graphs_val",
        "params:job",
        *(f"params:{p}" for p in SHARED_PARAMS),
    ],
    outputs=["model", "training_history"],
    name="train_model",
)


def template(fit: Node = TRAIN) -> Pipeline:
    """Fit one model with `fit` (writing `model`, `training_history`) and plot its learning
    curves; names are relative to the namespace. Distillation passes its own `fit` node."""
    return Pipeline(
        [
            fit,
            Node(
                plot_learning_curves,
                inputs=["training_history", "params:job"],
                outputs="learning_curves",
                name="plot_learning_curves",
            ),
        ]
    )


def training_pipeline(namespace: str) -> Pipeline:
    """The template under `namespace`, reading its job block `params:<namespace>`."""
    return pipeline(
        template(),
        namespace=namespace,
        inputs=SHARED_INPUTS,
        parameters={"params:job": f"params:{namespace}"}
        | {f"params:{p}": f"params:{p}" for p in SHARED_PARAMS},
        tags=["training", namespace],
    )


def create_pipeline(**kwargs) -> Pipeline:
    return sum((training_pipeline(ns) for ns in JOBS), Pipeline([]))
