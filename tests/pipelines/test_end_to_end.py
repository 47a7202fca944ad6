"""The whole default pipeline on the shipped sample (`kedro run --env smoke`), checked per stage.

Training itself is checked in test_training_pipeline.py; these tests cover what comes after:
distillation, scoring, fusion, evaluation, reporting, the notebook and batch inference.
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

from kd_gat import analytics
from kd_gat.fusion.policy import FusionPolicy
from kd_gat.metrics import choose_threshold
from kd_gat.models.model_file import load_model

pytestmark = pytest.mark.e2e

DETECTORS = [
    "gat_teacher",
    "gat_student",
    "gat_student_kd",
    "vgae_teacher",
    "vgae_student",
    "vgae_student_kd",
]


def _latest(project, name: str):
    (path,) = sorted(project.path(f"data/06_models/{name}.pt").glob(f"*/{name}.pt"))[-1:]
    return load_model(path)


def test_distilled_students_are_saved_like_trained_ones(smoke_run) -> None:
    for name in ("gat_student_kd", "vgae_student_kd"):
        student, plain = _latest(smoke_run, name), _latest(smoke_run, name.removesuffix("_kd"))
        assert student.config == plain.config  # same architecture: only the training differs
        history = pd.read_csv(smoke_run.path(f"data/08_reporting/training/{name}_history.csv"))
        kd_columns = [c for c in history.columns if c.startswith("train_kd_")]
        assert kd_columns, "the distillation terms are logged per epoch"
        assert np.isfinite(history[kd_columns].to_numpy()).all()


def test_every_scenario_folder_is_evaluated_for_every_model(smoke_run) -> None:
    raw = smoke_run.path("data/01_raw/can-train-and-test/set_01")
    scenarios = {p.name for p in raw.iterdir() if p.name.startswith("test")}
    assert {"test_05_suppress", "test_06_masquerade"} <= scenarios
    (metrics_file,) = smoke_run.path("data/08_reporting/metrics.csv").glob("*/metrics.csv")
    metrics = pd.read_csv(metrics_file)
    assert set(metrics["scenario"]) == scenarios
    fusions = {
        f"{pair}.{m}"
        for m in ("dqn", "weighted_average", "stacker")
        for pair in ("fusion_teacher", "fusion_student")
    }
    assert set(metrics["model"]) == set(DETECTORS) | fusions
    assert len(metrics) == len(set(metrics["model"])) * len(scenarios)
    for column in (
        "f1",
        "auroc",
        "precision",
        "recall",
        "mcc",
        "dr_at_fpr_1pct",
        "tp",
        "n_windows",
    ):
        assert column in metrics.columns
    # no prefix caps: every test window of every scenario is scored
    report = json.loads(smoke_run.path("data/08_reporting/graphs_report.json").read_text())
    for scenario in scenarios:
        expected = report["stores"][f"test/{scenario}"]["windows"]
        assert (metrics[metrics["scenario"] == scenario]["n_windows"] == expected).all()


def test_detector_thresholds_come_from_validation_only(smoke_run) -> None:
    scores = pd.read_parquet(smoke_run.path("data/07_model_output/window_scores.parquet"))
    for name in DETECTORS:
        outputs = pd.read_parquet(
            smoke_run.path(f"data/07_model_output/{name}_window_outputs.parquet")
        )
        val = outputs[outputs["split"] == "val"]
        expected = choose_threshold(val["label"].to_numpy(), val["score"].to_numpy())
        assert scores.loc[scores["model"] == name, "threshold"].unique().tolist() == [expected]


def test_fused_decisions_use_the_policy_threshold_from_validation(smoke_run) -> None:
    policy = _latest(smoke_run, "fusion_student")
    assert isinstance(policy, FusionPolicy)
    summary = json.loads(
        smoke_run.path("data/08_reporting/fusion/fusion_student_summary.json").read_text()
    )
    assert float(policy.threshold) == pytest.approx(summary["methods"]["dqn"]["threshold"])
    fused = pd.read_parquet(
        smoke_run.path("data/07_model_output/fusion_student_window_scores.parquet")
    )
    dqn = fused[fused["model"] == "fusion_student.dqn"]
    assert dqn["threshold"].unique().tolist() == pytest.approx([float(policy.threshold)], rel=1e-6)
    assert set(dqn["split"]) == {"val", "test"}


def test_reports_and_plots_are_written(smoke_run) -> None:
    out = smoke_run.path("data/08_reporting")
    board = (out / "leaderboard.md").read_text()
    assert "gat_student_kd" in board
    assert "fusion_student.dqn" in board
    assert "<table" in (out / "leaderboard.html").read_text()
    sizes = pd.read_csv(out / "model_sizes.csv")
    assert set(sizes["model"]) == set(DETECTORS)
    assert (sizes["parameters"] > 0).all()
    assert (sizes["ms_per_window_batch1"] > 0).all()
    scenarios = {p.stem for p in (out / "plots/roc").glob("*.png")}
    assert "test_05_suppress" in scenarios
    assert {p.stem for p in (out / "plots/pr").glob("*.png")} == scenarios
    for name in ("confusion_matrices", "learning_curves", "size_vs_f1"):
        assert (out / f"plots/{name}.png").stat().st_size > 5_000
    # and every report is an artifact of the MLflow run
    (logged,) = out.glob("mlflow_smoke_artifacts/*/artifacts/reporting")
    assert {p.stem for p in (logged / "roc").glob("*.png")} == scenarios
    for name in ("leaderboard.md", "leaderboard.html", "leaderboard.csv", "confusion_matrices.png"):
        assert (logged / name).exists()


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
    table = pd.read_csv(src, dtype=str).iloc[:3_050]
    table.drop(columns="attack").to_csv(new / "drive.csv", index=False)  # no labels
    smoke_run.run(
        "--env", "smoke", "--pipeline", "inference", "--params", f"input_root={new.parent}"
    )
    scores = pd.read_parquet(smoke_run.path("data/07_model_output/inference/scores.parquet"))
    assert len(scores) == 30  # 3,050 frames → 30 windows of 100, the tail dropped
    assert set(scores["capture"]) == {"car_a/drive"}
    assert (scores["end_time"] >= scores["start_time"]).all()
    policy = _latest(smoke_run, "fusion_student")
    assert (scores["decision"] == (scores["score"] >= float(policy.threshold))).all()
    assert scores["score"].between(0, 1).all()
    assert np.isfinite(scores[["vgae_score", "gat_p", "alpha"]].to_numpy()).all()
    torch.testing.assert_close(torch.tensor(float(scores["threshold"].iloc[0])), policy.threshold)


def test_run_analytics_read_back_the_tracked_test_metrics(smoke_run) -> None:
    mlflow.set_tracking_uri(f"sqlite:///{smoke_run.path('data/08_reporting/mlflow_smoke.db')}")
    try:
        runs = analytics.runs_table("kd-gat-smoke")
    finally:
        mlflow.set_tracking_uri(None)
    runs = runs[runs["tags.mlflow.runName"] == "__default__"]  # not the inference test's run
    assert len(runs) == 1
    board = analytics.leaderboard_across_runs(runs, "f1")
    (metrics_file,) = smoke_run.path("data/08_reporting/metrics.csv").glob("*/metrics.csv")
    metrics = pd.read_csv(metrics_file)
    assert set(board["model"]) == set(metrics["model"])
    expected = metrics.groupby("model")["f1"].mean()
    for row in board.itertuples():
        assert row.mean_f1 == pytest.approx(expected[row.model])
    # the data a run used is tracked with it
    assert runs["params.raw_root"].iloc[0] == "data/01_raw/can-train-and-test"
