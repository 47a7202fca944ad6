"""The base of every parameter model: unknown keys are errors (a misspelt knob never passes)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
