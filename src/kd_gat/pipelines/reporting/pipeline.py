"""Reporting pipeline: leaderboard, plots and MLflow metrics from the evaluation outputs."""

from kedro.pipeline import Node, Pipeline, pipeline

from kd_gat.pipelines.distillation.pipeline import JOBS as DISTILLED
from kd_gat.pipelines.training.pipeline import JOBS as TRAINED

from .nodes import (
    build_leaderboard,
    mlflow_metrics,
    plot_confusion,
    plot_curves,
    plot_learning_curves,
)

HISTORIES = {ns: f"{ns}.training_history" for ns in (*TRAINED, *DISTILLED)}


def create_pipeline(**kwargs) -> Pipeline:
    nodes = Pipeline(
        [
            Node(
                build_leaderboard,
                inputs=["metrics", "model_sizes"],
                outputs=["leaderboard", "leaderboard_md", "leaderboard_html", "size_vs_f1_plot"],
                name="build_leaderboard",
            ),
            Node(
                plot_curves,
                inputs="window_scores",
                outputs=["roc_curves", "pr_curves"],
                name="plot_curves",
            ),
            Node(
                plot_confusion,
                inputs="metrics",
                outputs="confusion_matrices",
                name="plot_confusion",
            ),
            Node(
                plot_learning_curves,
                inputs={ns: f"{ns}_history" for ns in HISTORIES},
                outputs="learning_curves",
                name="plot_all_learning_curves",
            ),
            Node(mlflow_metrics, inputs="metrics", outputs="mlflow_metrics", name="mlflow_metrics"),
        ],
        tags=["reporting"],
    )
    return pipeline(nodes, inputs={f"{ns}_history": name for ns, name in HISTORIES.items()})
