"""Metrics tables, leaderboard and plots built from per-window scores."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from kd_gat.metrics import binary_metrics
from kd_gat.reporting import (
    confusion_figure,
    curve_figures,
    leaderboard,
    leaderboard_html,
    leaderboard_markdown,
    metrics_table,
    size_vs_f1_figure,
)


@pytest.fixture
def window_scores() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    parts = []
    for model, noise, threshold in (("good", 0.1, 0.5), ("poor", 0.6, 0.4)):
        for scenario in ("test_01_known_vehicle_known_attack", "test_05_suppress"):
            label = rng.integers(0, 2, 200)
            score = np.clip(label + rng.normal(0, noise, 200), 0, 1)
            parts.append(
                pd.DataFrame(
                    {
                        "model": model,
                        "scenario": scenario,
                        "window": np.arange(200),
                        "label": label,
                        "score": score,
                        "threshold": threshold,
                    }
                )
            )
    return pd.concat(parts, ignore_index=True)


def test_metrics_table_has_one_row_per_model_and_scenario(window_scores) -> None:
    table = metrics_table(window_scores)
    assert len(table) == 4
    assert {"model", "scenario", "f1", "auroc", "precision", "recall", "mcc"} <= set(table.columns)
    one = window_scores[
        (window_scores.model == "poor") & (window_scores.scenario == "test_05_suppress")
    ]
    expected = binary_metrics(one.label.to_numpy(), one.score.to_numpy(), 0.4)
    row = table[(table.model == "poor") & (table.scenario == "test_05_suppress")].iloc[0]
    for key, value in expected.items():
        assert row[key] == pytest.approx(value, nan_ok=True)


def test_metrics_table_rejects_two_thresholds_for_one_model(window_scores) -> None:
    window_scores.loc[0, "threshold"] = 0.9
    with pytest.raises(ValueError, match="one validation threshold"):
        metrics_table(window_scores)


def test_leaderboard_ranks_by_mean_mcc_and_renders(window_scores) -> None:
    sizes = pd.DataFrame(
        {"model": ["good", "poor"], "parameters": [1200, 100], "checkpoint_bytes": [5 << 20, 900]}
    )
    board = leaderboard(metrics_table(window_scores), sizes)
    assert list(board["model"]) == ["good", "poor"]
    assert board["mcc"].is_monotonic_decreasing
    assert "f1 test_05_suppress" in board.columns
    assert board.loc[0, "parameters"] == 1200
    assert board.loc[0, "best_in"] == "test_01_known_vehicle_known_attack test_05_suppress"
    assert board.loc[1, "best_in"] == ""
    md, html = leaderboard_markdown(board, caption="ranked by MCC"), leaderboard_html(board)
    assert md.count("\n|") >= 3  # header, rule, two rows
    assert "ranked by MCC" in md
    assert "1.2K" in md and "5.0 MB" in md and "900 B" in md  # noqa: PT018
    assert "**" in md  # the best F1 of a scenario in bold
    assert "nan" not in md.lower()
    assert "<table" in html and "<b>" in html  # noqa: PT018


def test_a_detector_that_flags_everything_ranks_below_a_useful_one() -> None:
    """60 % attack windows: flagging all of them gives F1 0.75, above a useful detector's 0.63;
    its MCC is 0, so it ranks below; a flag-nothing detector likewise."""
    label = np.array([1] * 60 + [0] * 40)
    useful = np.zeros(100)
    useful[:30] = useful[60:65] = 1.0  # 30 of the 60 attacks, 5 false alarms
    scores = pd.concat(
        [
            pd.DataFrame(
                {"model": m, "scenario": "s", "window": np.arange(100), "label": label,
                 "score": sc, "threshold": 0.5}
            )
            for m, sc in (("all", np.ones(100)), ("useful", useful), ("none", np.zeros(100)))
        ],
        ignore_index=True,
    )  # fmt: skip
    metrics = metrics_table(scores).set_index("model")
    assert metrics.loc["all", "f1"] > metrics.loc["useful", "f1"]
    board = leaderboard(metrics.reset_index())
    assert board["model"].tolist()[0] == "useful"
    assert board.set_index("model").loc["all", "flagged"] == 1.0
    assert board.set_index("model").loc["none", "flagged"] == 0.0


def test_figures(window_scores) -> None:
    rocs = curve_figures(window_scores, "roc")
    assert set(rocs) == set(window_scores.scenario)
    ax = rocs["test_05_suppress"].axes[0]
    assert len(ax.lines) == 2  # one curve per model
    assert isinstance(confusion_figure(metrics_table(window_scores)), Figure)
    board = leaderboard(
        metrics_table(window_scores),
        pd.DataFrame({"model": ["good", "poor"], "parameters": [10, 1]}),
    )
    assert len(size_vs_f1_figure(board).axes[0].collections[0].get_offsets()) == 2
