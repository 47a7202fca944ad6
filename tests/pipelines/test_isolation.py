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
from tests.conftest import KedroProject, copy_project

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> KedroProject:
    """A project of its own (the shared smoke run's MLflow store and folders stay as they are)
    with the shipped set_01 also present as set_01b."""
    project = copy_project(tmp_path_factory.mktemp("isolation") / "project")
    raw = project.path("data/01_raw/can-train-and-test")
    shutil.copytree(raw / "set_01", raw / "set_01b")
    return project


def protocol(project: KedroProject, *args: str) -> None:
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"}
    proc = subprocess.run(
        [sys.executable, "-m", "kd_gat.protocol", *args],
        cwd=project.root, env=env, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]


def digests(folder) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_two_datasets_one_after_the_other_keep_both_results(project):
    protocol(project, "run", "--datasets", "set_01", "--env", "smoke")
    before = {layer: digests(project.path(f"data/{layer}/set_01")) for layer in (
        "02_intermediate", "05_model_input", "06_models", "08_reporting")}  # fmt: skip
    protocol(project, "run", "--datasets", "set_01b", "--env", "smoke")
    for layer, files in before.items():  # set_01's artifacts are untouched ...
        assert digests(project.path(f"data/{layer}/set_01")) == files, layer
    (metrics,) = project.path("data/08_reporting/set_01b/metrics.csv").glob("*/metrics.csv")
    assert len(pd.read_csv(metrics)) > 0  # ... and set_01b has its own
    protocol(project, "combine", "--datasets", "set_01,set_01b")
    table = pd.read_csv(project.path("data/08_reporting/protocol/f1.csv"))
    assert {"set_01/mean", "set_01b/mean", "mean"} <= set(table.columns)
    # same frames, same seed: the two sets give the same results, each under its own name
    assert table["set_01/mean"].tolist() == pytest.approx(table["set_01b/mean"].tolist())


def test_a_second_run_on_a_dataset_is_refused_while_one_is_going(project):
    lock = DatasetLock(project.path("data/locks"), "set_01")
    lock.acquire()  # as a run in progress holds it
    try:
        proc = project.run("--env", "smoke", "--pipelines", "ingestion", check=False)
    finally:
        lock.release()
    assert proc.returncode != 0
    out = " ".join((proc.stdout + proc.stderr).split())
    assert "another kedro run on dataset 'set_01' is in progress" in out
    assert "Running node" not in out


def test_a_partial_run_stops_naming_what_its_dataset_lacks(project):
    proc = project.run("--env", "smoke", "--pipelines", "graphs", "--params", "dataset=set_09",
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
def test_bad_parameters_stop_the_run_before_any_node(project, params, message):
    proc = project.run("--env", "smoke", "--params", params, check=False)
    assert proc.returncode != 0
    out = " ".join((proc.stdout + proc.stderr).split())
    assert message in out
    assert "Running node" not in out
