"""Inference nodes: score new captures with the trained student detectors and fusion policy.

New captures go through the same validation and decoding as training data, the same windowing
with the training vocabulary and feature statistics, and the deployed fusion decides per window.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
import torch
from torch import nn

from kd_gat.fingerprint import check_same
from kd_gat.fusion.inputs import join_outputs
from kd_gat.fusion.policy import FusionPolicy
from kd_gat.graphs.normalise import scoring_store
from kd_gat.graphs.store import GraphStore
from kd_gat.ingestion.captures import RawCapture, describe_unlabelled
from kd_gat.ingestion.validate import deduplicate, validate_captures
from kd_gat.params.graphs import GraphsParams
from kd_gat.params.ingestion import IngestionParams
from kd_gat.params.scoring import ScoringParams
from kd_gat.scoring import detector_outputs

log = logging.getLogger(__name__)


def ingest_new_captures(
    captures: list[RawCapture], params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Validate and decode new captures (labels optional) like training captures."""
    unique, duplicates = deduplicate(captures)
    described = [(describe_unlabelled(c.relpath), c) for c in unique]
    return validate_captures(
        described, IngestionParams.model_validate(params).on_invalid, duplicates
    )


def build_inference_graphs(
    frames: pd.DataFrame,
    vocabulary: dict[str, Any],
    feature_stats: dict[str, Any],
    params: dict[str, Any],
) -> GraphStore:
    """Every window of the new captures, with the training vocabulary and normalisation."""
    return scoring_store(frames, vocabulary, feature_stats, params)


SCORE_COLUMNS = [
    "capture",
    "window",
    "start_row",
    "end_row",
    "start_time",
    "end_time",
    "vgae_score",
    "gat_p",
    "alpha",
    "score",
    "threshold",
    "decision",
]


def score_new_windows(
    graphs: GraphStore,
    vgae: nn.Module,
    gat: nn.Module,
    fusion: FusionPolicy,
    params: dict[str, Any],
) -> pd.DataFrame:
    """Per window: capture, rows, start/end time, both detectors' outputs, α, score, decision."""
    for role, model in (("inference_vgae", vgae), ("inference_gat", gat)):
        check_same(role, model.fingerprint, "the feature statistics", graphs.fingerprint)
    if len(graphs) == 0:  # every capture too short or rejected: `report_inference` says which
        return pd.DataFrame({c: [] for c in SCORE_COLUMNS})
    batch_size = ScoringParams.model_validate(params).batch_size
    outputs = [
        detector_outputs(model, {"inference": graphs}, batch_size)["inference"].assign(
            split="inference", scenario="inference"
        )
        for model in (vgae, gat)
    ]
    joined = join_outputs(*outputs).sort_values("window", ignore_index=True)
    columns = fusion.config["state_columns"]
    score, alpha = fusion(
        torch.as_tensor(joined[columns].to_numpy(), dtype=torch.float32),
        torch.as_tensor(joined["vgae_score"].to_numpy(), dtype=torch.float32),
        torch.as_tensor(joined["gat_p"].to_numpy(), dtype=torch.float32),
    )
    windows = graphs.windows.iloc[joined["window"].to_numpy()].reset_index(drop=True)
    table = pd.DataFrame(
        {
            "capture": windows["capture"].astype(str),
            "window": joined["window"].to_numpy(),
            "start_row": windows["start_row"].to_numpy(),
            "end_row": windows["end_row"].to_numpy(),
            "start_time": windows["start_time"].to_numpy(),
            "end_time": windows["end_time"].to_numpy(),
            "vgae_score": joined["vgae_score"].to_numpy(),
            "gat_p": joined["gat_p"].to_numpy(),
            "alpha": alpha.numpy(),
            "score": score.numpy(),
            "threshold": float(fusion.threshold),
        }
    )
    table["decision"] = (table["score"] >= table["threshold"]).astype("int8")
    return table


def report_inference(
    ingestion: dict[str, Any], scores: pd.DataFrame, params: dict[str, Any]
) -> dict[str, Any]:
    """The ingestion report with, per capture, the windows scored, the alerts and a status:
    `scored`, or why not (every row rejected; fewer valid frames than one window). No capture
    is silently missing from the scores."""
    window_size = GraphsParams.model_validate(params).window_size
    per_capture = scores.groupby("capture")["decision"].agg(["size", "sum"])
    captures = []
    for entry in ingestion["captures"]:
        windows, alerts = (
            per_capture.loc[entry["capture"]].tolist()
            if entry["capture"] in per_capture.index
            else (0, 0)
        )
        if windows:
            status = "scored"
        elif entry["rows_valid"] == 0:
            status = f"unscored: every row rejected ({entry['rows_rejected']} rows)"
        else:
            status = (
                f"unscored: {entry['rows_valid']} valid frames, fewer than one window "
                f"({window_size})"
            )
        captures.append(entry | {"windows": int(windows), "alerts": int(alerts), "status": status})
    unscored = [c["capture"] for c in captures if c["status"] != "scored"]
    if unscored:
        log.warning("captures not scored (see the inference report): %s", unscored)
    log.info(
        "scored %d windows of %d captures: %d alerts",
        len(scores),
        len(captures) - len(unscored),
        int(scores["decision"].sum()),
    )
    return ingestion | {"captures": captures, "unscored": unscored}
