"""Parameters of the ingestion pipeline (`params:ingestion`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class IngestionParams(BaseModel):
    """`on_invalid`: quarantine bad rows in `rejected_frames`, or fail the run on the first.

    `attack_kinds` maps a word found in a capture's file name to its attack kind.
    """

    model_config = ConfigDict(extra="forbid")

    on_invalid: Literal["quarantine", "fail"] = "quarantine"
    attack_kinds: dict[str, str] = Field(min_length=1)
