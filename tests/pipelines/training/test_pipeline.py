"""Training stage: one template per namespace from the roster, the catalog factories that give
every namespace its outputs, and the stage run in-process on the sample's graph stores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from kedro.io import DataCatalog
from matplotlib.figure import Figure

from kd_gat import roster
from kd_gat.datasets.torch_model import TorchModelDataset
from kd_gat.models import count_parameters
from kd_gat.pipelines.templates import FIT_INPUTS
from kd_gat.pipelines.training import create_pipeline
from tests.pipelines.conftest import config_loader, run_stage

TRAINED = {d.name: d for d in roster.trained()}
SHARED_INPUTS = {*FIT_INPUTS.values()}


def test_one_template_per_namespace_from_the_roster() -> None:
    pipe = create_pipeline()
    assert {n.namespace for n in pipe.nodes} == set(TRAINED)
    for name, detector in TRAINED.items():
        fit = next(n for n in pipe.nodes if n.name == f"{name}.train_{name}")
        assert set(fit.inputs) == SHARED_INPUTS
        assert fit.outputs == [f"{name}.model", f"{name}.training_history"]
        assert fit.func.keywords == {"detector": detector}  # the roster entry, bound
        plot = next(n for n in pipe.nodes if n.name == f"{name}.plot_{name}_learning_curves")
        assert plot.inputs == [f"{name}.training_history"]
        assert plot.outputs == [f"{name}.learning_curves"]
    assert pipe.inputs() == SHARED_INPUTS
    assert pipe.all_outputs() == {
        f"{name}.{out}"
        for name in TRAINED
        for out in ("model", "training_history", "learning_curves")
    }


def test_catalog_factories_give_every_detector_its_outputs() -> None:
    catalog = DataCatalog.from_config(config_loader("base")["catalog"])
    for name in roster.detector_names():
        model = catalog.get(f"{name}.model")
        assert isinstance(model, TorchModelDataset)
        assert Path(model._describe()["filepath"]).name == f"{name}.pt"
        assert model._version is not None  # versioned
        assert catalog.get(f"{name}.training_history") is not None
        assert catalog.get(f"{name}.learning_curves") is not None


def test_every_trained_detector_has_its_kind_and_scale(training_run, stage_params) -> None:
    scales = stage_params["model_scales"]
    for name, detector in TRAINED.items():
        model = training_run[f"{name}.model"]
        assert model.kind == detector.kind
        preset = scales[detector.kind][detector.scale]
        assert {k: model.config[k] for k in preset} == preset, name
        assert not model.training  # handed over in eval mode
    sizes = {name: count_parameters(training_run[f"{name}.model"]) for name in TRAINED}
    for kind in ("gat", "vgae"):
        assert sizes[f"{kind}_teacher"] > sizes[f"{kind}_student"]


def test_every_trained_detector_has_a_history_and_learning_curves(
    training_run, stage_params
) -> None:
    max_epochs = stage_params["training"]["max_epochs"]
    for name, detector in TRAINED.items():
        history = training_run[f"{name}.training_history"]
        assert 1 <= len(history) <= max_epochs
        assert history["epoch"].tolist() == list(range(len(history)))
        assert np.isfinite(history[["train_loss", "val_loss"]].to_numpy()).all()
        if detector.kind == "gat":
            assert history["val_f1"].between(0, 1).all()
        assert not [c for c in history.columns if c.startswith("train_kd_")]  # no teacher
        figure = training_run[f"{name}.learning_curves"]
        assert isinstance(figure, Figure)
        assert [ax.get_title() for ax in figure.axes] == [f"{name}: loss", f"{name}: validation"]


def test_the_model_is_the_best_checkpoint_and_the_resume_file_is_gone(
    training_run, stage_params
) -> None:
    root = Path(stage_params["training"]["checkpoint_root"])
    for name in TRAINED:
        assert not (root / name / "last.ckpt").exists()  # removed once the fit completed
        saved = torch.load(root / name / "best.ckpt", weights_only=True)["state_dict"]
        model = training_run[f"{name}.model"]
        for key, tensor in model.state_dict().items():
            assert torch.equal(tensor, saved[f"model.{key}"]), (name, key)


def test_detector_overrides_change_one_namespace_only(graphs_run, params, tmp_path) -> None:
    params["training"]["checkpoint_root"] = str(tmp_path)
    params["detector_overrides"] = {
        "gat_student": {"model": {"hidden": 12}, "training": {"max_epochs": 1}}
    }
    run = run_stage(
        "training", graphs_run.artifacts, params, namespaces=["gat_student", "gat_teacher"]
    )
    assert {n.namespace for n in run.pipeline.nodes} == {"gat_student", "gat_teacher"}
    assert run["gat_student.model"].config["hidden"] == 12
    assert len(run["gat_student.training_history"]) == 1
    large = params["model_scales"]["gat"]["large"]
    assert run["gat_teacher.model"].config["hidden"] == large["hidden"]
    assert params["training"]["max_epochs"] > 1


def test_a_namespace_rerun_alone_gives_the_same_model(training_run, graphs_run, params, tmp_path):
    """Same seed and data, same model: the stage's namespaces do not depend on each other or on
    the order they ran in."""
    params["training"]["checkpoint_root"] = str(tmp_path)
    again = run_stage("training", graphs_run.artifacts, params, namespaces=["vgae_student"])
    first, second = training_run["vgae_student.model"], again["vgae_student.model"]
    for key, tensor in first.state_dict().items():
        assert torch.equal(tensor, second.state_dict()[key]), key
