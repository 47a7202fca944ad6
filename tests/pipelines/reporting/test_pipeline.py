"""Reporting stage: leaderboard, plots and MLflow metrics from the evaluation outputs, run
in-process after evaluation."""

from __future__ import annotations

from matplotlib.figure import Figure

from kd_gat import roster
from kd_gat.pipelines.reporting import create_pipeline


def test_the_stage_reads_the_evaluation_outputs_and_every_history() -> None:
    pipe = create_pipeline()
    assert pipe.inputs() == {
        "metrics",
        "model_sizes",
        "window_scores",
        "params:inference",
        "params:dataset",
        *(f"{d}.training_history" for d in roster.detector_names()),
    }


def test_leaderboard_has_every_evaluated_model(reporting_run, evaluation_run) -> None:
    models = set(evaluation_run["metrics"]["model"])
    board = reporting_run["leaderboard"]
    assert set(board["model"]) == models
    assert len(board) == 2 * len(models)  # at the validation and the profile operating point
    assert board["mcc"].is_monotonic_decreasing
    for model in models:
        assert model in reporting_run["leaderboard_md"]
        assert model in reporting_run["leaderboard_html"]
    sized = board.dropna(subset=["parameters"])
    assert set(sized["model"]) == set(roster.detector_names())


def test_plots_per_scenario_and_per_model(reporting_run, graphs_run) -> None:
    scenarios = {f"{s}.png" for s in graphs_run["graphs_test"]}
    assert set(reporting_run["roc_curves"]) == set(reporting_run["pr_curves"]) == scenarios
    for name in ("size_vs_f1_plot", "confusion_matrices", "learning_curves"):
        assert isinstance(reporting_run[name], Figure)
    titles = [ax.get_title() for ax in reporting_run["learning_curves"].axes]
    assert titles[::2] == [f"{d}: loss" for d in sorted(roster.detector_names())]


def test_every_model_and_scenario_reaches_mlflow(reporting_run, evaluation_run) -> None:
    logged = reporting_run["mlflow_metrics"]
    for row in evaluation_run["metrics"].itertuples():
        key = f"{row.model}/{row.operating_point}/{row.scenario}/f1"
        assert logged[key]["value"] == row.f1


def test_score_timelines_of_the_deployed_detector(reporting_run, evaluation_run, stage_params):
    """One figure per test scenario, a panel per capture: the deployed detector's scores at the
    profile operating point over time, with its threshold and the flagged windows."""
    detector = stage_params["inference"]["detector"]
    scores = evaluation_run["window_scores"]
    mine = scores[(scores["model"] == detector) & (scores["operating_point"] == "profile")]
    figures = reporting_run["score_timelines"]
    assert set(figures) == set(mine["scenario"])
    for scenario, figure in figures.items():
        rows = mine[mine["scenario"] == scenario]
        panels = [ax for ax in figure.axes if ax.get_title()]
        assert len(panels) == rows["capture"].nunique()
        for ax in panels:
            capture = ax.get_title().split(":")[0]
            windows = rows[rows["capture"] == capture]
            flagged = int((windows["score"] >= windows["threshold"]).sum())
            assert ax.get_title() == f"{capture}: {flagged} of {len(windows)} windows flagged"
            score_line = next(line for line in ax.get_lines() if line.get_label() == "score")
            assert len(score_line.get_xdata()) == len(windows)
