"""Parameters of the scoring stage (`params:scoring`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from kd_gat.params.base import Strict


class ScoringParams(Strict):
    """`batch_size`: windows per forward pass. `persistence`: per model kind, the windows in a
    row an alarm needs (`kd_gat.persistence`): a window's score is the lowest of its own and its
    capture's `k - 1` windows before it, wherever the detector's scores are thresholded
    (validation, profiles, injected attacks, test, inference and the exported detector)."""

    batch_size: int = Field(256, ge=1, description="windows per forward pass")
    persistence: dict[Literal["gat", "vgae"], Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: {"gat": 1, "vgae": 2}
    )

    def steps(self, kind: str) -> int:
        """The persistence of a detector of `kind` (1: none)."""
        return int(self.persistence.get(kind, 1))
