"""Training pipeline: one template under four namespaces, catalog factories, and an end-to-end
`kedro run --env smoke` after ingestion and graphs."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest
import torch
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog

from kd_gat.datasets.torch_model import TorchModelDataset
from kd_gat.pipelines.training import create_pipeline
from kd_gat.pipelines.training.pipeline import JOBS
from kd_gat.training.checkpoint import load_model
from tests.conftest import PROJECT


def test_one_template_per_namespace():
    pipe = create_pipeline()
    assert {n.namespace for n in pipe.nodes} == set(JOBS)
    for job in JOBS:
        train = next(n for n in pipe.nodes if n.name == f"{job}.train_model")
        assert train.inputs == [
            "graphs_train",
            "graphs_val",
            f"params:{job}",
            "params:training",
            "params:trainer",
            "params:model_scales",
        ]
        assert train.outputs == [f"{job}.model", f"{job}.training_history"]
    assert pipe.inputs() == {
        "graphs_train",
        "graphs_val",
        "params:training",
        "params:trainer",
        "params:model_scales",
        *(f"params:{job}" for job in JOBS),
    }


def test_catalog_factories_give_every_namespace_its_outputs():
    conf = OmegaConfigLoader(str(PROJECT / "conf"), base_env="base", default_run_env="base")
    catalog = DataCatalog.from_config(conf["catalog"])
    for job in JOBS:
        model = catalog.get(f"{job}.model")
        assert isinstance(model, TorchModelDataset)
        assert model._describe()["filepath"].name == f"{job}.pt"
        assert model._version is not None  # versioned
        assert catalog.get(f"{job}.training_history") is not None
        assert catalog.get(f"{job}.learning_curves") is not None


@pytest.mark.e2e
def test_kedro_run_smoke_trains_every_model(kedro_project):
    pytest.importorskip("kd_gat.pipelines.graphs")
    kedro_project.run("--env", "smoke", "--pipelines", "ingestion")
    kedro_project.run("--env", "smoke", "--pipelines", "graphs")
    kedro_project.run("--env", "smoke", "--pipelines", "training")

    mlflow.set_tracking_uri(f"sqlite:///{kedro_project.path('data/08_reporting/mlflow_smoke.db')}")
    run = mlflow.search_runs(experiment_names=["kd-gat-smoke"]).iloc[0]
    for job in JOBS:
        (saved,) = kedro_project.path(f"data/06_models/{job}.pt").glob(f"*/{job}.pt")
        payload = torch.load(saved, weights_only=True)
        assert set(payload) == {"kind", "config", "state_dict"}
        assert load_model(saved).kind == payload["kind"]
        history = pd.read_csv(kedro_project.path(f"data/08_reporting/training/{job}_history.csv"))
        assert len(history) >= 1
        assert history["train_loss"].notna().all()
        assert kedro_project.path(f"data/08_reporting/training/{job}_learning_curves.png").exists()
        assert not kedro_project.path(f"data/06_models/checkpoints/{job}/last.ckpt").exists()
        assert f"metrics.{job}.val_loss" in run.index  # per-epoch metrics reached MLflow
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run.run_id, "models")}
    assert artifacts == {f"models/{job}.pt" for job in JOBS}
