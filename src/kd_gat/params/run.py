"""The public top-level parameters: what data a run reads and, for inference, which models."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from kd_gat import roster
from kd_gat.params.base import Strict

NAME = r"^[A-Za-z0-9_.-]+$"


class RunParams(Strict):
    """`raw_root`/`dataset`: the data (`<raw_root>/<dataset>/<split folder>/<capture>`); every
    artifact of a run lives under a folder named after `dataset`. `calibration_root`: the
    attack-free recordings, one folder per car, that make the vehicle profiles. `input_root`: new
    captures to score; `inference_*`: the roster names of the models that score them."""

    # no default in practice (conf/base/globals.yml gives both); a given value must be valid,
    # so `--params dataset=` (None) or `dataset=../x` fails before any node runs
    raw_root: str = Field(None, min_length=1, validate_default=False)
    dataset: str = Field(None, pattern=NAME, description="a folder name: letters, digits, _ . -")
    calibration_root: str | None = Field(None, min_length=1)
    input_root: str | None = None
    inference_vgae: str | None = None
    inference_gat: str | None = None
    inference_fusion: str | None = None

    @field_validator("dataset")
    @classmethod
    def _a_folder(cls, value: str) -> str:
        if value in (".", ".."):
            raise ValueError(f"dataset {value!r} is not a folder name")
        return value

    @model_validator(mode="after")
    def _models_in_roster(self) -> RunParams:
        kinds = {d.name: d.kind for d in roster.DETECTORS}
        for kind in ("vgae", "gat"):
            name = getattr(self, f"inference_{kind}")
            if name is not None and kinds.get(name) != kind:
                known = sorted(n for n, k in kinds.items() if k == kind)
                raise ValueError(f"inference_{kind}={name!r} is not a {kind} detector: {known}")
        if self.inference_fusion is not None and self.inference_fusion not in roster.fusion_names():
            raise ValueError(
                f"inference_fusion={self.inference_fusion!r} is not a fusion pair: "
                f"{list(roster.fusion_names())}"
            )
        return self
