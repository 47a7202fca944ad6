"""Parameters of batch inference (`params:inference`)."""

from __future__ import annotations

from pydantic import Field, field_validator

from kd_gat import roster
from kd_gat.params.base import Strict
from kd_gat.roster import VALIDATED


class InferenceParams(Strict):
    """`detector`: what batch inference deploys (default `vgae_student`, chosen from the shared
    sets' ablation in both directions): `validated` (the evaluation stage's choice on
    validation windows, `kd_gat.deployment`), a roster detector or a fusion pair's alarm-level
    OR (`<pair>.alarm_or`; the catalog's `inference_models` loads the model files it needs, named
    by the same global); `alarm_merge_s`: flagged windows of a capture less than this apart (s)
    make one alarm."""

    detector: str = "vgae_student"  # globals.yml says why
    alarm_merge_s: float = Field(1.0, ge=0.0)

    @field_validator("detector")
    @classmethod
    def _in_roster(cls, name: str) -> str:
        if name != VALIDATED and name not in roster.deployable_names():
            raise ValueError(
                f"inference.detector {name!r} is not deployable: {VALIDATED!r} or one of "
                f"{list(roster.deployable_names())}"
            )
        return name
