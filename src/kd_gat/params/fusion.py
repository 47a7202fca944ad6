"""Parameters of the fusion stage (`params:fusion`)."""

from __future__ import annotations

from pydantic import Field, model_validator

from kd_gat.params.base import Strict


class DQNParams(Strict):
    """Training of the contextual-bandit DQN (γ = 0), ε-greedy with a linear decay."""

    hidden: int = Field(64, ge=1)
    lr: float = Field(1e-3, gt=0)
    steps: int = Field(3000, ge=1)
    batch_size: int = Field(128, ge=1)
    epsilon_start: float = Field(1.0, ge=0, le=1)
    epsilon_end: float = Field(0.05, ge=0, le=1)
    epsilon_decay_steps: int = Field(2000, ge=1)
    buffer_size: int = Field(20000, ge=1)
    seed: int = 42

    @model_validator(mode="after")
    def _buffer_holds_a_batch(self) -> DQNParams:
        if self.buffer_size < self.batch_size:
            raise ValueError(
                f"buffer_size ({self.buffer_size}) must hold a batch ({self.batch_size})"
            )
        return self


class FusionParams(Strict):
    arms: int = Field(11, ge=2, description="grid of fusion weights α in [0, 1]")
    dqn: DQNParams = DQNParams()
