"""Reporting nodes on metrics computed from hand-made window scores: the leaderboard ranks and
renders every model, the plots draw what the tables hold, MLflow gets every finite metric under
a safe name and no NaN."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from kd_gat.pipelines.evaluation.nodes import evaluate
from kd_gat.pipelines.reporting.nodes import (
    MLFLOW_METRICS,
    build_leaderboard,
    mlflow_metrics,
    plot_confusion,
    plot_curves,
)

# noise per model: lower is better; "pair+x.dqn:v2" has characters MLflow refuses
MODELS = {"good": 0.1, "fair": 0.4, "pair+x.dqn:v2": 0.25}
SCENARIOS = ("test_01_known", "test_05_suppress", "test_09_quiet")  # the last has no attack


@pytest.fixture(scope="module")
def window_scores() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    parts = []
    for model, noise in MODELS.items():
        for scenario in SCENARIOS:
            label = np.zeros(120, int) if scenario == "test_09_quiet" else rng.integers(0, 2, 120)
            parts.append(
                pd.DataFrame(
                    {
                        "model": model,
                        "scenario": scenario,
                        "window": np.arange(120),
                        "label": label,
                        "score": np.clip(label + rng.normal(0, noise, 120), 0, 1),
                        "threshold": 0.5,
                    }
                )
            )
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def metrics(window_scores) -> pd.DataFrame:
    return evaluate(window_scores)


SIZES = pd.DataFrame(
    {"model": ["good", "fair"], "parameters": [5000, 200], "ms_per_window_batch1": [2.0, 0.5]}
)


def test_leaderboard_ranks_every_model_by_mean_mcc_and_renders(metrics) -> None:
    board, markdown, html, figure = build_leaderboard(metrics, SIZES, "set_x")
    mean_mcc = metrics.groupby("model")["mcc"].mean().sort_values(ascending=False)
    assert board["model"].tolist() == mean_mcc.index.tolist()
    np.testing.assert_allclose(board["mcc"], mean_mcc.to_numpy())
    assert "Dataset set_x" in markdown
    assert "Dataset set_x" in html
    for scenario in SCENARIOS:
        assert f"f1 {scenario}" in board.columns
    parameters = board.set_index("model")["parameters"]
    assert parameters["good"] == 5000
    assert parameters["fair"] == 200
    assert math.isnan(parameters["pair+x.dqn:v2"])  # a fusion method has no size row
    for model in MODELS:
        assert model in markdown
        assert model in html
    assert markdown.count("\n|") == 2 + len(MODELS)  # header, rule, one row per model
    assert "<table" in html
    # size vs F1: one point per model with a size, at (parameters, mean F1)
    points = figure.axes[0].collections[0].get_offsets()
    sized = board.dropna(subset=["parameters"])
    np.testing.assert_allclose(
        sorted(map(tuple, np.asarray(points))),
        sorted(zip(sized["parameters"], sized["f1"], strict=True)),
    )


def test_curves_one_png_per_scenario_one_line_per_model(window_scores, metrics) -> None:
    roc, pr = plot_curves(window_scores)
    assert set(roc) == set(pr) == {f"{s}.png" for s in SCENARIOS}
    for name, figure in roc.items():
        ax = figure.axes[0]
        assert ax.get_xlabel() == "false-positive rate"
        # a scenario without attacks has no curve to draw
        n_lines = 0 if name == "test_09_quiet.png" else len(MODELS)
        assert len(ax.lines) == n_lines, name
    assert pr["test_01_known.png"].axes[0].get_xlabel() == "recall"
    assert len(pr["test_01_known.png"].axes[0].lines) == len(MODELS)
    # the ROC curve drawn is the model's own: it ends at (1, 1) and its AUROC is in the legend
    legend = [t.get_text() for t in roc["test_01_known.png"].axes[0].get_legend().get_texts()]
    auroc = metrics.set_index(["model", "scenario"])["auroc"]
    for model in MODELS:
        assert f"{model} ({auroc[model, 'test_01_known']:.3f})" in legend


def test_confusion_grid_shows_each_models_counts(metrics) -> None:
    figure = plot_confusion(metrics)
    assert isinstance(figure, Figure)
    models, scenarios = sorted(MODELS), sorted(SCENARIOS)
    assert len(figure.axes) == len(models) * len(scenarios)
    for i, model in enumerate(models):
        for j, scenario in enumerate(scenarios):
            ax = figure.axes[i * len(scenarios) + j]
            assert ax.get_title() == f"{model} @ validation\n{scenario}"
            row = metrics[(metrics["model"] == model) & (metrics["scenario"] == scenario)].iloc[0]
            shown = [int(t.get_text()) for t in ax.texts]
            assert shown == [int(row[c]) for c in ("tn", "fp", "fn", "tp")]


def test_mlflow_metrics_every_finite_metric_under_a_safe_name(metrics) -> None:
    logged = mlflow_metrics(metrics)
    safe = re.compile(r"^[A-Za-z0-9_\-./ ]+$")
    assert all(safe.match(key) for key in logged)
    expected = {}
    for row in metrics.itertuples(index=False):
        model = row.model.replace("+", "_").replace(":", "_")
        for name in MLFLOW_METRICS:
            value = getattr(row, name)
            if not math.isnan(value):
                expected[f"{model}/validation/{row.scenario}/{name}"] = {"value": value, "step": 0}
    assert logged == expected
    # NaN (a scenario without attacks has no AUROC) is skipped, the rest of it is logged
    assert "good/validation/test_09_quiet/auroc" not in logged
    assert "good/validation/test_09_quiet/f1" in logged
    assert math.isnan(
        metrics.set_index(["model", "scenario"]).loc[("good", "test_09_quiet"), "auroc"]
    )
    assert all(isinstance(v["value"], float) for v in logged.values())
