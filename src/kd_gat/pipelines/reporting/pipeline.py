"""Reporting pipeline: leaderboard, plots and MLflow metrics from the evaluation outputs."""

from kedro.pipeline import Node, Pipeline

from kd_gat import roster
from kd_gat.reporting import learning_curves_figure

from .nodes import build_leaderboard, mlflow_metrics, plot_confusion, plot_curves, plot_timelines


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                build_leaderboard,
                inputs=[
                    "metrics",
                    "model_sizes",
                    "params:dataset",
                    "params:inference",
                    "deployment_choice",
                ],
                outputs=["leaderboard", "leaderboard_md", "leaderboard_html", "size_vs_mcc_plot"],
                name="build_leaderboard",
            ),
            Node(
                plot_curves,
                inputs="window_scores",
                outputs=[
                    "roc_curves",
                    "pr_curves",
                    "roc_curves_interactive",
                    "pr_curves_interactive",
                ],
                name="plot_curves",
            ),
            Node(
                plot_timelines,
                inputs=["window_scores", "params:inference", "deployment_choice"],
                outputs=["score_timelines", "score_timelines_interactive"],
                name="plot_timelines",
            ),
            Node(
                plot_confusion,
                inputs="metrics",
                outputs="confusion_matrices",
                name="plot_confusion",
            ),
            Node(
                learning_curves_figure,
                inputs={d: f"{d}.training_history" for d in roster.detector_names()},
                outputs="learning_curves",
                name="plot_all_learning_curves",
            ),
            Node(mlflow_metrics, inputs="metrics", outputs="mlflow_metrics", name="mlflow_metrics"),
        ],
        tags=["reporting"],
    )
