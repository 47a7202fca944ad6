"""Training nodes: graph stores + parameters → trained model (best epoch) + per-epoch history.

Kedro does all dataset I/O. The one exception is the fit's own checkpoint folder
(`<training.checkpoint_root>/<job.name>/`), which Lightning writes so that an interrupted run
resumes; per-epoch metrics also go to the active MLflow run when kedro-mlflow opened one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import lightning as L
import pandas as pd
from matplotlib.figure import Figure
from torch import nn
from torch_geometric.data import Data

from kd_gat.models import build_model, count_parameters
from kd_gat.params.training import resolve_job
from kd_gat.training.callbacks import mlflow_sink
from kd_gat.training.datamodule import GraphDataModule, data_sizes
from kd_gat.training.distillation import distillation_loss
from kd_gat.training.losses import task_loss
from kd_gat.training.modules import MODULES
from kd_gat.training.trainer import fit

log = logging.getLogger(__name__)


def train_model(
    graphs_train: Sequence[Data],
    graphs_val: Sequence[Data],
    job: dict[str, Any],
    training: dict[str, Any],
    trainer: dict[str, Any],
    model_scales: dict[str, Any],
    teacher: nn.Module | None = None,
    distillation: dict[str, Any] | None = None,
) -> tuple[nn.Module, pd.DataFrame]:
    """Train the model described by `job` and return it (best validation epoch) and its history.

    The VGAE trains on the normal windows of `graphs_train` only; the GAT on all of them,
    with the class imbalance handled as `training.imbalance` says. With a `teacher` (same kind,
    frozen), the loss becomes the distillation loss of that kind, configured by
    `distillation[kind]` (the distillation pipeline's entry point).
    """
    spec = resolve_job(job, training, trainer, model_scales)
    cfg = spec.training
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    model = build_model(spec.kind, spec.model.model_dump(), **data_sizes(graphs_train))
    datamodule = GraphDataModule(
        graphs_train,
        graphs_val,
        batch_size=cfg.batch_size,
        eval_batch_size=cfg.eval_batch_size,
        num_workers=cfg.num_workers,
        normal_only=spec.kind == "vgae",
        balanced=spec.kind == "gat" and cfg.imbalance == "sampler",
        seed=cfg.seed,
    )
    loss = task_loss(spec.kind, datamodule.train_labels, cfg.imbalance, cfg.vgae)
    if teacher is not None:
        kd_params = (distillation or {}).get(spec.kind)
        loss = distillation_loss(spec.kind, loss, model, teacher, kd_params)
    module = MODULES[spec.kind](
        model, loss, lr=cfg.lr, weight_decay=cfg.weight_decay, teacher=teacher
    )
    log.info(
        "%s: %s %s, %d parameters, %d training windows",
        spec.name,
        spec.kind,
        job["scale"],
        count_parameters(model),
        len(datamodule.train_indices),
    )
    result = fit(module, datamodule, spec.trainer, cfg, spec.checkpoint_dir, mlflow_sink(spec.name))
    log.info("%s: best %s = %s", spec.name, result.monitor, result.best_score)
    if teacher is not None:
        teacher.cpu()  # the fit may have moved it to an accelerator
    return module.model.cpu().eval(), result.history


def plot_learning_curves(history: pd.DataFrame, job: dict[str, Any]) -> Figure:
    """Losses (left) and validation scores (right) per epoch."""
    fig = Figure(figsize=(10, 4), layout="constrained")
    ax_loss, ax_score = fig.subplots(1, 2)
    for column in ("train_loss", "val_loss"):
        if column in history:
            ax_loss.plot(history["epoch"], history[column], marker="o", label=column)
    for column in ("val_f1", "val_auroc"):
        if column in history:
            ax_score.plot(history["epoch"], history[column], marker="o", label=column)
    ax_loss.set(xlabel="epoch", ylabel="loss", title=f"{job['name']}: loss")
    ax_score.set(xlabel="epoch", ylabel="score", ylim=(0, 1.02), title=f"{job['name']}: validation")
    for ax in (ax_loss, ax_score):
        ax.grid(alpha=0.3)
        if ax.has_data():
            ax.legend()
    return fig
