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
    for lr, f1s, extra in (("0.001", (0.6, 0.8), "a"), ("0.01", (0.9, 0.7), "b")):
        with mlflow.start_run() as run:
            mlflow.log_params({"training.lr": lr, "training.seed": "42", f"only_{extra}": "1"})
            mlflow.set_tags({"dataset": f"set_0{len(ids) + 1}", "command": f"kedro run #{lr}"})
            for scenario, f1 in zip(("test_01", "test_04"), f1s, strict=True):
                mlflow.log_metric(f"gat_teacher/profile/{scenario}/f1", f1)
                mlflow.log_metric(f"gat_teacher/profile/{scenario}/auroc", f1 + 0.05)
                mlflow.log_metric(
                    f"gat_teacher/profile/{scenario}/n_windows", 100
                )  # the same in both
            mlflow.log_metric("unrelated_metric", 1.0)
            ids.append(run.info.run_id)
    yield ids
    mlflow.set_tracking_uri(None)


def test_leaderboard_ranks_runs_by_mean_metric(two_runs) -> None:
    board = analytics.leaderboard_across_runs(analytics.runs_table("kd-gat"), "f1")
    assert list(board["run_id"]) == [two_runs[1], two_runs[0]]  # 0.8 > 0.7
    assert board["mean_f1"].tolist() == pytest.approx([0.8, 0.7])
    assert board["dataset"].tolist() == ["set_02", "set_01"]  # runs named by data and command
    assert board["command"].tolist() == ["kedro run #0.01", "kedro run #0.001"]


def test_compare_two_runs_shows_what_changed(two_runs) -> None:
    runs = analytics.runs_table("kd-gat")
    table = analytics.compare_runs(runs, *two_runs)
    row = table[(table["scenario"] == "test_01") & (table["metric"] == "f1")].iloc[0]
    assert row["delta"] == pytest.approx(0.3)
    assert len(table) == 4  # 2 scenarios × (f1, auroc); n_windows did not change
    every = analytics.compare_runs(runs, *two_runs, changed_only=False)
    assert len(every) == 6  # `unrelated_metric` is not a model metric
    with pytest.raises(ValueError, match="unknown run id"):
        analytics.compare_runs(runs, two_runs[0], "no-such-run")


def test_param_diff_lists_changed_params_both_runs_used(two_runs) -> None:
    diff = analytics.diff_params(MlflowClient(), *two_runs)
    assert diff["param"].tolist() == ["training.lr"]  # not only_a / only_b
    assert diff.iloc[0][two_runs[1]] == "0.01"
    with pytest.raises(ValueError, match="unknown run id 'nope'"):
        analytics.diff_params(MlflowClient(), two_runs[0], "nope")


def test_cli_refuses_an_unknown_run(two_runs, tmp_path, capsys) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with pytest.raises(SystemExit):
        analytics.main(["--tracking-uri", uri, "compare", two_runs[0], "missing"])
    assert "unknown run id" in capsys.readouterr().err


def test_cli_prints_the_leaderboard(two_runs, tmp_path, capsys) -> None:
    analytics.main(["--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}", "leaderboard"])
    out = capsys.readouterr().out
    assert two_runs[1] in out.splitlines()[1]
