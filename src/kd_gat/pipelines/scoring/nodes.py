"""Scoring nodes: one detector over every graph store → one table of per-window outputs."""

from __future__ import annotations

from typing import Any

import pandas as pd
from torch import nn

from kd_gat.fingerprint import check_same
from kd_gat.graphs.store import GraphStore
from kd_gat.params.scoring import ScoringParams
from kd_gat.roster import Detector
from kd_gat.scoring import detector_outputs

FRONT = ["model", "split", "scenario", "window", "label", "score"]


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
    | the test scenario), `window` (row of the store's window table), `label`, `score` and the
    model's state columns.
    """
    stores = {("train", "train"): graphs_train, ("val", "val"): graphs_val}
    stores |= {("test", scenario): store for scenario, store in sorted(graphs_test.items())}
    for (split, scenario), store in stores.items():
        name = f"graphs_test[{scenario}]" if split == "test" else f"graphs_{split}"
        check_same(f"{detector.name}.model", model.fingerprint, name, store.fingerprint)
    outputs = detector_outputs(model, stores, ScoringParams.model_validate(params).batch_size)
    table = pd.concat(
        [out.assign(split=split, scenario=scenario) for (split, scenario), out in outputs.items()],
        ignore_index=True,
    ).assign(model=detector.name)
    return table[FRONT + [c for c in table.columns if c not in FRONT]]
