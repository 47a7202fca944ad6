"""Run isolation and tracking: the dataset lock, MLflow run tags, runs left RUNNING by the dead."""

from __future__ import annotations

import socket
import subprocess
import sys
from types import SimpleNamespace

import pytest

from kd_gat.tracking import (
    DatasetLock,
    RunLockedError,
    global_rank,
    mark_dead_runs,
    run_tags,
)


def test_a_second_run_on_a_dataset_is_refused_until_the_first_ends(tmp_path):
    first = DatasetLock(tmp_path, "set_01")
    first.acquire()
    with pytest.raises(RunLockedError, match=r"another kedro run on dataset 'set_01' .*\"pid\""):
        DatasetLock(tmp_path, "set_01").acquire()
    other = DatasetLock(tmp_path, "set_02")  # another dataset runs alongside
    other.acquire()
    other.release()
    first.release()
    again = DatasetLock(tmp_path, "set_01")
    again.acquire()
    again.release()


def test_a_killed_holder_releases_the_lock(tmp_path):
    code = (
        "import sys, os; sys.path.insert(0, 'src');"
        "from kd_gat.tracking import DatasetLock;"
        f"DatasetLock(r'{tmp_path}', 'set_01').acquire(); os._exit(9)"
    )
    subprocess.run([sys.executable, "-c", code], check=False)
    lock = DatasetLock(tmp_path, "set_01")
    lock.acquire()  # the dead process's lock is gone
    lock.release()


def test_run_tags_name_the_data_pipeline_code_and_command(monkeypatch, tmp_path):
    argv = ["/x/bin/kedro", "run", "--params", "dataset=set_02,training.max_epochs=3"]
    monkeypatch.setattr(sys, "argv", argv)
    tags = run_tags("set_02", "training", "smoke", tmp_path)
    assert tags["mlflow.runName"] == "set_02 · training · smoke"
    assert tags["dataset"] == "set_02"
    assert tags["command"] == "kedro run --params dataset=set_02,training.max_epochs=3"
    assert tags["git_commit"] == "unknown"  # tmp_path is no git checkout
    monkeypatch.setattr(sys, "argv", ["/v/lib/kedro/__main__.py", "run", "--env", "smoke"])
    assert run_tags("s", "p", None, tmp_path)["command"] == "python -m kedro run --env smoke"


def _run(run_id, status, pid, host):
    tags = {"kd_gat.pid": str(pid), "kd_gat.host": host}
    return SimpleNamespace(info=SimpleNamespace(run_id=run_id), data=SimpleNamespace(tags=tags))


class FakeClient:
    def __init__(self, runs):
        self.runs, self.terminated = runs, {}

    def search_runs(self, experiments, query):
        assert query == "attributes.status = 'RUNNING'"
        return self.runs

    def set_terminated(self, run_id, status):
        self.terminated[run_id] = status


def test_runs_of_dead_processes_on_this_host_are_marked_killed():
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    host = socket.gethostname()
    client = FakeClient(
        [
            _run("dead", "RUNNING", finished.pid, host),
            _run("alive", "RUNNING", 1, host),  # pid 1 always exists
            _run("elsewhere", "RUNNING", finished.pid, "another-host"),
            _run("current", "RUNNING", finished.pid, host),
        ]
    )
    assert mark_dead_runs(client, "0", "current") == ["dead"]
    assert client.terminated == {"dead": "KILLED"}


def test_global_rank_reads_the_launcher_variables(monkeypatch):
    for name in ("RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert global_rank() == 0
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert global_rank() == 1


def test_a_detector_is_an_mlflow_model_that_loads_and_scores_like_itself(tmp_path):
    import mlflow
    import torch
    from torch_geometric.data import Batch

    from kd_gat.models import build_model
    from kd_gat.models.export import batch_inputs
    from kd_gat.tracking import log_detector
    from tests.synthetic import architecture, synthetic_windows

    windows = synthetic_windows(6, num_ids=16, node_dim=5, edge_dim=3, seed=0)
    arch = architecture("vgae", hidden=8, heads=2, layers=1, embed_dim=4, latent=4)
    model = build_model("vgae", arch, num_ids=16, node_dim=5, edge_dim=3).eval()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_experiment("detectors")  # not an experiment id cached by an earlier test
    try:
        with mlflow.start_run():
            example = Batch.from_data_list(windows[:2])
            uri = log_detector(model, example, "vgae_x", registered_name="kd-gat-vgae_x")
        loaded = mlflow.pytorch.load_model(uri)  # torch.export program: no pickle involved
        registered = mlflow.pytorch.load_model("models:/kd-gat-vgae_x/1")
    finally:
        mlflow.set_tracking_uri(None)
    # one window, and a batch of other node, edge and window counts than the input example
    for batch in (Batch.from_data_list(windows[2:3]), Batch.from_data_list(windows[1:])):
        args = tuple(torch.from_numpy(a) for a in batch_inputs(batch))
        expected = model.detect(batch)
        for program in (loaded, registered):
            score, node_score = program(*args)
            torch.testing.assert_close(score, expected[0], rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(node_score, expected[1], rtol=1e-5, atol=1e-6)
