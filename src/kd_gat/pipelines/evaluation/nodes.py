"""Evaluation nodes: per-window test scores with validation thresholds → metrics, sizes."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from torch import nn

from kd_gat.fingerprint import check_same
from kd_gat.graphs.store import GraphStore
from kd_gat.metrics import choose_threshold
from kd_gat.models import count_parameters
from kd_gat.params.evaluation import EvaluationParams
from kd_gat.reporting import metrics_table
from kd_gat.scoring import checkpoint_bytes, measure_speed

log = logging.getLogger(__name__)

SCORE_COLUMNS = ["model", "scenario", "window", "label", "score", "threshold"]


def detector_scores(outputs: pd.DataFrame, normal_quantile: float) -> pd.DataFrame:
    """Test windows of one detector, with the threshold it chose on validation windows."""
    val = outputs[outputs["split"] == "val"]
    threshold = choose_threshold(val["label"].to_numpy(), val["score"].to_numpy(), normal_quantile)
    test = outputs[outputs["split"] == "test"]
    return test.assign(threshold=threshold)[SCORE_COLUMNS]


def collect_window_scores(params: dict[str, Any], **tables: pd.DataFrame) -> pd.DataFrame:
    """All models' test-window scores in one table (inputs named by detector or fusion pair).

    Detector outputs (with a `split` column and no threshold) get their validation threshold
    here; fusion scores already carry the threshold their method chose on validation.
    """
    p = EvaluationParams.model_validate(params)
    parts = []
    for _, table in sorted(tables.items()):
        if "threshold" in table:
            parts.append(table[table["split"] == "test"][SCORE_COLUMNS])
        else:
            parts.append(detector_scores(table, p.normal_quantile))
    return pd.concat(parts, ignore_index=True)


def evaluate(window_scores: pd.DataFrame) -> pd.DataFrame:
    """`metrics`: one row per (model, scenario)."""
    metrics = metrics_table(window_scores)
    log.info(
        "metrics: %d models × %d scenarios",
        metrics["model"].nunique(),
        metrics["scenario"].nunique(),
    )
    return metrics


def model_sizes(
    graphs_val: GraphStore, params: dict[str, Any], **models: nn.Module
) -> pd.DataFrame:
    """Parameters, checkpoint bytes and CPU speed (batch 1 and batched) of each detector."""
    p = EvaluationParams.model_validate(params)
    rows = []
    for name, model in sorted(models.items()):
        check_same(f"{name}.model", model.fingerprint, "graphs_val", graphs_val.fingerprint)
        rows.append(
            {
                "model": name,
                "parameters": count_parameters(model),
                "checkpoint_bytes": checkpoint_bytes(model),
                **measure_speed(model, graphs_val, p.batch_size, p.latency_windows),
            }
        )
    return pd.DataFrame(rows)
