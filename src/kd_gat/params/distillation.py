"""Parameters of the distillation stage (`params:distillation`)."""

from __future__ import annotations

from pydantic import Field

from kd_gat.params.base import Strict


class GATDistillationParams(Strict):
    """loss = α·T²·KL(teacher ‖ student at temperature T) + (1−α)·CE."""

    alpha: float = Field(0.7, ge=0, le=1)
    temperature: float = Field(4.0, gt=0)


class VGAEDistillationParams(Strict):
    """loss = (1−α)·VGAE loss + α·(latent + reconstruction matching)."""

    alpha: float = Field(0.5, ge=0, le=1)


class DistillationParams(Strict):
    gat: GATDistillationParams = GATDistillationParams()
    vgae: VGAEDistillationParams = VGAEDistillationParams()
