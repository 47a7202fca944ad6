"""Run analytics from the MLflow tracking store: leaderboard across runs, compare two runs.

    python -m kd_gat.analytics leaderboard [--metric f1] [--top 20]
    python -m kd_gat.analytics compare RUN_A RUN_B
    python -m kd_gat.analytics params RUN_A RUN_B

Evaluation logs one MLflow metric per `<model>/<scenario>/<metric>`; these commands read them
back with `mlflow.search_runs`, so MLflow is the only store of run history.
"""

from __future__ import annotations

import argparse

import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient

DEFAULT_URI = "sqlite:///mlflow.db"
DEFAULT_EXPERIMENT = "kd-gat"


def runs_table(experiment: str) -> pd.DataFrame:
    """Every run of the experiment: run_id, start_time, run name, metrics.*, params.*."""
    runs = mlflow.search_runs(experiment_names=[experiment], output_format="pandas")
    return runs if isinstance(runs, pd.DataFrame) else pd.DataFrame()


def long_metrics(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (run, model, scenario, metric) from `metrics.<model>/<scenario>/<metric>`."""
    cols = [c for c in runs.columns if c.startswith("metrics.") and c.count("/") == 2]
    if not cols:
        return pd.DataFrame(columns=["run_id", "model", "scenario", "metric", "value"])
    melted = runs[["run_id", *cols]].melt(id_vars="run_id", var_name="key", value_name="value")
    parts = melted["key"].str.removeprefix("metrics.").str.split("/", expand=True)
    melted[["model", "scenario", "metric"]] = parts
    return melted.dropna(subset=["value"])[["run_id", "model", "scenario", "metric", "value"]]


def leaderboard_across_runs(runs: pd.DataFrame, metric: str = "f1") -> pd.DataFrame:
    """(run, model) pairs ranked by the metric's mean over test scenarios."""
    long = long_metrics(runs)
    long = long[long["metric"] == metric]
    board = long.groupby(["run_id", "model"], as_index=False)["value"].mean()
    board = board.rename(columns={"value": f"mean_{metric}"})
    starts = runs.set_index("run_id")["start_time"] if "start_time" in runs else None
    if starts is not None:
        board["start_time"] = board["run_id"].map(starts)
    return board.sort_values(f"mean_{metric}", ascending=False, ignore_index=True)


def compare_runs(runs: pd.DataFrame, run_a: str, run_b: str) -> pd.DataFrame:
    """Every metric of two runs side by side, with b − a."""
    long = long_metrics(runs[runs["run_id"].isin([run_a, run_b])])
    wide = long.pivot_table(
        index=["model", "scenario", "metric"], columns="run_id", values="value"
    ).reindex(columns=[run_a, run_b])
    wide["delta"] = wide[run_b] - wide[run_a]
    return wide.reset_index()


def diff_params(client: MlflowClient, run_a: str, run_b: str) -> pd.DataFrame:
    """Parameters whose values differ between two runs (missing on one side included)."""
    pa, pb = client.get_run(run_a).data.params, client.get_run(run_b).data.params
    keys = sorted(k for k in set(pa) | set(pb) if pa.get(k) != pb.get(k))
    return pd.DataFrame(
        {"param": keys, run_a: [pa.get(k) for k in keys], run_b: [pb.get(k) for k in keys]}
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m kd_gat.analytics", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--tracking-uri", default=DEFAULT_URI)
    parser.add_argument("--experiment", default=DEFAULT_EXPERIMENT)
    sub = parser.add_subparsers(dest="command", required=True)
    board = sub.add_parser("leaderboard", help="(run, model) pairs by mean metric over scenarios")
    board.add_argument("--metric", default="f1")
    board.add_argument("--top", type=int, default=20)
    for name, text in (
        ("compare", "metrics of two runs side by side"),
        ("params", "parameter diff of two runs"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("run_a")
        cmd.add_argument("run_b")
    args = parser.parse_args(argv)
    mlflow.set_tracking_uri(args.tracking_uri)
    with pd.option_context(
        "display.width", 200, "display.max_rows", 500, "display.max_columns", 20
    ):
        if args.command == "params":
            print(diff_params(MlflowClient(), args.run_a, args.run_b).to_string(index=False))
            return
        runs = runs_table(args.experiment)
        if args.command == "leaderboard":
            print(leaderboard_across_runs(runs, args.metric).head(args.top).to_string(index=False))
        else:
            print(compare_runs(runs, args.run_a, args.run_b).to_string(index=False))


if __name__ == "__main__":
    main()
