"""Project hooks: validate every parameter group before any node runs."""

from __future__ import annotations

import importlib
from typing import Any

from kedro.framework.hooks import hook_impl

# parameter group -> pydantic model validating it ("module:Class")
PARAMETER_MODELS = {
    "ingestion": "kd_gat.params.ingestion:IngestionParams",
    "graphs": "kd_gat.params.graphs:GraphsParams",
}


def validate_parameters(params: dict[str, Any]) -> None:
    """Raise a pydantic ValidationError naming the group and key of the first bad parameter."""
    for group, target in PARAMETER_MODELS.items():
        if group in params:
            module, name = target.split(":")
            getattr(importlib.import_module(module), name).model_validate(params[group])


class ParameterValidationHooks:
    """Fail a run on bad parameters before work starts, not half-way through it."""

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        validate_parameters(context.params)
