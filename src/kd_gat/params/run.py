"""The public top-level parameters: what data a run reads and, for inference, which models."""

from __future__ import annotations

from pydantic import Field, field_validator

from kd_gat import roster
from kd_gat.params.base import Strict
from kd_gat.roster import VALIDATED

NAME = r"^[A-Za-z0-9_.-]+$"


class RunParams(Strict):
    """`raw_root`/`dataset`: the data (`<raw_root>/<dataset>/<split folder>/<capture>`); every
    artifact of a run lives under a folder named after `dataset`. `calibration_root`: the
    attack-free recordings, one folder per car, that make the vehicle profiles. `input_root`: new
    captures to score; `inference_detector`: the roster name of the detector that scores them."""

    # no default in practice (conf/base/globals.yml gives both); a given value must be valid,
    # so `--params dataset=` (None) or `dataset=../x` fails before any node runs
    raw_root: str = Field(None, min_length=1, validate_default=False)
    dataset: str = Field(None, pattern=NAME, description="a folder name: letters, digits, _ . -")
    calibration_root: str | None = Field(None, min_length=1)
    input_root: str | None = None
    inference_detector: str | None = None

    @field_validator("dataset")
    @classmethod
    def _a_folder(cls, value: str) -> str:
        if value in (".", ".."):
            raise ValueError(f"dataset {value!r} is not a folder name")
        return value

    @field_validator("inference_detector")
    @classmethod
    def _in_roster(cls, name: str | None) -> str | None:
        if name is not None and name != VALIDATED and name not in roster.deployable_names():
            raise ValueError(
                f"inference_detector={name!r} is not a detector or a pair's alarm-level OR: "
                f"{list(roster.deployable_names())}"
            )
        return name
