"""Parameters of the export stage (`params:export`)."""

from __future__ import annotations

from pydantic import Field

from kd_gat.params.base import Strict


class ExportParams(Strict):
    """`parity_tolerance`: the largest |onnxruntime − PyTorch| score (window and node) allowed
    on any validation window; `batch_size`: windows per call in the parity check;
    `single_windows`: how many validation windows are also checked one per call, as a car
    scores them."""

    parity_tolerance: float = Field(1e-4, gt=0)
    batch_size: int = Field(512, ge=2)
    single_windows: int = Field(64, ge=0)
