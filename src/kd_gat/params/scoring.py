"""Parameters of the scoring stage (`params:scoring`)."""

from __future__ import annotations

from pydantic import Field

from kd_gat.params.base import Strict


class ScoringParams(Strict):
    batch_size: int = Field(256, ge=1, description="windows per forward pass")
