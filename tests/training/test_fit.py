"""Fitting: learning, reproducibility, the non-finite guard, best checkpoint and resume."""

from __future__ import annotations

import io
import json
import logging

import lightning as L
import pandas as pd
import pytest
import torch
from kedro.io import DatasetError, Version
from torch_geometric.data import Batch

from kd_gat import roster
from kd_gat.datasets.torch_model import DeployedModelsDataset, TorchModelDataset
from kd_gat.models import build_model
from kd_gat.models.model_file import load_model, save_model
from kd_gat.params.training import MODEL_PARAMS, TrainerParams, TrainingParams
from kd_gat.reporting import learning_curves_figure
from kd_gat.roster import Detector
from kd_gat.training.callbacks import NonFiniteLossError
from kd_gat.training.datamodule import GraphDataModule, data_sizes
from kd_gat.training.fit import train_detector
from kd_gat.training.losses import ClassificationLoss
from kd_gat.training.modules import GATModule
from kd_gat.training.trainer import CheckpointError, fit
from tests.synthetic import synthetic_windows

TRAINER = {"enable_progress_bar": False, "enable_model_summary": False}
SCALES = {
    "gat": {"tiny": {"hidden": 16, "heads": 2, "layers": 2, "embed_dim": 4, "dropout": 0.0}},
    "vgae": {
        "tiny": {"hidden": 16, "heads": 2, "layers": 2, "embed_dim": 4, "latent": 8, "dropout": 0.0}
    },
}
SMALL = {"num_ids": 24, "node_dim": 4, "edge_dim": 2, "nodes": (4, 10)}


def tiny(kind: str, **changes) -> dict:
    """The tiny architecture with every default of its parameter model filled in."""
    return MODEL_PARAMS[kind](**{**SCALES[kind]["tiny"], **changes}).model_dump()


@pytest.fixture(scope="module")
def data():
    return synthetic_windows(96, seed=1, **SMALL), synthetic_windows(32, seed=2, **SMALL)


def run(data, tmp_path, kind="gat", **training):
    detector = Detector(f"{kind}_test", kind, "tiny")
    cfg = {"max_epochs": 4, "batch_size": 16, "patience": 10, "checkpoint_root": str(tmp_path)}
    return train_detector(*data, {**cfg, **training}, TRAINER, SCALES, detector=detector)


@pytest.mark.parametrize("kind", ["gat", "vgae"])
def test_loss_decreases_on_a_learnable_set(kind, data, tmp_path):
    _, history = run(data, tmp_path, kind, max_epochs=6, lr=5e-3)
    assert len(history) == 6
    assert history["train_loss"].iloc[-1] < 0.8 * history["train_loss"].iloc[0]
    assert history["val_auroc"].max() > 0.8  # attacks are separable in the synthetic set


def test_same_seed_and_data_give_the_same_metrics(data, tmp_path):
    _, first = run(data, tmp_path / "a", imbalance="sampler")
    _, second = run(data, tmp_path / "b", imbalance="sampler")
    _, other_seed = run(data, tmp_path / "c", imbalance="sampler", seed=7)
    metrics = [c for c in first.columns if c.startswith(("train_", "val_"))]
    pd.testing.assert_frame_equal(first[metrics], second[metrics])
    assert not first[metrics].equals(other_seed[metrics])


def test_kept_model_is_the_best_epoch_and_not_the_last(data, tmp_path):
    model, history = run(data, tmp_path, max_epochs=5, lr=5e-2)
    best_epoch = int(history["val_f1"].idxmax())
    ckpt = tmp_path / "gat_test"
    assert (ckpt / "best.ckpt").exists()
    assert not (ckpt / "last.ckpt").exists()  # removed once the run completed
    saved = torch.load(ckpt / "best.ckpt", weights_only=True)
    assert saved["epoch"] == history["epoch"].iloc[best_epoch]
    # save_hyperparameters: the checkpoint says how to rebuild the model and optimiser
    assert saved["hyper_parameters"]["config"] == model.config
    assert saved["hyper_parameters"]["kind"] == "gat"
    # the returned weights are the best checkpoint's
    state = {k.removeprefix("model."): v for k, v in saved["state_dict"].items()}
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, state[name])


def test_nonfinite_guard_skips_nan_batches_then_stops(data, tmp_path):
    train, val = data
    poisoned = type(train)([w.clone() for w in train], train.num_ids)
    poisoned[0].x[:] = float("nan")  # one batch per epoch gets a NaN loss
    model, history = run((poisoned, val), tmp_path, max_epochs=3, max_nonfinite_batches=5)
    assert history["nonfinite_batches"].tolist() == [1, 2, 3]
    assert all(torch.isfinite(p).all() for p in model.parameters())  # no step was taken on NaN
    with pytest.raises(NonFiniteLossError, match="3 batches had a non-finite loss"):
        run((poisoned, val), tmp_path / "strict", max_epochs=3, max_nonfinite_batches=2)


class Killed(RuntimeError):
    pass


class KilledInEpoch2(GATModule):
    """Dies on the first batch of epoch 2, as a run killed mid-epoch would."""

    def on_train_batch_start(self, batch, batch_idx: int) -> None:
        if self.current_epoch == 2:
            raise Killed


def fit_gat(data, tmp_path, module_cls=GATModule, fingerprint="data-a", **training):
    L.seed_everything(0, verbose=False)
    train, val = data
    model = build_model("gat", tiny("gat"), **data_sizes(train))
    module = module_cls(
        model, ClassificationLoss(), lr=1e-2, weight_decay=0.0, fingerprint=fingerprint
    )
    cfg = TrainingParams(
        max_epochs=4, batch_size=16, patience=10, checkpoint_root=str(tmp_path), **training
    )
    dm = GraphDataModule(train, val, batch_size=16, seed=0)
    return fit(module, dm, TrainerParams(**TRAINER), cfg, tmp_path)


def test_interrupted_run_resumes_from_last_checkpoint(data, tmp_path):
    with pytest.raises(Killed):
        fit_gat(data, tmp_path, KilledInEpoch2)
    assert (tmp_path / "last.ckpt").exists()
    before = torch.load(tmp_path / "last.ckpt", weights_only=True)["callbacks"]
    killed_rows = next(v["rows"] for k, v in before.items() if "MetricsHistory" in k)
    assert [r["epoch"] for r in killed_rows] == [0, 1]

    resumed = fit_gat(data, tmp_path, resume=True)
    assert resumed.history["epoch"].tolist() == [0, 1, 2, 3]  # epochs 0–1 not re-trained
    assert resumed.history.iloc[:2]["val_loss"].tolist() == [r["val_loss"] for r in killed_rows]
    assert not (tmp_path / "last.ckpt").exists()

    with pytest.raises(Killed):
        fit_gat(data, tmp_path, KilledInEpoch2)
    fresh = fit_gat(data, tmp_path, resume=False)  # resume off: starts from scratch …
    assert fresh.history["epoch"].tolist() == [0, 1, 2, 3]
    # … and, being seeded, re-trains epochs 0–1 exactly as the killed run did
    assert fresh.history.iloc[:2]["val_loss"].tolist() == [r["val_loss"] for r in killed_rows]


def test_a_checkpoint_of_other_data_is_not_resumed(data, tmp_path, caplog):
    with pytest.raises(Killed):
        fit_gat(data, tmp_path, KilledInEpoch2, fingerprint="data-a")
    with caplog.at_level(logging.WARNING, logger="kd_gat.training.trainer"):
        other = fit_gat(data, tmp_path, fingerprint="data-b", resume=True)
    assert other.history["epoch"].tolist() == [0, 1, 2, 3]  # started afresh ...
    assert "from other data or parameters (data-a, now data-b)" in caplog.text  # ... and said why


def test_an_unreadable_checkpoint_is_an_error_naming_it(data, tmp_path):
    (tmp_path / "last.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=r"last\.ckpt: unreadable checkpoint .* Delete it"):
        fit_gat(data, tmp_path, resume=True)


@pytest.mark.parametrize("kind", ["gat", "vgae"])
def test_checkpoint_round_trip_gives_identical_outputs(kind, data, tmp_path):
    model = build_model(kind, tiny(kind), **data_sizes(data[0])).eval()
    model.name, model.fingerprint = f"{kind}_student", "set_x:0123"
    batch = Batch.from_data_list(data[1][:8])
    buffer = io.BytesIO()
    save_model(model, buffer)
    buffer.seek(0)
    loaded = load_model(buffer)  # torch.load(weights_only=True) inside
    score = (lambda m: m(batch)) if kind == "gat" else (lambda m: m.anomaly_score(batch))
    assert torch.equal(score(model), score(loaded))
    assert loaded.config == model.config
    assert (loaded.name, loaded.fingerprint) == (f"{kind}_student", "set_x:0123")


def test_versioned_model_dataset_round_trip(data, tmp_path):
    model = build_model("vgae", tiny("vgae"), **data_sizes(data[0])).eval()
    path = str(tmp_path / "vgae.pt")
    TorchModelDataset(path, version=Version(None, "2026-01-01T00.00.00.000Z")).save(model)
    TorchModelDataset(path, version=Version(None, "2026-01-02T00.00.00.000Z")).save(model)
    assert len(list((tmp_path / "vgae.pt").iterdir())) == 2
    loaded = TorchModelDataset(path, version=Version(None, None)).load()  # latest version
    raw = torch.load(
        tmp_path / "vgae.pt" / "2026-01-02T00.00.00.000Z" / "vgae.pt", weights_only=True
    )
    assert set(raw) == {"kind", "config", "state_dict", "fingerprint", "name"}
    batch = Batch.from_data_list(data[1][:4])
    assert torch.equal(model.anomaly_score(batch), loaded.anomaly_score(batch))


def test_learning_curves_figure(data, tmp_path):
    _, history = run(data, tmp_path, max_epochs=2)
    fig = learning_curves_figure(gat_test=history)
    assert len(fig.axes) == 2
    assert all(ax.has_data() for ax in fig.axes)
    assert [ax.get_title() for ax in fig.axes] == ["gat_test: loss", "gat_test: validation"]
    both = learning_curves_figure(b=history, a=history)  # one row per model, sorted by name
    assert [ax.get_title() for ax in both.axes][::2] == ["a: loss", "b: loss"]


@pytest.mark.parametrize(
    ("kind", "kd_metric"), [("gat", "train_kd_kl"), ("vgae", "train_kd_latent")]
)
def test_training_node_accepts_a_frozen_teacher(kind, kd_metric, data, tmp_path):
    torch.manual_seed(0)
    teacher = build_model(kind, tiny(kind, hidden=32), **data_sizes(data[0])).eval()
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    detector = Detector(f"{kind}_kd", kind, "tiny", teacher="some_teacher")
    training = {"max_epochs": 2, "batch_size": 16, "checkpoint_root": str(tmp_path)}
    distillation = {"gat": {"alpha": 0.7, "temperature": 4.0}, "vgae": {"alpha": 0.5}}
    student, history = train_detector(
        *data,
        training,
        TRAINER,
        SCALES,
        teacher=teacher,
        distillation=distillation,
        detector=detector,
    )
    assert history[kd_metric].notna().all()
    assert all(torch.equal(v, before[k]) for k, v in teacher.state_dict().items())
    assert not teacher.training
    assert set(student.state_dict()) == set(
        build_model(kind, tiny(kind), **data_sizes(data[0])).state_dict()
    )
    # the teacher is not part of the student's checkpoint
    saved = torch.load(tmp_path / f"{kind}_kd" / "best.ckpt", weights_only=True)["state_dict"]
    assert not [k for k in saved if "teacher" in k]
    assert saved.keys() - {f"model.{k}" for k in student.state_dict()} <= {
        k for k in saved if k.startswith("loss_fn.")
    }


def test_deployed_models_are_the_latest_file_of_each_member(data, tmp_path):
    """A pair's alarm-level OR loads its VGAE's and its GAT's latest versions; a detector loads
    itself; saving through it is refused."""
    vgae, gat = roster.deployed_members("fusion_student.alarm_or")
    for name, kind in ((vgae, "vgae"), (gat, "gat")):
        for stamp in ("2026-01-01T00.00.00.000Z", "2026-01-02T00.00.00.000Z"):
            model = build_model(kind, tiny(kind), **data_sizes(data[0])).eval()
            model.name, model.fingerprint = name, stamp
            path = str(tmp_path / f"{name}.pt")
            TorchModelDataset(path, version=Version(None, stamp)).save(model)
    assert not DeployedModelsDataset(str(tmp_path), "fusion_teacher.alarm_or").exists()
    assert DeployedModelsDataset(str(tmp_path), "fusion_student.alarm_or").exists()
    loaded = DeployedModelsDataset(str(tmp_path), "fusion_student.alarm_or").load()
    assert set(loaded) == {vgae, gat}
    assert {m.fingerprint for m in loaded.values()} == {"2026-01-02T00.00.00.000Z"}
    assert set(DeployedModelsDataset(str(tmp_path), gat).load()) == {gat}
    with pytest.raises(DatasetError, match="written by training"):
        DeployedModelsDataset(str(tmp_path), gat).save(loaded)
    with pytest.raises(DatasetError, match="not deployable"):  # Kedro wraps load errors
        DeployedModelsDataset(str(tmp_path), "fusion_student.dqn").load()
    # `validated` deploys what the evaluation stage chose (its choice file), or says to run it
    choice = tmp_path / "deployment_choice.json"
    validated = DeployedModelsDataset(str(tmp_path), "validated", choice=str(choice))
    assert not validated.exists()
    with pytest.raises(DatasetError, match="run the evaluation stage"):
        validated.load()
    choice.write_text(json.dumps({"detector": "fusion_student.alarm_or"}))
    assert validated.exists()
    assert set(validated.load()) == {vgae, gat}
