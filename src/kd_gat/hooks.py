"""Project hooks: validate every parameter group before work starts; log each node's pace."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from kedro.framework.hooks import hook_impl

from kd_gat.params import PARAMETER_MODELS

log = logging.getLogger(__name__)


def validate_parameters(params: dict[str, Any]) -> None:
    """Raise a pydantic ValidationError naming the group and key of the first bad parameter."""
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
