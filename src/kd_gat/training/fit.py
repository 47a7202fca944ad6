"""Train one detector of the roster: build the model, data, loss and Lightning module, then fit.

The single entry point of the training and distillation stages (a `teacher` turns the loss into
that kind's distillation loss: α·T²·KL + (1−α)·CE for the GAT, (1−α)·task + α·(latent +
reconstruction matching) for the VGAE).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import lightning as L
import pandas as pd
from torch import nn
from torch_geometric.data import Data

from kd_gat.fingerprint import check_same, dataset_of, fingerprint, table_digest
from kd_gat.models import build_model, count_parameters
from kd_gat.params.distillation import DistillationParams
from kd_gat.params.training import resolve_job
from kd_gat.roster import Detector
from kd_gat.training.callbacks import mlflow_sink
from kd_gat.training.datamodule import GraphDataModule, data_sizes
from kd_gat.training.distillation import distillation_loss
from kd_gat.training.losses import task_loss
from kd_gat.training.modules import MODULES
from kd_gat.training.trainer import fit

log = logging.getLogger(__name__)


def train_detector(
    graphs_train: Sequence[Data],
    graphs_val: Sequence[Data],
    training: Mapping[str, Any],
    trainer: Mapping[str, Any],
    model_scales: Mapping[str, Any],
    detector_overrides: Mapping[str, Any] | None = None,
    teacher: nn.Module | None = None,
    distillation: Mapping[str, Any] | None = None,
    profile_graphs: Sequence[Data] | None = None,
    *,
    detector: Detector,
) -> tuple[nn.Module, pd.DataFrame]:
    """Train `detector` and return it (best validation epoch, eval mode, CPU) and its history.

    The node function of the training and distillation stages (the roster entry bound per
    namespace with `kd_gat.pipelines.templates.bind`). Kedro does all dataset I/O; the exception
    is the fit's checkpoint folder `<training.checkpoint_root>/<name>/`, which Lightning writes
    so that an interrupted run resumes. Per-epoch metrics also go to the active MLflow run.

    The VGAE trains on the normal windows of `graphs_train` only; the GAT on all of them,
    with the class imbalance handled as `training.imbalance` says. With a `teacher` (same kind,
    frozen), the loss becomes the distillation loss of that kind (`distillation.<kind>`); with
    `profile_graphs` (unlabelled windows of other cars) the student also learns its teacher's
    outputs there (the distillation term alone).
    """
    spec = resolve_job(detector, training, trainer, model_scales, detector_overrides)
    cfg = spec.training
    data_fp = getattr(graphs_train, "fingerprint", "")
    check_same("graphs_train", data_fp, "graphs_val", getattr(graphs_val, "fingerprint", ""))
    if teacher is not None:
        check_same(f"{detector.teacher}.model", teacher.fingerprint, "graphs_train", data_fp)
    if profile_graphs is not None:
        if teacher is None:
            raise ValueError(f"{detector.name}: profile windows teach only a distilled student")
        profile_fp = getattr(profile_graphs, "fingerprint", "")
        check_same("distillation_graphs", profile_fp, "graphs_train", data_fp)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    model = build_model(spec.kind, spec.model.model_dump(), **data_sizes(graphs_train))
    model.fingerprint = data_fp
    model.name = detector.name
    datamodule = GraphDataModule(
        graphs_train,
        graphs_val,
        batch_size=cfg.batch_size,
        eval_batch_size=cfg.eval_batch_size,
        num_workers=cfg.num_workers,
        normal_only=spec.kind == "vgae",
        balanced=spec.kind == "gat" and cfg.imbalance == "sampler",
        seed=cfg.seed,
        profile=profile_graphs,
    )
    loss = task_loss(spec.kind, datamodule.train_labels, cfg.imbalance, cfg.vgae)
    if teacher is not None:
        kd = DistillationParams.model_validate(distillation or {})
        loss = distillation_loss(spec.kind, loss, model, teacher, kd)
    module = MODULES[spec.kind](
        model,
        loss,
        lr=cfg.lr,
        weight_decay=cfg.weight_decay,
        teacher=teacher,
        # what a checkpoint must match to be resumed: data, architecture, optimisation
        fingerprint=fingerprint(
            dataset_of(data_fp),
            data_fp,
            spec.model.model_dump(),
            cfg.model_dump(exclude={"max_epochs", "patience", "resume", "num_workers"}),
            getattr(teacher, "fingerprint", None),
            dict(distillation or {}) if teacher is not None else None,
            None if profile_graphs is None else table_digest(profile_graphs.windows),
        ),
    )
    log.info(
        "%s: %s %s, %d parameters, %d training windows%s",
        spec.name,
        spec.kind,
        detector.scale,
        count_parameters(model),
        len(datamodule.train_indices),
        "" if profile_graphs is None else f", {len(profile_graphs)} unlabelled profile windows",
    )
    result = fit(module, datamodule, spec.trainer, cfg, spec.checkpoint_dir, mlflow_sink(spec.name))
    log.info("%s: best %s = %s", spec.name, result.monitor, result.best_score)
    if teacher is not None:
        teacher.cpu()  # the fit may have moved it to an accelerator
    return module.model.cpu().eval(), result.history
