"""Reporting nodes: tables and figures from `metrics`, `model_sizes` and `window_scores`.

Figures are returned, not written: the catalog writes them (`FigureDataset`: PNG and SVG; the
plotly ones with `plotly.JSONDataset`). A dict of figures is a folder, a file per key.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from matplotlib.figure import Figure

from kd_gat import deployment, reporting
from kd_gat.operating_points import PROFILE
from kd_gat.params.inference import InferenceParams

_MLFLOW_UNSAFE = re.compile(r"[^A-Za-z0-9_\-./ ]")
MLFLOW_METRICS = ("f1", "auroc", "auprc", "precision", "recall", "mcc", "dr_at_fpr_1pct")


CAPTION = (
    "Dataset {dataset}: {scenarios} test scenarios. Ranked by mean MCC over them (a detector "
    "that flags every window, or none, scores 0); the best F1 of each scenario and operating "
    "point in bold. Thresholds, never from a test label: `validation`, each model's own on the "
    "training car's validation windows; `profile`, the threshold for the false-alarm budget on "
    "the attack-free recording of the car each capture matched, the validation one before the "
    "match and for unmatched captures (`calibrated_share`). Deployed by inference and the "
    "export: {deployed}."
)


def build_leaderboard(
    metrics: pd.DataFrame,
    model_sizes: pd.DataFrame,
    dataset: str,
    inference: dict[str, Any],
    choice: dict[str, Any],
) -> tuple[pd.DataFrame, str, str, Figure]:
    """Leaderboard table, its Markdown and HTML renderings (with a caption: dataset, ranking,
    how the thresholds were chosen), and the plot of size against the ranking metric (MCC),
    fusion methods at the sum of their pair's sizes (`kd_gat.reporting.size_vs_metric_figure`)."""
    board = reporting.leaderboard(metrics, model_sizes)
    caption = CAPTION.format(
        dataset=dataset,
        scenarios=metrics["scenario"].nunique(),
        deployed=deployed_sentence(InferenceParams.model_validate(inference).detector, choice),
    )
    return (
        board,
        reporting.leaderboard_markdown(board, caption=caption),
        reporting.leaderboard_html(board, caption=caption),
        reporting.size_vs_metric_figure(board, reporting.FUSION_MEMBERS),
    )


def plot_curves(
    window_scores: pd.DataFrame,
) -> tuple[dict[str, Figure], dict[str, Figure], go.Figure, go.Figure]:
    """ROC and precision-recall curves, a figure per test scenario (keyed by it), and each as
    one interactive plotly figure with a menu of the scenarios."""
    return (
        reporting.curve_figures(window_scores, "roc"),
        reporting.curve_figures(window_scores, "pr"),
        reporting.curve_plotly(window_scores, "roc"),
        reporting.curve_plotly(window_scores, "pr"),
    )


def plot_confusion(metrics: pd.DataFrame) -> dict[str, Figure]:
    """Confusion matrices of every model and scenario, a figure per operating point."""
    return reporting.confusion_figures(metrics)


def mlflow_metrics(metrics: pd.DataFrame) -> dict[str, dict[str, float]]:
    """`<model>/<operating point>/<scenario>/<metric>` values for kedro-mlflow's metrics
    dataset."""
    out = {}
    for row in metrics.itertuples(index=False):
        for name in MLFLOW_METRICS:
            key = f"{row.model}/{row.operating_point}/{row.scenario}/{name}"
            key = _MLFLOW_UNSAFE.sub("_", key)
            value = getattr(row, name)
            if value == value:  # NaN (one-class scenario) is not logged
                out[key] = {"value": float(value), "step": 0}
    return out


def deployed_sentence(detector: str, choice: dict[str, Any]) -> str:
    """Which detector is deployed and why, for the leaderboard's caption."""
    if detector == deployment.VALIDATED:
        if choice["detector"] is None:
            return f"none: {choice['why']} (name one with inference.detector)"
        return f"{choice['detector']}, chosen by validation ({choice['rule']}): {choice['why']}"
    return (
        f"{detector}, named by inference.detector (validation would choose "
        f"{choice['detector']}: {choice['why']})"
    )


def plot_timelines(
    window_scores: pd.DataFrame, inference: dict[str, Any], choice: dict[str, Any]
) -> tuple[dict[str, Figure], go.Figure]:
    """Score timelines of the detector inference deploys, at the profile operating point: one
    figure per test scenario (`kd_gat.reporting.timeline_figures`), and all of them as one
    interactive plotly figure (`timeline_plotly`)."""
    detector = deployment.resolve(InferenceParams.model_validate(inference).detector, choice)
    return (
        reporting.timeline_figures(window_scores, detector, PROFILE),
        reporting.timeline_plotly(window_scores, detector, PROFILE),
    )
