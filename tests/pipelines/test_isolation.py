"""One run, one dataset, one set of artifacts — checked on real `kedro run`s of the smoke project:
a second dataset keeps the first one's results, a second run on a dataset is refused while one is
going, a partial run never reads another dataset's artifacts, and bad parameters stop a run
before any node."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from kd_gat.tracking import DatasetLock

pytestmark = pytest.mark.e2e


def digests(folder) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_two_datasets_one_after_the_other_keep_both_results(smoke_run):
    raw = smoke_run.path("data/01_raw/can-train-and-test")
    shutil.copytree(raw / "set_01", raw / "set_01b")
    before = {layer: digests(smoke_run.path(f"data/{layer}/set_01")) for layer in (
        "02_intermediate", "05_model_input", "06_models", "08_reporting")}  # fmt: skip
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"}
    proc = subprocess.run(
        [sys.executable, "-m", "kd_gat.protocol", "run", "--datasets", "set_01b", "--env", "smoke"],
        cwd=smoke_run.root, env=env, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    for layer, files in before.items():  # set_01's artifacts are untouched ...
        assert digests(smoke_run.path(f"data/{layer}/set_01")) == files, layer
    (metrics,) = smoke_run.path("data/08_reporting/set_01b/metrics.csv").glob("*/metrics.csv")
    assert len(pd.read_csv(metrics)) > 0  # ... and set_01b has its own
    combined = subprocess.run(
        [sys.executable, "-m", "kd_gat.protocol", "combine", "--datasets", "set_01,set_01b"],
        cwd=smoke_run.root, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert combined.returncode == 0, combined.stderr[-3000:]
    table = pd.read_csv(smoke_run.path("data/08_reporting/protocol/f1.csv"))
    assert {"set_01/mean", "set_01b/mean", "mean"} <= set(table.columns)
    # same frames, same seed: the two sets give the same results, each under its own name
    assert table["set_01/mean"].tolist() == pytest.approx(table["set_01b/mean"].tolist())


def test_a_second_run_on_a_dataset_is_refused_while_one_is_going(smoke_run):
    lock = DatasetLock(smoke_run.path("data/locks"), "set_01")
    lock.acquire()  # as a run in progress holds it
    try:
        proc = smoke_run.run("--env", "smoke", "--pipeline", "ingestion", check=False)
    finally:
        lock.release()
    assert proc.returncode != 0
    out = " ".join((proc.stdout + proc.stderr).split())
    assert "another kedro run on dataset 'set_01' is in progress" in out
    assert "Running node" not in out


def test_a_partial_run_stops_naming_what_its_dataset_lacks(smoke_run):
    proc = smoke_run.run("--env", "smoke", "--pipeline", "graphs", "--params", "dataset=set_09",
                         check=False)  # fmt: skip
    assert proc.returncode != 0
    out = " ".join((proc.stdout + proc.stderr).split())
    assert "do not exist for dataset 'set_09'" in out
    assert "02_intermediate/set_09/frames.parquet" in out.replace(" ", "")
    assert "Running node" not in out


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("trainng.max_epochs=1", "unknown parameter 'trainng'; did you mean 'training'?"),
        ("dataset=", "validation error for RunParams dataset"),
    ],
)
def test_bad_parameters_stop_the_run_before_any_node(smoke_run, params, message):
    proc = smoke_run.run("--env", "smoke", "--params", params, check=False)
    assert proc.returncode != 0
    out = " ".join((proc.stdout + proc.stderr).split())
    assert message in out
    assert "Running node" not in out
