"""Scoring nodes: one detector over every graph store → one table of per-window outputs."""

from __future__ import annotations

import logging
import time
from typing import Any

import pandas as pd
from torch import nn

from kd_gat.graphs.store import GraphStore
from kd_gat.inference import detector_outputs
from kd_gat.params.evaluation import ScoringParams

log = logging.getLogger(__name__)


def score_windows(
    model: nn.Module,
    graphs_train: GraphStore,
    graphs_val: GraphStore,
    graphs_test: dict[str, GraphStore],
    job: dict[str, Any],
    params: dict[str, Any],
) -> pd.DataFrame:
    """Per-window score and fusion state of `model` on train, val and each test scenario.

    Columns: `model` (the job name), `split` (train | val | test), `scenario` (train | val | the
    test scenario),
    `window` (row of the store's window table), `label`, `score` and the model's state columns.
    """
    stores = {("train", "train"): graphs_train, ("val", "val"): graphs_val}
    stores |= {("test", scenario): store for scenario, store in sorted(graphs_test.items())}
    parts = []
    started = time.perf_counter()
    for (split, scenario), store in stores.items():
        out = detector_outputs(model, store, ScoringParams.model_validate(params).batch_size)
        parts.append(out.assign(split=split, scenario=scenario))
    table = pd.concat(parts, ignore_index=True).assign(model=job["name"])
    seconds = time.perf_counter() - started
    log.info(
        "%s: scored %d windows in %.1f s (%.0f windows/s)",
        job["name"],
        len(table),
        seconds,
        len(table) / seconds,
    )
    front = ["model", "split", "scenario", "window", "label", "score"]
    return table[front + [c for c in table.columns if c not in front]]
