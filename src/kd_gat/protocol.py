"""The whole protocol over several datasets, one command, and one table the way papers report
can-train-and-test: per dataset and scenario, and the mean.

    python -m kd_gat.protocol run --datasets set_01,set_02 [--env ENV] [--params K=V,...]
    python -m kd_gat.protocol combine --datasets set_01,set_02 [--metric f1]

`run` is a loop of `kedro run --params dataset=<set>` (each set in its own
`data/<layer>/<set>/` folders, one after the other), then `combine`. `combine` reads each set's
latest `data/08_reporting/<set>/metrics.csv` and writes `data/08_reporting/protocol/`:
`metrics.csv` (long: dataset, model, scenario, every metric) and `<metric>.csv` / `.md` (model ×
dataset/scenario, with the mean per dataset and over all cells).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pandas as pd

REPORTING = Path("data/08_reporting")


def latest_metrics(root: Path, dataset: str) -> pd.DataFrame:
    """The newest version of a dataset's `metrics.csv` (versioned: `metrics.csv/<version>/`)."""
    versions = sorted((root / REPORTING / dataset / "metrics.csv").glob("*/metrics.csv"))
    if not versions:
        raise FileNotFoundError(
            f"no metrics for dataset {dataset!r} under {root / REPORTING / dataset}: run "
            f"`python -m kd_gat.protocol run --datasets {dataset}` first"
        )
    return pd.read_csv(versions[-1]).assign(dataset=dataset)


def combine(metrics: pd.DataFrame, metric: str = "f1") -> pd.DataFrame:
    """(Model, operating point) × `<dataset>/<scenario>` of one metric, plus `<dataset>/mean` and
    `mean` columns."""
    keys = ["model", "operating_point"]
    cells = metrics.assign(cell=metrics["dataset"] + "/" + metrics["scenario"])
    wide = cells.pivot_table(index=keys, columns="cell", values=metric, aggfunc="first")
    per_set = metrics.groupby([*keys, "dataset"])[metric].mean().unstack("dataset")
    wide = wide.join(per_set.add_suffix("/mean"))
    wide["mean"] = metrics.groupby(keys)[metric].mean()
    ordered = [*sorted(c for c in wide.columns if c != "mean"), "mean"]
    return wide[ordered].sort_values("mean", ascending=False).reset_index()


def write_combined(root: Path, datasets: list[str], metric: str) -> pd.DataFrame:
    long = pd.concat([latest_metrics(root, d) for d in datasets], ignore_index=True)
    table = combine(long, metric)
    out = root / REPORTING / "protocol"
    out.mkdir(parents=True, exist_ok=True)
    long.to_csv(out / "metrics.csv", index=False)
    table.to_csv(out / f"{metric}.csv", index=False)
    title = f"# {metric} per dataset and scenario ({', '.join(datasets)})\n\n"
    (out / f"{metric}.md").write_text(title + table.to_markdown(index=False, floatfmt=".4f") + "\n")
    return table


def run_datasets(datasets: list[str], env: str | None, params: str | None) -> None:
    """`kedro run` once per dataset, in this folder, one after the other; stop at a failure."""
    for dataset in datasets:
        extra = f"dataset={dataset}" + (f",{params}" if params else "")
        command = [sys.executable, "-m", "kedro", "run", "--params", extra]
        if env:
            command += ["--env", env]
        print(f"protocol: {' '.join(command[1:])}", flush=True)
        subprocess.run(command, check=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m kd_gat.protocol", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("run", "combine"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--datasets", required=True, help="comma-separated, e.g. set_01,set_02")
        cmd.add_argument("--metric", default="f1")
        if name == "run":
            cmd.add_argument("--env")
            cmd.add_argument("--params", help="more `--params` for every run")
    args = parser.parse_args(argv)
    datasets = [d for d in args.datasets.split(",") if d]
    if args.command == "run":
        run_datasets(datasets, args.env, args.params)
    table = write_combined(Path.cwd(), datasets, args.metric)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(table.to_string(index=False))


if __name__ == "__main__":
    main()
