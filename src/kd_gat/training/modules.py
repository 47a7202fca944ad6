"""LightningModules wrapping the plain models: optimisation, validation metrics, the NaN guard.

They know nothing of file paths or Kedro. The loss is injected (see `losses.py`), and so is an
optional frozen `teacher` whose output is handed to the loss: distillation reuses these modules
with another loss instead of subclassing them. The teacher is held outside the module's
sub-modules, so it is neither optimised, nor switched to train mode, nor saved in the student's
checkpoints. `predict_step` gives the model's per-window outputs (what scoring collects).
"""

from __future__ import annotations

import logging
from typing import ClassVar

import lightning as L
import torch
from torch import Tensor, nn
from torchmetrics import MeanMetric, SumMetric
from torchmetrics.classification import BinaryAUROC, BinaryF1Score

log = logging.getLogger(__name__)


class GraphModule(L.LightningModule):
    """Shared training loop: loss on `model(batch)`, AdamW, skip of non-finite losses.

    `monitor` is the validation metric and mode that early stopping and the best checkpoint use.
    A batch whose loss is not finite is skipped (no backward, no optimizer step) and flagged in
    `nonfinite_step`; `callbacks.NonFiniteGuard` counts the flags and stops the run past a limit.
    `loss_fn`, `lr` and `weight_decay` may be None for a module that only predicts.
    """

    monitor: ClassVar[tuple[str, str]] = ("val_loss", "min")

    def __init__(
        self,
        model: nn.Module,
        loss_fn: nn.Module | None = None,
        *,
        lr: float | None = None,
        weight_decay: float | None = None,
        teacher: nn.Module | None = None,
        fingerprint: str = "",
    ) -> None:
        super().__init__()
        # what rebuilds the model, the optimiser settings and the fingerprint of data and
        # parameters (checked before resuming) travel in every checkpoint
        self.save_hyperparameters(
            {
                "kind": model.kind,
                "config": dict(model.config),
                "lr": lr,
                "weight_decay": weight_decay,
                "teacher": None if teacher is None else teacher.kind,
                "fingerprint": fingerprint,
            }
        )
        self.model = model
        self.loss_fn = loss_fn
        # a tuple is not a registered sub-module: the teacher stays out of state_dict,
        # parameters() and train()
        self._teacher = () if teacher is None else (teacher.requires_grad_(False).eval(),)
        self.nonfinite_step = False
        self.val_auroc = BinaryAUROC()
        self.val_positives = SumMetric()
        self.val_windows = SumMetric()

    def on_fit_start(self) -> None:
        for teacher in self._teacher:
            teacher.to(self.device)

    def update_auroc(self, prob: Tensor, y: Tensor) -> None:
        self.val_auroc.update(prob, y)
        self.val_positives.update(y.sum())
        self.val_windows.update(y.numel())

    def log_auroc(self) -> None:
        """Log `val_auroc` when validation holds both classes (AUROC is undefined otherwise).

        The class counts are synchronised metrics, so every DDP rank takes the same branch.
        """
        positives, windows = self.val_positives.compute(), self.val_windows.compute()
        if 0 < positives < windows:
            self.log("val_auroc", self.val_auroc.compute(), prog_bar=True, sync_dist=True)
        for metric in (self.val_auroc, self.val_positives, self.val_windows):
            metric.reset()

    def forward(self, batch):
        return self.model(batch)

    def teacher_output(self, batch):
        if not self._teacher:
            return None
        with torch.no_grad():
            return self._teacher[0](batch)

    def compute_loss(self, batch):
        """(model output, LossOutput) of one batch."""
        output = self.model(batch)
        return output, self.loss_fn(output, batch, self.teacher_output(batch))

    def training_step(self, batch, batch_idx: int) -> Tensor | None:
        """The loss of a training batch; a `{"train": …, "profile": …}` batch (a student that
        also learns on profile windows) adds the distillation term on the unlabelled profile
        windows (`loss_fn.transfer`) to the loss of the labelled ones."""
        profile = None
        if isinstance(batch, dict):
            batch, profile = batch["train"], batch["profile"]
        _, result = self.compute_loss(batch)
        loss, parts = result.loss, dict(result.parts)
        if profile is not None:
            transfer = self.loss_fn.transfer(
                self.model(profile), profile, self.teacher_output(profile)
            )
            loss = loss + transfer
            parts["kd_profile"] = transfer.detach()
        self.nonfinite_step = not bool(torch.isfinite(loss))
        if self.nonfinite_step:
            return self._skip(loss)
        n = batch.num_graphs
        epoch = {"on_epoch": True, "on_step": False, "batch_size": n, "sync_dist": True}
        self.log("train_loss", loss, prog_bar=True, **epoch)
        for name, value in parts.items():
            self.log(f"train_{name}", value, **epoch)
        return loss

    def _skip(self, loss: Tensor) -> Tensor | None:
        """Skip a non-finite batch: None on one process; a zero-gradient loss under DDP,
        where Lightning forbids None (all ranks must take part in the gradient all-reduce)."""
        log.warning(
            "non-finite training loss (%s) at step %d: batch skipped", loss.item(), self.global_step
        )
        if self.trainer.world_size == 1:
            return None
        return sum(p.sum() for p in self.parameters() if p.requires_grad) * 0.0

    def predict_step(self, batch, batch_idx: int, dataloader_idx: int = 0) -> dict[str, Tensor]:
        """Per window: `window`, `label`, `score` and the model's fusion state columns."""
        return {"window": batch.window.view(-1), "label": batch.y.view(-1)} | (
            self.model.window_outputs(batch)
        )

    def configure_optimizers(self):
        params = [p for m in (self.model, self.loss_fn) for p in m.parameters() if p.requires_grad]
        return torch.optim.AdamW(
            params, lr=self.hparams["lr"], weight_decay=self.hparams["weight_decay"]
        )


class GATModule(GraphModule):
    """Supervised window classifier: val loss, F1 at p(attack) ≥ 0.5, AUROC."""

    monitor: ClassVar[tuple[str, str]] = ("val_f1", "max")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.val_f1 = BinaryF1Score()
        self.val_loss = MeanMetric()

    def validation_step(self, batch, batch_idx: int) -> None:
        logits, result = self.compute_loss(batch)
        prob = self.model.attack_probability(logits)
        y = batch.y.view(-1)
        self.val_loss.update(result.loss, weight=batch.num_graphs)
        self.val_f1.update(prob, y)
        self.update_auroc(prob, y)

    def on_validation_epoch_end(self) -> None:
        # torchmetrics' compute() already syncs across processes: the same value on every rank
        self.log("val_loss", self.val_loss.compute(), prog_bar=True, sync_dist=True)
        self.log("val_f1", self.val_f1.compute(), prog_bar=True, sync_dist=True)
        self.log_auroc()
        self.val_loss.reset()
        self.val_f1.reset()


class VGAEModule(GraphModule):
    """Anomaly detector trained on normal windows.

    `val_loss` is the mean anomaly score (deterministic reconstruction error) of the normal
    validation windows; `val_auroc` ranks all validation windows by score, when both classes
    are present.
    """

    monitor: ClassVar[tuple[str, str]] = ("val_loss", "min")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.val_loss = MeanMetric()

    def validation_step(self, batch, batch_idx: int) -> None:
        score = self.model.anomaly_score(batch).float()
        y = batch.y.view(-1)
        normal = y == 0
        if normal.any():
            self.val_loss.update(score[normal])
        # score ≥ 0; s/(1+s) is monotone and, unlike a sigmoid, does not saturate to ties
        self.update_auroc(score / (1 + score), y)

    def on_validation_epoch_end(self) -> None:
        self.log("val_loss", self.val_loss.compute(), prog_bar=True, sync_dist=True)
        self.log_auroc()
        self.val_loss.reset()


MODULES: dict[str, type[GraphModule]] = {"gat": GATModule, "vgae": VGAEModule}
