"""Parameters of distillation, scoring, fusion and evaluation."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from kd_gat.models.fusion import BanditDQNConfig


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GATDistillationParams(_Strict):
    """loss = α·T²·KL(teacher ‖ student at temperature T) + (1−α)·CE."""

    alpha: float = Field(0.7, ge=0, le=1)
    temperature: float = Field(4.0, gt=0)


class VGAEDistillationParams(_Strict):
    """loss = (1−α)·VGAE loss + α·(latent + reconstruction matching)."""

    alpha: float = Field(0.5, ge=0, le=1)


class DistillationParams(_Strict):
    gat: GATDistillationParams = GATDistillationParams()
    vgae: VGAEDistillationParams = VGAEDistillationParams()


class ScoringParams(_Strict):
    batch_size: int = Field(256, ge=1)


class FusionParams(_Strict):
    arms: int = Field(11, ge=2, description="grid of fusion weights α in [0, 1]")
    dqn: BanditDQNConfig = BanditDQNConfig()


class EvaluationParams(_Strict):
    normal_quantile: float = Field(0.99, gt=0, lt=1)
    batch_size: int = Field(256, ge=1)
    latency_windows: int = Field(100, ge=1)
