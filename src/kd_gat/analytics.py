"""Run analytics from the MLflow tracking store: leaderboard across runs, compare two runs.

    python -m kd_gat.analytics leaderboard [--metric f1] [--top 20]
    python -m kd_gat.analytics compare RUN_A RUN_B [--all]
    python -m kd_gat.analytics params RUN_A RUN_B

Runs are shown with their dataset, name and command (tags set by `kd_gat.hooks.RunHooks`);
`compare` lists the metrics that changed (`--all`: every metric), `params` the parameters both
runs used with different values; an unknown run id is an error.

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


METRIC_KEY = ["model", "operating_point", "scenario", "metric"]


def long_metrics(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (run, model, operating point, scenario, metric) from
    `metrics.<model>/<operating point>/<scenario>/<metric>`."""
    columns = ["run_id", *METRIC_KEY, "value"]
    cols = [c for c in runs.columns if c.startswith("metrics.") and c.count("/") == 3]
    if not cols:
        return pd.DataFrame(columns=columns)
    melted = runs[["run_id", *cols]].melt(id_vars="run_id", var_name="key", value_name="value")
    parts = melted["key"].str.removeprefix("metrics.").str.split("/", expand=True)
    melted[METRIC_KEY] = parts
    return melted.dropna(subset=["value"])[columns]


RUN_COLUMNS = {
    "tags.dataset": "dataset",
    "tags.mlflow.runName": "run_name",
    "tags.command": "command",
}


def describe_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """run_id, start_time and the tags that name a run: dataset, run name, command."""
    table = runs[["run_id"]].copy()
    if "start_time" in runs:
        table["start_time"] = runs["start_time"]
    for tag, column in RUN_COLUMNS.items():
        table[column] = runs.get(tag)
    return table


def check_runs(runs: pd.DataFrame, *run_ids: str) -> None:
    """Raise ValueError naming each run id that is not a run of the table."""
    unknown = [r for r in run_ids if r not in set(runs["run_id"])]
    if unknown:
        raise ValueError(f"unknown run id(s) {unknown}: `leaderboard` lists the runs")


def leaderboard_across_runs(runs: pd.DataFrame, metric: str = "f1") -> pd.DataFrame:
    """(run, model, operating point) rows ranked by the metric's mean over test scenarios, each
    run named by its dataset, run name and command."""
    long = long_metrics(runs)
    long = long[long["metric"] == metric]
    keys = ["run_id", "model", "operating_point"]
    board = long.groupby(keys, as_index=False)["value"].mean()
    board = board.rename(columns={"value": f"mean_{metric}"})
    board = board.merge(describe_runs(runs), on="run_id", how="left")
    return board.sort_values(f"mean_{metric}", ascending=False, ignore_index=True)


def compare_runs(
    runs: pd.DataFrame, run_a: str, run_b: str, changed_only: bool = True
) -> pd.DataFrame:
    """The metrics of two runs side by side, with b − a: those that differ (or exist on one
    side only), or every one with `changed_only=False`."""
    check_runs(runs, run_a, run_b)
    long = long_metrics(runs[runs["run_id"].isin([run_a, run_b])])
    wide = long.pivot_table(index=METRIC_KEY, columns="run_id", values="value").reindex(
        columns=[run_a, run_b]
    )
    wide["delta"] = wide[run_b] - wide[run_a]
    if changed_only:
        wide = wide[wide["delta"].fillna(1.0) != 0]
    return wide.reset_index()


def diff_params(client: MlflowClient, run_a: str, run_b: str) -> pd.DataFrame:
    """Parameters that both runs used, with different values."""
    pa, pb = (_run(client, r).data.params for r in (run_a, run_b))
    keys = sorted(k for k in set(pa) & set(pb) if pa[k] != pb[k])
    return pd.DataFrame({"param": keys, run_a: [pa[k] for k in keys], run_b: [pb[k] for k in keys]})


def _run(client: MlflowClient, run_id: str):
    try:
        return client.get_run(run_id)
    except mlflow.exceptions.MlflowException as exc:
        raise ValueError(f"unknown run id {run_id!r}: `leaderboard` lists the runs") from exc


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
        ("compare", "metrics that changed between two runs"),
        ("params", "parameters both runs used, with different values"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("run_a")
        cmd.add_argument("run_b")
        if name == "compare":
            cmd.add_argument("--all", action="store_true", help="every metric, changed or not")
    args = parser.parse_args(argv)
    mlflow.set_tracking_uri(args.tracking_uri)
    with pd.option_context(
        "display.width", 200, "display.max_rows", 500, "display.max_columns", 20
    ):
        try:
            if args.command == "params":
                print(diff_params(MlflowClient(), args.run_a, args.run_b).to_string(index=False))
                return
            runs = runs_table(args.experiment)
            if args.command == "leaderboard":
                board = leaderboard_across_runs(runs, args.metric).head(args.top)
                print(board.to_string(index=False))
            else:
                table = compare_runs(runs, args.run_a, args.run_b, changed_only=not args.all)
                print(table.to_string(index=False))
        except ValueError as exc:
            parser.error(str(exc))


if __name__ == "__main__":
    main()
