"""Parameters of the graphs pipeline (`params:graphs`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class GraphsParams(BaseModel):
    """Window geometry, label rule, short-tail policy and validation share.

    `tail_policy`: `drop` leaves a capture's last frames out when they do not fill a window
    (they are counted in `graphs_report`); `keep` makes them one shorter window.
    Validation: the last `val_fraction` of each of `val_blocks` consecutive time blocks of every
    training capture (1 block = the end of the capture).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_size: int = Field(100, ge=2)
    stride: int = Field(100, ge=1)
    min_attack_frames: int = Field(1, ge=1)
    tail_policy: Literal["drop", "keep"] = "drop"
    val_fraction: float = Field(0.2, ge=0.0, lt=1.0)
    val_blocks: int = Field(5, ge=1)

    @model_validator(mode="after")
    def _label_is_reachable(self) -> GraphsParams:
        if self.min_attack_frames > self.window_size:
            raise ValueError("min_attack_frames cannot exceed window_size")
        return self
