"""Scoring nodes: one detector over every graph store → one table of per-window outputs, and
over validation and test → one table of per-node scores (localisation)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from torch import nn

from kd_gat.fingerprint import check_same
from kd_gat.graphs.store import GraphStore
from kd_gat.params.scoring import ScoringParams
from kd_gat.roster import Detector
from kd_gat.scoring import detector_outputs, node_outputs

FRONT = ["model", "split", "scenario", "window", "label", "score"]


def _stores(
    graphs_val: GraphStore, graphs_test: dict[str, GraphStore], graphs_train: GraphStore | None
) -> dict[tuple[str, str], GraphStore]:
    stores = {} if graphs_train is None else {("train", "train"): graphs_train}
    stores |= {("val", "val"): graphs_val}
    return stores | {("test", scenario): store for scenario, store in sorted(graphs_test.items())}


def _check(model: nn.Module, detector: Detector, stores: dict[tuple[str, str], GraphStore]) -> None:
    for (split, scenario), store in stores.items():
        name = f"graphs_test[{scenario}]" if split == "test" else f"graphs_{split}"
        check_same(f"{detector.name}.model", model.fingerprint, name, store.fingerprint)


def _table(outputs: dict[tuple[str, str], pd.DataFrame], detector: Detector) -> pd.DataFrame:
    """The per-store outputs in one table, with `split`, `scenario` and `model` columns."""
    return pd.concat(
        [out.assign(split=split, scenario=scenario) for (split, scenario), out in outputs.items()],
        ignore_index=True,
    ).assign(model=detector.name)


def score_nodes(
    model: nn.Module,
    graphs_val: GraphStore,
    graphs_test: dict[str, GraphStore],
    params: dict[str, Any],
    *,
    detector: Detector,
) -> pd.DataFrame:
    """Per-node score of `model` on val and each test scenario: `model`, `split`, `scenario`,
    `window`, `node` (position in the window, nodes ordered by CAN ID), `node_score`."""
    stores = _stores(graphs_val, graphs_test, None)
    _check(model, detector, stores)
    outputs = node_outputs(model, stores, ScoringParams.model_validate(params).batch_size)
    return _table(outputs, detector)[["model", "split", "scenario", "window", "node", "node_score"]]


def score_windows(
    model: nn.Module,
    graphs_train: GraphStore,
    graphs_val: GraphStore,
    graphs_test: dict[str, GraphStore],
    params: dict[str, Any],
    *,
    detector: Detector,
) -> pd.DataFrame:
    """Per-window score and fusion state of `model` on train, val and each test scenario.

    Columns: `model` (the detector's name), `split` (train | val | test), `scenario` (train | val
    | the test scenario), `window` (row of the store's window table), `label`, `score` (persisted:
    `scoring.persistence`), `raw_score` and the model's state columns.
    """
    stores = _stores(graphs_val, graphs_test, graphs_train)
    _check(model, detector, stores)
    p = ScoringParams.model_validate(params)
    outputs = detector_outputs(model, stores, p.batch_size, p.steps(detector.kind))
    table = _table(outputs, detector)
    return table[FRONT + [c for c in table.columns if c not in FRONT]]
