"""Reporting nodes on metrics computed from hand-made window scores: the leaderboard ranks and
renders every model, the plots draw what the tables hold, MLflow gets every finite metric under
a safe name and no NaN."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
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


CHOICE = {"detector": "fair", "rule": "best validation MCC", "why": "fair: validation MCC 0.9"}


def test_leaderboard_ranks_every_model_by_mean_mcc_and_renders(metrics) -> None:
    validated = {"detector": "validated"}
    board, markdown, html, figure = build_leaderboard(metrics, SIZES, "set_x", validated, CHOICE)
    mean_mcc = metrics.groupby("model")["mcc"].mean().sort_values(ascending=False)
    assert board["model"].tolist() == mean_mcc.index.tolist()
    np.testing.assert_allclose(board["mcc"], mean_mcc.to_numpy())
    assert "Dataset set_x" in markdown
    assert "Dataset set_x" in html
    # the caption says which detector is deployed, and why
    assert "Deployed by inference and the export: fair, chosen by validation" in markdown
    assert "fair: validation MCC 0.9" in html
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
    # size against mean MCC (the ranking): one named point per model with a size, at
    # (parameters, mean MCC); "pair+x" is no fusion pair of the roster, so it has no size
    (ax,) = figure.axes
    assert "MCC" in figure.get_suptitle()
    assert "MCC" in ax.get_ylabel()
    assert ax.get_xlabel() == "parameters (log scale)"
    points = {c.get_gid(): tuple(c.get_offsets()[0]) for c in ax.collections}
    sized = board.dropna(subset=["parameters"]).set_index("model")
    assert set(points) == set(sized.index)
    for model, (x, y) in points.items():
        assert (x, y) == pytest.approx((sized.loc[model, "parameters"], sized.loc[model, "mcc"]))


def model_lines(ax) -> list:
    return [line for line in ax.get_lines() if line.get_gid() not in (None, "chance")]


def test_curves_a_figure_per_scenario_a_distinct_line_per_model(window_scores, metrics) -> None:
    roc, pr, roc_plotly, pr_plotly = plot_curves(window_scores)
    assert set(roc) == set(pr) == set(SCENARIOS)
    for figures in (roc, pr):
        for scenario, figure in figures.items():
            (ax,) = figure.axes
            lines = model_lines(ax)
            # a scenario without attacks has no curve to draw
            expected = set() if scenario == "test_09_quiet" else set(MODELS)
            assert {line.get_gid() for line in lines} == expected, scenario
            assert len(lines) == len(expected)
            assert len({(li.get_color(), li.get_linestyle()) for li in lines}) == len(lines)
            assert ax.get_xlabel()
            assert ax.get_ylabel()
    assert roc["test_01_known"].axes[0].get_xlabel().startswith("false-positive rate")
    assert pr["test_01_known"].axes[0].get_xlabel().startswith("recall")
    # the ROC curve drawn is the model's own: it ends at (1, 1) and its AUROC is in the legend
    legend = [t.get_text() for t in roc["test_01_known"].legends[0].get_texts()]
    auroc = metrics.set_index(["model", "scenario"])["auroc"]
    for model in MODELS:
        assert f"{model} (AUC = {auroc[model, 'test_01_known']:.3f})" in legend
        lines = model_lines(roc["test_01_known"].axes[0])
        line = next(li for li in lines if li.get_gid() == model)
        assert (line.get_xdata()[-1], line.get_ydata()[-1]) == (1, 1)
    # the interactive versions: valid plotly figures, one trace per model and scenario, the
    # scenario menu showing that scenario's traces only
    for figure in (roc_plotly, pr_plotly):
        figure = pio.from_json(figure.to_json())
        assert isinstance(figure, go.Figure)
        by_scenario: dict[str, list[str]] = {}
        for trace in figure.data:
            by_scenario.setdefault(trace.meta["scenario"], []).append(trace.meta["model"])
        assert {s: sorted(m) for s, m in by_scenario.items()} == {
            s: sorted(MODELS) for s in SCENARIOS if s != "test_09_quiet"
        }
        menu = figure.layout.updatemenus[0].buttons
        assert [b.label for b in menu] == sorted(SCENARIOS)
        for button in menu:
            visible = button.args[0]["visible"]
            shown = [t.meta for t, v in zip(figure.data, visible, strict=True) if v]
            assert {m["scenario"] for m in shown} <= {button.label}
            assert len(shown) == (0 if button.label == "test_09_quiet" else len(MODELS))
        first = figure.data[: len(MODELS)]
        assert len({(t.line.color, t.line.dash) for t in first}) == len(MODELS)


def test_confusion_a_figure_per_operating_point_with_each_models_counts(metrics) -> None:
    figures = plot_confusion(metrics)
    assert set(figures) == {"validation"}
    figure = figures["validation"]
    assert isinstance(figure, Figure)
    models, scenarios = sorted(MODELS), sorted(SCENARIOS)
    for row, model in zip(figure.subfigs, models, strict=True):
        assert row.get_supylabel().replace("\n", "") == model
        for ax, scenario in zip(row.axes, scenarios, strict=True):
            assert [t.get_text() for t in ax.get_xticklabels()] == ["normal", "attack"]
            assert [t.get_text() for t in ax.get_yticklabels()] == ["normal", "attack"]
            assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted", "actual")
            mine = metrics[(metrics["model"] == model) & (metrics["scenario"] == scenario)]
            shown = [int(t.get_text().replace(",", "")) for t in ax.texts]
            assert shown == [int(mine.iloc[0][c]) for c in ("tn", "fp", "fn", "tp")]


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


def test_a_detector_named_in_the_parameters_is_reported_with_the_validation_choice(metrics):
    named = {"detector": "gat_teacher"}
    _, markdown, _, _ = build_leaderboard(metrics, SIZES, "set_x", named, CHOICE)
    assert "gat_teacher, named by inference.detector (validation would choose fair" in markdown
