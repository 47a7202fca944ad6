"""Per-phase wall and CPU time for the benchmark scripts."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class Phases:
    """Wall and CPU seconds per named phase; timing a phase again adds to it."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def time(self, phase: str, fn: Callable[..., Any], *args: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn(*args)
        self.wall[phase] = self.wall.get(phase, 0.0) + time.perf_counter() - wall
        self.cpu[phase] = self.cpu.get(phase, 0.0) + time.process_time() - cpu
        return out
