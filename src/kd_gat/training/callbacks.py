"""Lightning callbacks: the non-finite-loss guard and the per-epoch metrics history.

Both keep their state in Lightning checkpoints, so a resumed run keeps counting skipped batches
and keeps the history of the epochs before the interruption.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import lightning as L

log = logging.getLogger(__name__)

EpochSink = Callable[[dict[str, float]], None]


class NonFiniteLossError(RuntimeError):
    """Too many batches had a NaN/inf loss: the run diverged."""


class NonFiniteGuard(L.Callback):
    """Count the batches the module skipped for a non-finite loss; fail past `max_batches`."""

    def __init__(self, max_batches: int) -> None:
        self.max_batches = max_batches
        self.skipped = 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if not getattr(pl_module, "nonfinite_step", False):
            return
        pl_module.nonfinite_step = False
        self.skipped += 1
        if self.skipped > self.max_batches:
            raise NonFiniteLossError(
                f"{self.skipped} batches had a non-finite loss (limit {self.max_batches}); "
                "lower the learning rate or check the input features"
            )

    def state_dict(self) -> dict[str, Any]:
        return {"skipped": self.skipped}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.skipped = state_dict["skipped"]


class MetricsHistory(L.Callback):
    """One row per finished epoch: epoch, seconds, skipped batches and every logged metric.

    `sink`, when given, also receives each row on global rank 0 (e.g. to log it to MLflow).
    """

    def __init__(self, sink: EpochSink | None = None) -> None:
        self.sink = sink
        self.rows: list[dict[str, float]] = []
        self._started = time.perf_counter()

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._started = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        guard = next((c for c in trainer.callbacks if isinstance(c, NonFiniteGuard)), None)
        row = {
            "epoch": trainer.current_epoch,
            "seconds": time.perf_counter() - self._started,
            "nonfinite_batches": guard.skipped if guard else 0,
            **{k: float(v) for k, v in trainer.callback_metrics.items()},
        }
        self.rows.append(row)
        if self.sink is not None and trainer.is_global_zero:
            self.sink(row)

    def state_dict(self) -> dict[str, Any]:
        return {"rows": self.rows}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.rows = list(state_dict["rows"])


def mlflow_sink(prefix: str) -> EpochSink | None:
    """Log each epoch's metrics as `<prefix>.<name>` at step = epoch into the active MLflow run.

    None when no run is active (e.g. tracking disabled, or outside `kedro run`).
    """
    import mlflow

    if mlflow.active_run() is None:
        return None
    run_id = mlflow.active_run().info.run_id

    def sink(row: dict[str, float]) -> None:
        metrics = {f"{prefix}.{k}": v for k, v in row.items() if k != "epoch" and math.isfinite(v)}
        mlflow.log_metrics(metrics, step=int(row["epoch"]), run_id=run_id)

    return sink
