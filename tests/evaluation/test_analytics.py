"""Run analytics read back from a real (temporary) MLflow sqlite store."""

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from kd_gat import analytics


@pytest.fixture
def two_runs(tmp_path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_experiment("kd-gat")
    ids = []
    for lr, f1s in (("0.001", (0.6, 0.8)), ("0.01", (0.9, 0.7))):
        with mlflow.start_run() as run:
            mlflow.log_params({"training.lr": lr, "training.seed": "42"})
            for scenario, f1 in zip(("test_01", "test_04"), f1s, strict=True):
                mlflow.log_metric(f"gat_teacher/{scenario}/f1", f1)
                mlflow.log_metric(f"gat_teacher/{scenario}/auroc", f1 + 0.05)
            mlflow.log_metric("unrelated_metric", 1.0)
            ids.append(run.info.run_id)
    yield ids
    mlflow.set_tracking_uri(None)


def test_leaderboard_ranks_runs_by_mean_metric(two_runs) -> None:
    board = analytics.leaderboard_across_runs(analytics.runs_table("kd-gat"), "f1")
    assert list(board["run_id"]) == [two_runs[1], two_runs[0]]  # 0.8 > 0.7
    assert board["mean_f1"].tolist() == pytest.approx([0.8, 0.7])


def test_compare_two_runs(two_runs) -> None:
    table = analytics.compare_runs(analytics.runs_table("kd-gat"), *two_runs)
    row = table[(table["scenario"] == "test_01") & (table["metric"] == "f1")].iloc[0]
    assert row["delta"] == pytest.approx(0.3)
    assert len(table) == 4  # 2 scenarios × 2 metrics; `unrelated_metric` is not a model metric


def test_param_diff_lists_only_changed_params(two_runs) -> None:
    diff = analytics.diff_params(MlflowClient(), *two_runs)
    assert diff["param"].tolist() == ["training.lr"]
    assert diff.iloc[0][two_runs[1]] == "0.01"


def test_cli_prints_the_leaderboard(two_runs, tmp_path, capsys) -> None:
    analytics.main(["--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}", "leaderboard"])
    out = capsys.readouterr().out
    assert two_runs[1] in out.splitlines()[1]
