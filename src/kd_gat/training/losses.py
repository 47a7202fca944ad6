"""Training objectives as swappable modules.

Every loss is called as `loss_fn(output, batch, teacher_output=None) -> LossOutput`, where
`output` is the student model's forward output and `teacher_output` the frozen teacher's (None
without distillation). A distillation loss is another module with the same call, so the
LightningModules never change; a loss may own parameters (e.g. a projection of student μ onto
teacher μ), which the LightningModule optimises with the model's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from kd_gat.balance import class_weights
from kd_gat.models.vgae import VGAEOutput, kl_divergence, reconstruction_errors
from kd_gat.params.training import VGAELossParams


@dataclass
class LossOutput:
    """The scalar to minimise and its named parts (logged as `<stage>_<name>`)."""

    loss: Tensor
    parts: dict[str, Tensor] = field(default_factory=dict)


class ClassificationLoss(nn.Module):
    """Cross-entropy of window logits against `batch.y`, optionally class-weighted."""

    def __init__(self, weight: Tensor | None = None) -> None:
        super().__init__()
        self.register_buffer("weight", weight)

    def forward(self, logits: Tensor, batch, teacher_output=None) -> LossOutput:
        loss = F.cross_entropy(logits, batch.y.view(-1), weight=self.weight)
        return LossOutput(loss, {"ce": loss.detach()})


class VGAELoss(nn.Module):
    """Reconstruction (features MSE + CAN-ID CE + edge/non-edge BCE) + `kl_weight` · KL."""

    def __init__(self, params: VGAELossParams) -> None:
        super().__init__()
        self.kl_weight = params.kl_weight
        self.weights = (params.feature_weight, params.id_weight, params.edge_weight)

    def forward(self, output: VGAEOutput, batch, teacher_output=None) -> LossOutput:
        err = reconstruction_errors(output, batch)
        edge = err.edge.mean() if err.edge.numel() else err.edge.sum()
        if err.non_edge is not None and err.non_edge.numel():
            edge = 0.5 * (edge + err.non_edge.mean())
        parts = {"feature": err.feature.mean(), "can_id": err.can_id.mean(), "edge": edge}
        recon = sum(w * p for w, p in zip(self.weights, parts.values(), strict=True))
        kl = kl_divergence(output.mu, output.logvar)
        loss = recon + self.kl_weight * kl
        return LossOutput(loss, {**{k: v.detach() for k, v in parts.items()}, "kl": kl.detach()})


def task_loss(kind: str, labels: np.ndarray, imbalance: str, vgae: VGAELossParams) -> nn.Module:
    """The non-distillation loss of a model kind.

    GAT: cross-entropy, class-weighted from the train `labels` when `imbalance` is
    `class_weights` (with `sampler` the batches are already balanced, so unweighted).
    VGAE: reconstruction + KL, weighted by `vgae`.
    """
    if kind == "gat":
        weight = torch.tensor(class_weights(labels), dtype=torch.float32)
        return ClassificationLoss(weight if imbalance == "class_weights" else None)
    if kind == "vgae":
        return VGAELoss(vgae)
    raise ValueError(f"unknown model kind {kind!r}")
