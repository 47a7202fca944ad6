"""Ingestion nodes: raw capture text → validated, typed frames + quarantined rejects + report."""

from __future__ import annotations

from typing import Any

import pandas as pd

from kd_gat.ingestion.captures import RawCapture, describe
from kd_gat.ingestion.validate import deduplicate, validate_captures
from kd_gat.params.ingestion import IngestionParams


def ingest_captures(
    raw_captures: list[RawCapture],
    params: dict[str, Any],
    raw_root: str | None = None,
    dataset: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Deduplicate captures by content, validate every row, and return frames, rejects, report.

    `raw_root` and `dataset` (the public parameters naming the data) are recorded in the report,
    and so in the run's tracked parameters.
    """
    p = IngestionParams.model_validate(params)
    unique, duplicates = deduplicate(raw_captures)
    described = [(describe(c.relpath, p.attack_kinds), c) for c in unique]
    frames, rejects, report = validate_captures(described, p.on_invalid, duplicates)
    return frames, rejects, {"source": {"raw_root": raw_root, "dataset": dataset}, **report}
