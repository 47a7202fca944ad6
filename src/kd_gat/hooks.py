"""Project hooks: validate every parameter group before work starts; log each node's pace."""

from __future__ import annotations

import difflib
import logging
import time
from collections.abc import Mapping
from typing import Any

from kedro.framework.hooks import hook_impl

from kd_gat.params import PARAMETER_MODELS
from kd_gat.params.run import RunParams

log = logging.getLogger(__name__)


class UnknownParameterError(ValueError):
    """A top-level parameter that no group or public parameter has (a misspelling)."""


def validate_parameters(params: dict[str, Any]) -> None:
    """Raise on the first bad parameter: an unknown top-level key (with the closest known name),
    or a pydantic ValidationError naming the group and key."""
    known = [*PARAMETER_MODELS, *RunParams.model_fields]
    for key in params:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1) or [
                f"{g}.{key}" for g, m in PARAMETER_MODELS.items() if key in m.model_fields
            ]
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UnknownParameterError(f"unknown parameter {key!r}{hint} (known: {known})")
    RunParams.model_validate({k: params[k] for k in RunParams.model_fields if k in params})
    for group, model in PARAMETER_MODELS.items():
        if group in params:
            model.model_validate(params[group])


class ParameterValidationHooks:
    """Fail a run on bad parameters before work starts, not half-way through it."""

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        validate_parameters(context.params)


def item_count(data: Any) -> int | None:
    """Rows of a table, windows of a graph store, items of a mapping of stores; else None."""
    if isinstance(data, Mapping):
        counts = [item_count(v) for v in data.values()]
        return sum(counts) if counts and None not in counts else None
    if hasattr(data, "shape") and hasattr(data, "columns"):  # a DataFrame
        return int(data.shape[0])
    if hasattr(data, "windows") and hasattr(data, "__len__"):  # a GraphStore
        return len(data)
    return None


class NodeProgressHooks:
    """After each node: its wall time and, per output, rows or windows per second."""

    def __init__(self) -> None:
        self._started: dict[str, float] = {}

    @hook_impl
    def before_node_run(self, node: Any) -> None:
        self._started[node.name] = time.perf_counter()

    @hook_impl
    def after_node_run(self, node: Any, outputs: dict[str, Any]) -> None:
        seconds = time.perf_counter() - self._started.pop(node.name, time.perf_counter())
        sizes = {name: item_count(data) for name, data in outputs.items()}
        paces = ", ".join(
            f"{name}: {n:,} ({n / max(seconds, 1e-9):,.0f}/s)"
            for name, n in sizes.items()
            if n is not None
        )
        log.info("%s took %.2f s%s", node.name, seconds, f" — {paces}" if paces else "")
