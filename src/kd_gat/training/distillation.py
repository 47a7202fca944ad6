"""Knowledge-distillation losses: a student learns from a frozen teacher's outputs.

Same call as every loss in `losses.py` — `loss_fn(output, batch, teacher_output)` — so the
LightningModules train a student with a teacher unchanged.
"""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn import functional as F

from kd_gat.models.vgae import VGAEOutput
from kd_gat.params.distillation import (
    DistillationParams,
    GATDistillationParams,
    VGAEDistillationParams,
)
from kd_gat.training.losses import LossOutput


def soft_label_kl(student_logits: Tensor, teacher_logits: Tensor, temperature: float) -> Tensor:
    """KL(softmax(teacher/T) ‖ softmax(student/T)), averaged over windows."""
    return F.kl_div(
        F.log_softmax(student_logits / temperature, dim=-1),
        F.log_softmax(teacher_logits / temperature, dim=-1),
        log_target=True,
        reduction="batchmean",
    )


class SoftLabelDistillation(nn.Module):
    """GAT student: α·T²·KL(teacher‖student at temperature T) + (1−α)·task loss (CE)."""

    def __init__(self, task: nn.Module, params: GATDistillationParams) -> None:
        super().__init__()
        self.task = task
        self.alpha = params.alpha
        self.temperature = params.temperature

    def _kd(self, logits: Tensor, teacher_output: Tensor) -> tuple[Tensor, Tensor]:
        """(α·T²·KL, KL) of the student against the teacher."""
        kl = soft_label_kl(logits, teacher_output, self.temperature)
        return self.alpha * self.temperature**2 * kl, kl

    def transfer(self, logits: Tensor, batch, teacher_output: Tensor) -> Tensor:
        """The distillation term alone, α·T²·KL: what unlabelled windows teach."""
        return self._kd(logits, teacher_output)[0]

    def forward(self, logits: Tensor, batch, teacher_output: Tensor) -> LossOutput:
        task = self.task(logits, batch)
        kd, kl = self._kd(logits, teacher_output)
        loss = kd + (1 - self.alpha) * task.loss
        return LossOutput(loss, {**task.parts, "kd_kl": kl.detach()})


class LatentDistillation(nn.Module):
    """VGAE student: (1−α)·task loss + α·(latent + reconstruction matching).

    latent: MSE between a learnt linear projection of the student's μ and the teacher's μ;
    reconstruction: MSE between the node-feature reconstructions and between the edge logits of
    student and teacher on the same window graphs.
    """

    def __init__(
        self,
        task: nn.Module,
        student_latent: int,
        teacher_latent: int,
        params: VGAEDistillationParams,
    ) -> None:
        super().__init__()
        self.task = task
        self.alpha = params.alpha
        self.projection = nn.Linear(student_latent, teacher_latent)

    def matching(self, output: VGAEOutput, teacher_output: VGAEOutput) -> tuple[Tensor, Tensor]:
        """(latent, reconstruction) matching errors against the teacher."""
        latent = F.mse_loss(self.projection(output.mu), teacher_output.mu)
        recon = F.mse_loss(output.x_hat, teacher_output.x_hat) + F.mse_loss(
            output.pos_edge_logits, teacher_output.pos_edge_logits
        )
        return latent, recon

    def transfer(self, output: VGAEOutput, batch, teacher_output: VGAEOutput) -> Tensor:
        """The distillation term alone, α·(latent + reconstruction matching): what unlabelled
        windows teach."""
        return self.alpha * sum(self.matching(output, teacher_output))

    def forward(self, output: VGAEOutput, batch, teacher_output: VGAEOutput) -> LossOutput:
        task = self.task(output, batch)
        latent, recon = self.matching(output, teacher_output)
        loss = (1 - self.alpha) * task.loss + self.alpha * (latent + recon)
        return LossOutput(
            loss, {**task.parts, "kd_latent": latent.detach(), "kd_recon": recon.detach()}
        )


def distillation_loss(
    kind: str, task: nn.Module, student: nn.Module, teacher: nn.Module, params: DistillationParams
) -> nn.Module:
    """The distillation loss of a model kind around its task loss (`params.<kind>`)."""
    if teacher.kind != kind:
        raise ValueError(f"a {kind} student needs a {kind} teacher, got {teacher.kind}")
    if kind == "gat":
        return SoftLabelDistillation(task, params.gat)
    if kind == "vgae":
        return LatentDistillation(task, student.latent, teacher.latent, params.vgae)
    raise ValueError(f"no distillation loss for model kind {kind!r}")
