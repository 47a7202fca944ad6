"""Inference nodes: score new captures with the deployed detector at its calibrated threshold.

New captures go through the same validation and decoding as training data and are matched to the
vehicle profiles (`kd_gat.profiles`); their windows are built like the test windows (training
vocabulary and statistics, each capture reading its matched profile). A window takes the
detector's threshold on its capture's profile once the match is made (`calibrated`), else the
zero-shot one (`kd_gat.operating_points`); the IDs of a flagged window whose node score reaches
the node threshold are implicated (`kd_gat.localisation`); flagged windows of a capture closer
than `alarm_merge_s` merge into one alarm.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from torch import nn

from kd_gat import roster
from kd_gat.deployment import deployed_name
from kd_gat.field_metrics import alarm_starts
from kd_gat.fingerprint import check_same
from kd_gat.graphs.normalise import scoring_store
from kd_gat.graphs.store import GraphStore
from kd_gat.ingestion.captures import RawCapture, describe_unlabelled
from kd_gat.ingestion.validate import deduplicate, validate_captures
from kd_gat.localisation import implicated_nodes, node_threshold_per_window, window_nodes
from kd_gat.operating_points import (
    either,
    half_budget_thresholds,
    profile_thresholds_per_window,
)
from kd_gat.params.graphs import GraphsParams
from kd_gat.params.inference import InferenceParams
from kd_gat.params.ingestion import IngestionParams
from kd_gat.params.profiles import ProfilesParams
from kd_gat.params.scoring import ScoringParams
from kd_gat.scoring import detector_outputs, node_outputs

log = logging.getLogger(__name__)
SCENARIO = "inference"


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
    matches: pd.DataFrame | None = None,
    profiles: dict[str, Any] | None = None,
) -> GraphStore:
    """Every window of the new captures, with the training vocabulary and normalisation, each
    capture reading the profile it matched (`matches` against `profiles`)."""
    return scoring_store(frames, vocabulary, feature_stats, params, matches, profiles)


SCORE_COLUMNS = [
    "capture",
    "window",
    "start_row",
    "end_row",
    "start_time",
    "end_time",
    "profile",
    "calibrated",
    "score",
    "threshold",
    "decision",
    "n_implicated",
    "top_id",
]
IMPLICATED_COLUMNS = ["capture", "window", "can_id", "node_score"]
ALARM_COLUMNS = [
    "capture",
    "alarm",
    "start_time",
    "end_time",
    "windows",
    "max_score",
    "profile",
    "calibrated",
    "can_ids",
]


def _member_decisions(
    name: str,
    model: nn.Module,
    graphs: GraphStore,
    matches: pd.DataFrame,
    profile_thresholds: pd.DataFrame,
    zero_shot_thresholds: pd.DataFrame,
    scoring: ScoringParams,
    pair: bool,
    warmup_s: float,
) -> pd.DataFrame:
    """One detector's windows at the profile operating point (`operating_points.COLUMNS`; no
    alarm in a capture's first `warmup_s`) with `flagged`; as a member of a pair (`pair`), a
    calibrated window takes its half-budget threshold
    (`operating_points.half_budget_thresholds`)."""
    if getattr(model, "name", "") not in ("", name):
        raise ValueError(
            f"the model file loaded for {name!r} is {model.name!r}: its thresholds would judge "
            "another model (set `--params inference_detector=...`)"
        )
    check_same(f"{name}.model", model.fingerprint, "the feature statistics", graphs.fingerprint)
    zero_shot = zero_shot_thresholds.set_index("model").loc[name, "threshold"]
    steps = scoring.steps(model.kind)  # windows in a row an alarm needs
    outputs = detector_outputs(model, {SCENARIO: graphs}, scoring.batch_size, steps)[SCENARIO]
    outputs = outputs.sort_values("window")
    scores = pd.DataFrame(
        {
            "model": name,
            "scenario": SCENARIO,
            "window": outputs["window"].to_numpy(np.int64),
            "label": outputs["label"].to_numpy(np.int64),
            "score": outputs["score"].to_numpy(np.float64),
            "threshold": float(zero_shot),
        }
    )
    decided = profile_thresholds_per_window(
        scores, {SCENARIO: graphs.windows}, matches, profile_thresholds, warmup_s
    )
    if pair:
        decided = decided.assign(threshold=half_budget_thresholds(decided, profile_thresholds))
    return decided.assign(flagged=decided["score"].to_numpy() >= decided["threshold"].to_numpy())


def score_new_windows(
    graphs: GraphStore,
    models: dict[str, nn.Module],
    frames: pd.DataFrame,
    matches: pd.DataFrame,
    profile_thresholds: pd.DataFrame,
    profile_node_thresholds: pd.DataFrame,
    zero_shot_thresholds: pd.DataFrame,
    params: dict[str, Any],
    scoring: dict[str, Any],
    profiles: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per window (`SCORE_COLUMNS`): the matched profile, calibrated flag, score, threshold
    (+inf in a capture's first `profiles.warmup_s`: no alarm while the history warms up),
    decision, how many IDs it implicates and the one with the highest node score; and every
    implicated ID of every flagged window (`IMPLICATED_COLUMNS`). A flagged window with no node
    over the node threshold implicates its top node, so every alarm names an ID.

    `models`: the deployed detector, or the VGAE and GAT of a pair's alarm-level OR
    (`roster.deployed_members`): then a window is flagged when either member flags it, each at
    half the car's budget once calibrated, its score is the larger margin of a member over its
    threshold (threshold 0), and it implicates what its flagging members implicate."""
    name = deployed_name(InferenceParams.model_validate(params).detector, models)
    members = roster.deployed_members(name)
    missing = sorted(set(members) - set(models))
    if missing:
        raise ValueError(f"deploying {name!r} needs the models {missing}")
    if len(graphs) == 0:  # every capture too short or rejected: `report_inference` says which
        return pd.DataFrame(columns=SCORE_COLUMNS), pd.DataFrame(columns=IMPLICATED_COLUMNS)
    scoring_params = ScoringParams.model_validate(scoring)
    pair = len(members) > 1
    windows = {SCENARIO: graphs.windows}
    nodes_of = window_nodes(frames, windows)
    zero_shot_nodes = zero_shot_thresholds.set_index("model")["node_threshold"]
    decided, tables = [], []
    for member in members:  # one or two detectors
        mine = _member_decisions(
            member,
            models[member],
            graphs,
            matches,
            profile_thresholds,
            zero_shot_thresholds,
            scoring_params,
            pair,
            ProfilesParams.model_validate(profiles).warmup_s,
        )
        mine = mine.assign(
            node_threshold=node_threshold_per_window(
                mine, zero_shot_nodes.astype(np.float64), profile_node_thresholds
            )
        )
        nodes = node_outputs(models[member], {SCENARIO: graphs}, scoring_params.batch_size)
        nodes = nodes[SCENARIO]
        nodes = nodes.assign(model=member, scenario=SCENARIO)
        tables.append(implicated_nodes(mine, nodes_of, nodes))
        decided.append(mine.reset_index(drop=True))
    one = decided[0]
    if pair:  # both members scored the same windows, in window order
        one = either(decided[0], decided[1], name)
        one = one.assign(
            flagged=decided[0]["flagged"].to_numpy(bool) | decided[1]["flagged"].to_numpy(bool)
        )
    implicated = _implicated(pd.concat(tables, ignore_index=True))
    implicated = implicated.sort_values("node_score", ascending=False).drop_duplicates(
        ["window", "can_id"]
    )
    meta = graphs.windows.iloc[one["window"].to_numpy()].reset_index(drop=True)
    per_window = implicated.groupby("window")["can_id"]
    top = implicated.drop_duplicates("window")  # sorted by node score
    result = pd.DataFrame(
        {
            "capture": meta["capture"].astype(str).to_numpy(),
            "window": one["window"].to_numpy(),
            "start_row": meta["start_row"].to_numpy(),
            "end_row": meta["end_row"].to_numpy(),
            "start_time": meta["start_time"].to_numpy(),
            "end_time": meta["end_time"].to_numpy(),
            "profile": one["profile"].to_numpy(object),
            "calibrated": one["calibrated"].to_numpy(bool),
            "score": one["score"].to_numpy(),
            "threshold": one["threshold"].to_numpy(),
            "decision": one["flagged"].to_numpy().astype("int8"),
        }
    )
    result["n_implicated"] = result["window"].map(per_window.size()).fillna(0).astype(np.int64)
    result["top_id"] = result["window"].map(top.set_index("window")["can_id"]).astype("Int64")
    implicated = implicated.sort_values(["window", "can_id"])
    return result[SCORE_COLUMNS], implicated[IMPLICATED_COLUMNS].reset_index(drop=True)


def _implicated(table: pd.DataFrame) -> pd.DataFrame:
    """The implicated nodes of `implicated_nodes`' table, plus the top node of each flagged
    window that implicates none."""
    flagged = table[table["flagged"].to_numpy(bool)]
    named = flagged["implicated"].groupby(flagged["window"]).transform("any").to_numpy(bool)
    top = (
        flagged[~named]
        .sort_values("node_score", ascending=False, kind="mergesort")
        .drop_duplicates("window")
    )
    chosen = pd.concat([flagged[flagged["implicated"].to_numpy(bool)], top])
    return chosen.sort_values(["window", "node"]).astype({"can_id": np.int64})


def merge_alarms(
    scores: pd.DataFrame, implicated: pd.DataFrame, params: dict[str, Any]
) -> pd.DataFrame:
    """Per capture, its flagged windows merged into alarms (`ALARM_COLUMNS`): windows less than
    `alarm_merge_s` apart are one alarm, with its time span, windows, highest score, profile,
    whether every window was calibrated, and the implicated IDs (hex, by total node score)."""
    merge_s = InferenceParams.model_validate(params).alarm_merge_s
    flagged = scores[scores["decision"].to_numpy() == 1].sort_values(
        ["capture", "start_time"], kind="mergesort"
    )
    if flagged.empty:
        return pd.DataFrame(columns=ALARM_COLUMNS)
    group = pd.factorize(flagged["capture"])[0]
    start, end = flagged["start_time"].to_numpy(), flagged["end_time"].to_numpy()
    flagged = flagged.assign(alarm=np.cumsum(alarm_starts(group, start, end, merge_s)) - 1)
    alarms = flagged.groupby("alarm", sort=True).agg(
        capture=("capture", "first"),
        start_time=("start_time", "min"),
        end_time=("end_time", "max"),
        windows=("window", "size"),
        max_score=("score", "max"),
        profile=("profile", "first"),
        calibrated=("calibrated", "all"),
    )
    ids = implicated.merge(flagged[["capture", "window", "alarm"]], on=["capture", "window"])
    weight = ids.groupby(["alarm", "can_id"])["node_score"].sum().reset_index()
    weight = weight.sort_values(["alarm", "node_score"], ascending=[True, False])
    hex_ids = weight["can_id"].map("0x{:03X}".format)
    alarms["can_ids"] = hex_ids.groupby(weight["alarm"].to_numpy()).agg(" ".join)  # per alarm
    alarms["can_ids"] = alarms["can_ids"].fillna("")
    alarms = alarms.reset_index()
    alarms["alarm"] = alarms.groupby("capture").cumcount()
    return alarms[ALARM_COLUMNS]


def report_inference(
    ingestion: dict[str, Any],
    scores: pd.DataFrame,
    alarms: pd.DataFrame,
    params: dict[str, Any],
    inference: dict[str, Any],
    models: dict[str, nn.Module] | None = None,
) -> dict[str, Any]:
    """The ingestion report with the deployed detector and, per capture, the windows scored,
    the flagged ones (`alerts`), the merged alarms, the matched profile and the share of
    calibrated windows, and a status: `scored`, or why not (every row rejected; fewer valid
    frames than one window). No capture is silently missing from the scores."""
    window_size = GraphsParams.model_validate(params).window_size
    detector = deployed_name(InferenceParams.model_validate(inference).detector, models or {})
    per_capture = scores.groupby("capture").agg(
        windows=("decision", "size"),
        alerts=("decision", "sum"),
        calibrated_share=("calibrated", "mean"),
        profile=("profile", "first"),
    )
    n_alarms = alarms.groupby("capture").size()
    captures = []
    for entry in ingestion["captures"]:  # a loop over captures
        name = entry["capture"]
        row = per_capture.loc[name] if name in per_capture.index else None
        windows, alerts = (0, 0) if row is None else (row["windows"], row["alerts"])
        if windows:
            status = "scored"
        elif entry["rows_valid"] == 0:
            status = f"unscored: every row rejected ({entry['rows_rejected']} rows)"
        else:
            status = (
                f"unscored: {entry['rows_valid']} valid frames, fewer than one window "
                f"({window_size})"
            )
        captures.append(
            entry
            | {
                "windows": int(windows),
                "alerts": int(alerts),
                "alarms": int(n_alarms.get(name, 0)),
                "profile": None if row is None or pd.isna(row["profile"]) else row["profile"],
                "calibrated_share": 0.0 if row is None else float(row["calibrated_share"]),
                "status": status,
            }
        )
    unscored = [c["capture"] for c in captures if c["status"] != "scored"]
    if unscored:
        log.warning("captures not scored (see the inference report): %s", unscored)
    log.info(
        "%s scored %d windows of %d captures: %d alerts in %d alarms",
        detector,
        len(scores),
        len(captures) - len(unscored),
        int(scores["decision"].sum()),
        len(alarms),
    )
    return ingestion | {"detector": detector, "captures": captures, "unscored": unscored}
