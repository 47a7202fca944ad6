"""One real `kedro run --env smoke` of the whole project (fixture `smoke_run`), for what only a
real run shows: the catalog's files and versions on disk, MLflow tracking, the notebook, batch
inference through `kedro run --pipelines inference`, and the suppress / masquerade scenario
folders (added to the sample by the fixture) reaching the metrics.

Each stage's behaviour is tested in-process in tests/pipelines/<stage>/.
"""

from __future__ import annotations

import json
import os

import mlflow
import nbformat
import numpy as np
import pandas as pd
import pytest
import torch
from nbclient import NotebookClient

from kd_gat import analytics, roster
from kd_gat.fusion.policy import FusionPolicy
from kd_gat.models.model_file import load_model
from tests.pipelines.conftest import DATASET

pytestmark = pytest.mark.e2e

DETECTORS = roster.detector_names()
METHODS = ("dqn", "weighted_average", "stacker", "alarm_or")  # alarm_or: in evaluation


def out(project, layer: str, relative: str = ""):
    """A derived artifact of the run: `data/<layer>/<dataset>/<relative>`."""
    return project.path(f"data/{layer}/{DATASET.name}/{relative}")


def _versions(project, name: str) -> list:
    """Saved versions of `data/06_models/<name>.pt`, oldest first."""
    return sorted(out(project, "06_models", f"{name}.pt").glob(f"*/{name}.pt"))


def _latest(project, name: str):
    return load_model(_versions(project, name)[-1])


def _metrics(project) -> pd.DataFrame:
    (metrics_file,) = out(project, "08_reporting", "metrics.csv").glob("*/metrics.csv")
    return pd.read_csv(metrics_file)


def test_every_scenario_folder_is_evaluated_for_every_model(smoke_run) -> None:
    raw = smoke_run.path("data/01_raw/can-train-and-test/set_01")
    scenarios = {p.name for p in raw.iterdir() if p.name.startswith("test")}
    assert {"test_05_suppress", "test_06_masquerade"} <= scenarios
    metrics = _metrics(smoke_run)
    assert set(metrics["scenario"]) == scenarios
    fusions = {f"{pair}.{m}" for m in METHODS for pair in roster.fusion_names()}
    assert set(metrics["model"]) == set(DETECTORS) | fusions
    assert set(metrics["operating_point"]) == {"validation", "profile"}
    assert len(metrics) == len(set(metrics["model"])) * len(scenarios) * 2
    # every test window of every scenario is scored, as the graphs report counts them
    report = pd.read_json(out(smoke_run, "08_reporting", "graphs_report.json"), typ="series")
    for scenario in scenarios:
        expected = report["stores"][f"test/{scenario}"]["windows"]
        assert (metrics[metrics["scenario"] == scenario]["n_windows"] == expected).all()


def test_every_model_is_saved_once_per_run_in_one_version(smoke_run) -> None:
    """Every detector and fusion policy is a versioned, weights-only file, reloadable; all
    versioned outputs of the run carry the run's one version."""
    (metrics_version,) = [p.name for p in out(smoke_run, "08_reporting", "metrics.csv").iterdir()]
    for name in (*DETECTORS, *roster.fusion_names()):
        (saved,) = _versions(smoke_run, name)
        assert saved.parent.name == metrics_version
        payload = torch.load(saved, weights_only=True)
        assert {"kind", "config", "state_dict"} <= set(payload)
        model = load_model(saved)
        assert model.kind == payload["kind"]
        assert not model.training
    for name in DETECTORS:
        path = out(smoke_run, "07_model_output", f"{name}_window_outputs.parquet")
        assert set(pd.read_parquet(path)["model"]) == {name}
        history = out(smoke_run, "08_reporting", f"training/{name}_history.csv")
        assert len(pd.read_csv(history)) >= 1
        assert out(smoke_run, "08_reporting", f"training/{name}_learning_curves.png").exists()
        # Lightning's resume file is removed once a fit completes
        assert not out(smoke_run, "06_models", f"checkpoints/{name}/last.ckpt").exists()
    for name in roster.fusion_names():
        assert isinstance(_latest(smoke_run, name), FusionPolicy)
        path = out(smoke_run, "07_model_output", f"{name}_window_scores.parquet")
        fitted = {f"{name}.{m}" for m in METHODS if m != roster.ALARM_OR}  # OR: in evaluation
        assert set(pd.read_parquet(path)["model"]) == fitted
        assert out(smoke_run, "08_reporting", f"fusion/{name}_summary.json").exists()


def test_reports_and_plots_are_written(smoke_run) -> None:
    reports = out(smoke_run, "08_reporting")
    board = (reports / "leaderboard.md").read_text()
    for model in (*DETECTORS, *(f"{f}.dqn" for f in roster.fusion_names())):
        assert model in board
    assert "<table" in (reports / "leaderboard.html").read_text()
    sizes = pd.read_csv(reports / "model_sizes.csv")
    assert set(sizes["model"]) == set(DETECTORS)
    assert (sizes["parameters"] > 0).all()
    scenarios = {p.stem for p in (reports / "plots/roc").glob("*.png")}
    assert {"test_05_suppress", "test_06_masquerade"} <= scenarios
    assert {p.stem for p in (reports / "plots/pr").glob("*.png")} == scenarios
    for name in ("confusion_matrices/validation", "learning_curves", "size_vs_mcc"):
        for suffix in ("png", "svg"):  # raster and vector, for papers
            assert (reports / f"plots/{name}.{suffix}").stat().st_size > 5_000
    # and every report is an artifact of the MLflow run
    (logged,) = smoke_run.path("data/08_reporting").glob(
        "mlflow_smoke_artifacts/*/artifacts/reporting"
    )
    assert {p.stem for p in (logged / "roc").glob("*.png")} == scenarios
    for name in ("leaderboard.md", "leaderboard.html", "leaderboard.csv"):
        assert (logged / name).exists()
    assert (logged / "confusion_matrices" / "validation.png").exists()


def test_walkthrough_notebook_runs_in_the_smoke_environment(smoke_run) -> None:
    notebook = nbformat.read(smoke_run.path("notebooks/walkthrough.ipynb"), as_version=4)
    os.environ["KEDRO_ENV"] = "smoke"
    try:
        NotebookClient(
            notebook,
            timeout=600,
            kernel_name="python3",
            resources={"metadata": {"path": str(smoke_run.path("notebooks"))}},
        ).execute()
    finally:
        os.environ.pop("KEDRO_ENV")
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not smoke_run.path("notebooks/data").exists(), "wrote outside the project root"
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2  # the window graph and at least one saved plot
    assert not [o for o in outputs if o.get("output_type") == "error"]


def test_batch_inference_scores_new_unlabelled_captures(smoke_run, tmp_path) -> None:
    src = smoke_run.path(
        "data/01_raw/can-train-and-test/set_01/test_01_known_vehicle_known_attack/DoS-3.csv.gz"
    )
    new = tmp_path / "new_captures" / "car_a"
    new.mkdir(parents=True)
    table = pd.read_csv(src, dtype=str).iloc[:6_050]  # 4.2 s: past the 3 s warm-up
    table.drop(columns="attack").to_csv(new / "drive.csv", index=False)  # no labels
    smoke_run.run(
        "--env", "smoke", "--pipelines", "inference", "--params", f"input_root={new.parent}"
    )
    scores = pd.read_parquet(out(smoke_run, "07_model_output", "inference/scores.parquet"))
    assert len(scores) == 60  # 6,050 frames → 60 windows of 100, the tail dropped
    assert set(scores["capture"]) == {"car_a/drive"}
    # the catalog loaded the latest saved model of the deployed detector (globals.yml
    # `inference.detector`); car A has no profile: its zero-shot threshold judges every window
    report = json.loads(out(smoke_run, "08_reporting", "inference_report.json").read_text())
    detector = report["detector"]
    model = _latest(smoke_run, detector)
    assert model.name == detector
    zero_shot = pd.read_csv(out(smoke_run, "07_model_output", "zero_shot_thresholds.csv"))
    threshold = zero_shot.set_index("model").loc[detector, "threshold"]
    assert not scores["calibrated"].any()
    # ... but for the windows of its first `profiles.warmup_s` (3 s): no alarm there (+inf)
    warm = (scores["end_time"] < scores["start_time"].min() + 3.0).to_numpy()
    assert 0 < warm.sum() < len(scores)
    assert np.isinf(scores.loc[warm, "threshold"]).all()
    np.testing.assert_allclose(scores.loc[~warm, "threshold"], threshold)
    assert (scores["decision"] == (scores["score"] >= scores["threshold"])).all()
    assert not scores.loc[warm, "decision"].any()
    assert np.isfinite(scores["score"]).all()
    alarms = pd.read_csv(out(smoke_run, "08_reporting", "inference_alarms.csv"))
    assert alarms["windows"].sum() == scores["decision"].sum()


def test_run_analytics_read_back_the_tracked_test_metrics(smoke_run) -> None:
    mlflow.set_tracking_uri(f"sqlite:///{smoke_run.path('data/08_reporting/mlflow_smoke.db')}")
    try:
        runs = analytics.runs_table("kd-gat-smoke")
    finally:
        mlflow.set_tracking_uri(None)
    runs = runs[runs["tags.pipeline"] == "__default__"]  # not the inference test's run
    assert len(runs) == 1
    board = analytics.leaderboard_across_runs(runs, "f1")
    metrics = _metrics(smoke_run)
    assert set(board["model"]) == set(metrics["model"])
    expected = metrics.groupby(["model", "operating_point"])["f1"].mean()
    assert len(board) == len(expected)
    for row in board.itertuples():
        assert row.mean_f1 == pytest.approx(expected[row.model, row.operating_point])
    # the data a run used is tracked with it
    assert runs["params.raw_root"].iloc[0] == "data/01_raw/can-train-and-test"


def test_per_epoch_metrics_and_model_files_are_tracked_in_mlflow(smoke_run) -> None:
    mlflow.set_tracking_uri(f"sqlite:///{smoke_run.path('data/08_reporting/mlflow_smoke.db')}")
    try:
        runs = analytics.runs_table("kd-gat-smoke")
        (run_id,) = runs.loc[runs["tags.pipeline"] == "__default__", "run_id"]
        client = mlflow.MlflowClient()
        logged_models = {a.path for a in client.list_artifacts(run_id, "models")}
        for name in DETECTORS:
            history = pd.read_csv(out(smoke_run, "08_reporting", f"training/{name}_history.csv"))
            epochs = client.get_metric_history(run_id, f"{name}.val_loss")
            assert sorted(m.step for m in epochs) == history["epoch"].tolist()
            assert sorted(m.value for m in epochs) == pytest.approx(sorted(history["val_loss"]))
    finally:
        mlflow.set_tracking_uri(None)
    assert logged_models >= {f"models/{n}.pt" for n in (*DETECTORS, *roster.fusion_names())}
