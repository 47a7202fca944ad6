"""Evaluation nodes: per-window test scores at each operating point (validation threshold,
vehicle profile) → metrics, field metrics, sizes."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from torch import nn

from kd_gat import deployment, roster
from kd_gat.field_metrics import attack_events, field_metrics
from kd_gat.fingerprint import check_same
from kd_gat.graphs.store import GraphStore
from kd_gat.localisation import (
    check_nodes,
    implicated_nodes,
    localised_frame_counts,
    localised_metrics,
    node_threshold_per_window,
    window_nodes,
)
from kd_gat.models import count_parameters
from kd_gat.operating_points import alarm_or, with_operating_points
from kd_gat.params.evaluation import EvaluationParams
from kd_gat.params.profiles import ProfilesParams
from kd_gat.reporting import metrics_table
from kd_gat.scoring import checkpoint_bytes, measure_speed

log = logging.getLogger(__name__)

SCORE_COLUMNS = ["model", "scenario", "window", "label", "score", "threshold"]


def collect_window_scores(
    zero_shot_thresholds: pd.DataFrame, **tables: pd.DataFrame
) -> pd.DataFrame:
    """All models' test-window scores in one table (inputs named by detector or fusion pair).

    Detector outputs (no threshold column) take their zero-shot threshold (the calibration
    stage's `zero_shot_thresholds`); fusion scores already carry the threshold their method
    chose on validation.
    """
    zero_shot = zero_shot_thresholds.set_index("model")["threshold"]
    parts = []
    for name, table in sorted(tables.items()):
        test = table[table["split"] == "test"]
        if "threshold" not in table:
            test = test.assign(threshold=float(zero_shot[name]))
        parts.append(test[SCORE_COLUMNS])
    return pd.concat(parts, ignore_index=True)


def apply_operating_points(
    window_scores: pd.DataFrame,
    graphs_test: dict[str, GraphStore],
    capture_matches: pd.DataFrame,
    profile_thresholds: pd.DataFrame,
    profiles_params: dict[str, Any],
) -> pd.DataFrame:
    """`window_scores`: every test window at the validation and at the profile operating point
    (`kd_gat.operating_points`), with its threshold (+inf in its capture's first
    `profiles.warmup_s`), matched profile and `calibrated` flag; and per fusion pair of the
    roster the alarm-level OR of its two detectors (`<pair>.alarm_or`,
    `kd_gat.operating_points.alarm_or`)."""
    windows = {scenario: store.windows for scenario, store in graphs_test.items()}
    warmup_s = ProfilesParams.model_validate(profiles_params).warmup_s
    table = with_operating_points(
        window_scores, windows, capture_matches, profile_thresholds, warmup_s
    )
    pairs = [
        alarm_or(table, f"{pair.name}.{roster.ALARM_OR}", pair.vgae, pair.gat, profile_thresholds)
        for pair in roster.FUSIONS
        if {pair.vgae, pair.gat} <= set(table["model"])
    ]
    table = pd.concat([table, *pairs], ignore_index=True)
    profile = table[table["operating_point"] == "profile"]
    log.info(
        "profile operating point: %d of %d test windows calibrated (%s)",
        int(profile["calibrated"].sum()),
        len(profile),
        ", ".join(sorted(profile["profile"].dropna().unique())) or "no profile matched",
    )
    return table


def evaluate(window_scores: pd.DataFrame) -> pd.DataFrame:
    """`metrics`: one row per (model, operating point, scenario)."""
    metrics = metrics_table(window_scores)
    log.info(
        "metrics: %d models × %d scenarios",
        metrics["model"].nunique(),
        metrics["scenario"].nunique(),
    )
    return metrics


def derive_attack_events(frames: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """`attack_events`: the attack frames of the test captures (`split == "test"`) grouped into
    events, attack frames less than `event_gap_s` apart being one event."""
    p = EvaluationParams.model_validate(params)
    chosen = (frames["split"].to_numpy() == "test") & (frames["attack"].to_numpy() == 1)
    columns = ["capture", "scenario", "attack_kind", "timestamp", "attack"]
    events = attack_events(frames.loc[chosen, columns], p.event_gap_s)
    log.info("attack events: %d in %d test captures", len(events), events["capture"].nunique())
    return events


def localise_frames(
    window_scores: pd.DataFrame,
    frames: pd.DataFrame,
    graphs_test: dict[str, GraphStore],
    profile_node_thresholds: pd.DataFrame,
    zero_shot_thresholds: pd.DataFrame,
    **node_outputs: pd.DataFrame,
) -> pd.DataFrame:
    """`localised_frame_counts`: frame TP/FP/FN per (model, operating point, scenario, capture)
    when a frame is flagged only if its window is flagged and its ID's node score reaches the
    node threshold (`kd_gat.localisation`): the matched profile's for calibrated windows, else
    the zero-shot one (`zero_shot_thresholds`)."""
    validation = zero_shot_thresholds.set_index("model")["node_threshold"]
    test_frames = frames[frames["split"].astype(str) == "test"]
    nodes = window_nodes(test_frames, {s: store.windows for s, store in graphs_test.items()})
    check_nodes(nodes, {s: np.diff(store.node_ptr) for s, store in graphs_test.items()})
    decisions = window_scores[window_scores["model"].isin(list(node_outputs))]
    decisions = decisions.assign(
        flagged=decisions["score"].to_numpy(np.float64)
        >= decisions["threshold"].to_numpy(np.float64),
        node_threshold=node_threshold_per_window(
            decisions, validation.astype(np.float64), profile_node_thresholds
        ),
    )
    scores = pd.concat(
        [t[t["split"] == "test"].assign(model=name) for name, t in node_outputs.items()],
        ignore_index=True,
    )
    implicated = implicated_nodes(decisions, nodes, scores)
    log.info(
        "localisation: %d of %d nodes of flagged test windows implicated",
        int(implicated["implicated"].sum()),
        int(implicated["flagged"].sum()),
    )
    return localised_frame_counts(implicated)


def evaluate_field_metrics(
    window_scores: pd.DataFrame,
    graphs_test: dict[str, GraphStore],
    attack_events: pd.DataFrame,
    localised_frame_counts: pd.DataFrame,
    params: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`field_metrics` (per model, operating point and scenario) and `field_metrics_by_capture`:
    frames, events, latency, false alarms per hour and time in alarm (`kd_gat.field_metrics`),
    with the share of windows judged at a profile threshold (`calibrated_share`) and frame
    precision, recall and F1 under the localised rule (`*_localised`; NaN for models without
    node scores: the fusion methods)."""
    p = EvaluationParams.model_validate(params)
    windows = {scenario: store.windows for scenario, store in graphs_test.items()}
    tables: tuple[list[pd.DataFrame], list[pd.DataFrame]] = ([], [])
    for point, scores in window_scores.groupby("operating_point", sort=True):
        per_level = field_metrics(scores, windows, attack_events, p.alarm_merge_s, p.confidence)
        for table, out in zip(per_level, tables, strict=True):
            out.append(_with_calibration(table, scores, point))
    by_scenario, by_capture = (pd.concat(t, ignore_index=True) for t in tables)
    return (
        _with_localised(by_scenario, localised_frame_counts),
        _with_localised(by_capture, localised_frame_counts),
    )


def _with_localised(table: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
    keys = [k for k in ("model", "operating_point", "scenario", "capture") if k in table.columns]
    localised = localised_metrics(counts, keys)
    return table.merge(localised, on=keys, how="left")


def _with_calibration(table: pd.DataFrame, scores: pd.DataFrame, point: str) -> pd.DataFrame:
    """`table` with its `operating_point` after the model and, per row, the share of its windows
    judged at a profile threshold."""
    keys = [k for k in ("model", "scenario", "capture") if k in table.columns]
    share = scores.groupby(keys, sort=False)["calibrated"].mean().rename("calibrated_share")
    out = table.join(share, on=keys)
    out.insert(1, "operating_point", point)
    return out


def choose_deployment(
    zero_shot_thresholds: pd.DataFrame,
    model_sizes: pd.DataFrame,
    injected_detection: pd.DataFrame,
    params: dict[str, Any],
    **outputs: pd.DataFrame,
) -> dict[str, Any]:
    """What `inference.detector: validated` deploys, chosen on validation windows and the
    attacks injected into the profile recordings, never a test window
    (`kd_gat.deployment.choose_deployment`), with the rule and the reason."""
    p = EvaluationParams.model_validate(params)
    choice = deployment.choose_deployment(
        outputs,
        zero_shot_thresholds,
        model_sizes,
        p.deployment_tolerance,
        injected_detection,
        p.min_injected_recall,
    )
    (log.info if choice["detector"] else log.warning)("deployed by default: %s", choice["why"])
    return choice


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
