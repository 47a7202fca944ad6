"""Reporting stage: leaderboard, plots and MLflow metrics from the evaluation outputs, run
in-process after evaluation."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest
from kedro.io import AbstractDataset
from matplotlib.figure import Figure

from kd_gat import deployment, roster
from kd_gat.datasets.figures import FigureDataset
from kd_gat.pipelines.reporting import create_pipeline
from kd_gat.reporting import FUSION_MEMBERS, loss_name
from tests.pipelines.conftest import config_loader

FIGURES = (
    "size_vs_mcc_plot",
    "roc_curves",
    "pr_curves",
    "score_timelines",
    "confusion_matrices",
    "learning_curves",
)
INTERACTIVE = ("roc_curves_interactive", "pr_curves_interactive", "score_timelines_interactive")


def test_the_stage_reads_the_evaluation_outputs_and_every_history() -> None:
    pipe = create_pipeline()
    assert pipe.inputs() == {
        "metrics",
        "model_sizes",
        "window_scores",
        "params:inference",
        "params:dataset",
        "deployment_choice",
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


def test_plots_per_scenario_and_per_model(reporting_run, graphs_run, evaluation_run) -> None:
    scenarios = set(graphs_run["graphs_test"])
    assert set(reporting_run["roc_curves"]) == set(reporting_run["pr_curves"]) == scenarios
    models = set(evaluation_run["metrics"]["model"])
    for kind in ("roc_curves", "pr_curves"):
        for figure in reporting_run[kind].values():
            lines = [li for li in figure.axes[0].get_lines() if li.get_gid() in models]
            assert {li.get_gid() for li in lines} == models
            assert len({(li.get_color(), li.get_linestyle()) for li in lines}) == len(models)
    assert set(reporting_run["confusion_matrices"]) == {"validation", "profile"}
    for name in ("size_vs_mcc_plot", "learning_curves"):
        assert isinstance(reporting_run[name], Figure)
    axes = reporting_run["learning_curves"].axes
    detectors = sorted(roster.detector_names())
    assert [ax.get_title() for ax in axes][::2] == [f"{d}: loss" for d in detectors]
    assert [ax.get_ylabel().replace("\n", " ") for ax in axes][::2] == [
        loss_name(d) for d in detectors
    ]
    assert all(ax.get_xlabel() == "epoch" for ax in axes)


def test_size_plot_places_every_fusion_method_at_its_pairs_size(reporting_run) -> None:
    board = reporting_run["leaderboard"]
    sizes = board.dropna(subset=["parameters"]).groupby("model")["parameters"].first()
    figure = reporting_run["size_vs_mcc_plot"]
    assert figure.get_suptitle()
    fusion = {m for m in board["model"] if m.split(".")[0] in roster.fusion_names()}
    assert fusion  # the smoke run has fusion methods
    for ax, (point, rows) in zip(figure.axes, board.groupby("operating_point"), strict=True):
        assert ax.get_xscale() == "log"
        assert ax.get_xlabel() == "parameters (log scale)"
        assert point in ax.get_title()
        points = {c.get_gid(): tuple(c.get_offsets()[0]) for c in ax.collections}
        assert set(points) == set(rows["model"])  # detectors and fusion methods
        for model in fusion:
            members = FUSION_MEMBERS[model.split(".")[0]]
            mcc = rows.set_index("model").loc[model, "mcc"]
            assert points[model] == pytest.approx((sum(sizes[m] for m in members), mcc))
    assert "MCC" in figure.axes[0].get_ylabel()


def test_interactive_curves_and_timelines_are_plotly_figures(reporting_run, evaluation_run):
    models = set(evaluation_run["metrics"]["model"])
    for name in ("roc_curves_interactive", "pr_curves_interactive"):
        figure = go.Figure(reporting_run[name].to_dict())  # validates every property
        per_scenario: dict[str, list[str]] = {}
        for trace in figure.data:
            per_scenario.setdefault(trace.meta["scenario"], []).append(trace.meta["model"])
        assert set(per_scenario) == set(reporting_run["roc_curves"])
        for traced in per_scenario.values():
            assert sorted(traced) == sorted(models)  # one trace per model
    timelines = go.Figure(reporting_run["score_timelines_interactive"].to_dict())
    panels = {(t.meta["scenario"], t.meta["capture"]) for t in timelines.data}
    panes = reporting_run["score_timelines"]
    assert len(panels) == sum(len([a for a in f.axes if a.get_title()]) for f in panes.values())
    assert {t.name for t in timelines.data} == {"attack windows", "score", "threshold", "flagged"}


def test_the_catalog_writes_every_figure_as_png_and_svg(reporting_run, tmp_path) -> None:
    """Each figure output of the stage through its catalog entry (under a temporary folder):
    a PNG and an SVG per figure; the plotly figures as JSON that loads back."""
    catalog = config_loader("base")["catalog"]
    pipeline_outputs = create_pipeline().all_outputs()
    assert set(FIGURES) | set(INTERACTIVE) <= pipeline_outputs
    for name in FIGURES:
        config = {**catalog[name], "filepath": str(tmp_path / name)}
        dataset = AbstractDataset.from_config(name, config)
        assert isinstance(dataset, FigureDataset)
        dataset.save(reporting_run[name])
        data = reporting_run[name]
        stems = (
            [tmp_path / name] if isinstance(data, Figure) else [tmp_path / name / k for k in data]
        )
        for stem in stems:
            for fmt in ("png", "svg"):
                path = stem.with_name(f"{stem.name}.{fmt}")
                assert path.stat().st_size > 5_000, path
    for name in INTERACTIVE:
        inner = {**catalog[name]["dataset"], "filepath": str(tmp_path / f"{name}.json")}
        assert inner["type"] == "plotly.JSONDataset"
        dataset = AbstractDataset.from_config(name, inner)
        dataset.save(reporting_run[name])
        assert isinstance(dataset.load(), go.Figure)
    # the per-model learning curves of training too
    config = {**catalog["{namespace}.learning_curves"], "filepath": str(tmp_path / "curves")}
    assert AbstractDataset.from_config("x", config)._describe()["formats"] == ("png", "svg")


def test_every_model_and_scenario_reaches_mlflow(reporting_run, evaluation_run) -> None:
    logged = reporting_run["mlflow_metrics"]
    for row in evaluation_run["metrics"].itertuples():
        key = f"{row.model}/{row.operating_point}/{row.scenario}/f1"
        assert logged[key]["value"] == row.f1


def test_score_timelines_of_the_deployed_detector(reporting_run, evaluation_run, stage_params):
    """One figure per test scenario, a panel per capture: the deployed detector's scores at the
    profile operating point over time, with its threshold and the flagged windows."""
    choice = evaluation_run["deployment_choice"]
    detector = deployment.resolve(stage_params["inference"]["detector"], choice)
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
