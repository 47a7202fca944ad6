"""Profiles nodes: attack-free recordings of each car → its profile, windows, and each detector's
threshold on them; the run's captures matched to the profiles.

A recording whose content equals a capture of the run (training or test) is never used: it is
listed in the calibration report with the capture it repeats. The training car's own profile
(`training_car`) comes from its attack-free captures held out from training
(`graphs.val_captures`), never from a capture the models were fitted on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from torch import nn

from kd_gat.fingerprint import check_same
from kd_gat.graphs.normalise import scoring_store
from kd_gat.graphs.splits import held_out_captures
from kd_gat.graphs.store import GraphStore
from kd_gat.ingestion.captures import RawCapture, describe_unlabelled
from kd_gat.ingestion.frames import FRAME_COLUMNS
from kd_gat.ingestion.validate import deduplicate, validate_captures
from kd_gat.localisation import node_threshold
from kd_gat.params.evaluation import EvaluationParams
from kd_gat.params.graphs import GraphsParams
from kd_gat.params.ingestion import IngestionParams
from kd_gat.params.profiles import ProfilesParams
from kd_gat.params.scoring import ScoringParams
from kd_gat.profiles import (
    ProfileError,
    budget_threshold,
    build_profile,
    match_captures,
    warmup_windows,
)
from kd_gat.roster import Detector
from kd_gat.scoring import detector_outputs, node_outputs

log = logging.getLogger(__name__)

THRESHOLD_COLUMNS = [
    "model",
    "vehicle",
    "threshold",
    "windows",
    "minutes",
    "allowed_alarms",
    "max_score",
]


def vehicle_of(capture: str | pd.Series) -> str | pd.Series:
    """A calibration capture's vehicle: the first folder of its path."""
    if isinstance(capture, pd.Series):
        return capture.astype(str).str.split("/", n=1).str[0]
    return capture.split("/", 1)[0]


TRAINING_CAR = "training_car"


def held_out_recordings(frames: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """The run's attack-free training captures held out whole from training (`val_captures` of
    `params:graphs`), as recordings of vehicle `training_car` (`training_car/<capture>`)."""
    p = GraphsParams.model_validate(params)
    capture = frames["capture"].astype(str)
    train = frames["split"].astype(str).str.startswith("train").to_numpy()
    held = train & held_out_captures(capture, p.val_captures)
    attacked = frames.loc[held, "attack"].groupby(capture[held]).max()
    clean = held & ~capture.isin(attacked.index[attacked > 0]).to_numpy()
    out = frames.loc[clean].assign(capture=TRAINING_CAR + "/" + capture[clean])
    log.info(
        "training car profile from held-out captures: %s",
        sorted(capture[clean].unique()) or "none (graphs.val_captures holds out no clean capture)",
    )
    return out.reset_index(drop=True)


def ingest_calibration(
    captures: list[RawCapture],
    ingestion_report: dict[str, Any],
    held_out: pd.DataFrame,
    params: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Validate the recordings like any capture, leaving out those with the content of a capture
    of the run (`ingestion_report`), which would calibrate on training or test traffic; then add
    the training car's held-out captures (`held_out_recordings`)."""
    frames, rejects, report = _validate_recordings(captures, ingestion_report, params)
    if len(held_out):
        frames = pd.concat([frames.astype({"capture": str}), held_out], ignore_index=True)
    held = sorted(held_out["capture"].astype(str).unique())
    return frames, rejects, report | {"held_out": held}


def _validate_recordings(
    captures: list[RawCapture], ingestion_report: dict[str, Any], params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    run = {c["sha256"]: c["capture"] for c in ingestion_report["captures"]}
    kept = [c for c in captures if c.sha256 not in run]
    refused = {
        c.relpath: f"same content as {run[c.sha256]!r} of the run: never used to calibrate"
        for c in captures
        if c.sha256 in run
    }
    for path, reason in refused.items():
        log.warning("calibration recording %s: %s", path, reason)
    if not kept:
        empty = pd.DataFrame({c: [] for c in FRAME_COLUMNS})
        return empty, pd.DataFrame(), {"captures": [], "refused": refused}
    unique, duplicates = deduplicate(kept)
    frames, rejects, report = validate_captures(
        [(describe_unlabelled(c.relpath), c) for c in unique],
        IngestionParams.model_validate(params).on_invalid,
        duplicates,
    )
    return frames, rejects, report | {"refused": refused}


def build_vehicle_profiles(
    frames: pd.DataFrame, report: dict[str, Any], params: dict[str, Any]
) -> dict[str, Any]:
    """`{"profiles": {vehicle: profile}, "refused": {recording or vehicle: reason}}`: a vehicle
    whose recordings are too short gets no profile, and says why."""
    p = ProfilesParams.model_validate(params)
    profiles, refused = {}, dict(report.get("refused", {}))
    if len(frames):
        vehicles = vehicle_of(frames["capture"])
        for vehicle, group in frames.groupby(vehicles.to_numpy(), sort=True):
            try:
                profiles[vehicle] = build_profile(vehicle, group, p.min_count, p.min_minutes)
            except ProfileError as error:
                log.warning("%s", error)
                refused[vehicle] = str(error)
    log.info("vehicle profiles: %s; refused: %s", sorted(profiles), sorted(refused))
    return {"profiles": profiles, "refused": refused}


def build_calibration_graphs(
    frames: pd.DataFrame,
    profiles: dict[str, Any],
    vocabulary: dict[str, Any],
    feature_stats: dict[str, Any],
    params: dict[str, Any],
) -> dict[str, GraphStore]:
    """One store per profiled vehicle: the windows of its recordings, built like training's."""
    vehicles = vehicle_of(frames["capture"]) if len(frames) else pd.Series([], dtype=str)
    return {
        vehicle: scoring_store(
            frames[(vehicles == vehicle).to_numpy()].reset_index(drop=True),
            vocabulary,
            feature_stats,
            params,
        )
        for vehicle in sorted(profiles["profiles"])
    }


def _score_recordings(
    score: Callable[..., dict[str, pd.DataFrame]],
    model: nn.Module,
    calibration_graphs: dict[str, GraphStore],
    params: dict[str, Any],
    profiles_params: dict[str, Any],
    detector: Detector,
    columns: list[str],
) -> pd.DataFrame:
    """`score` (`detector_outputs` or `node_outputs`) over every profile recording, as one
    table of `columns`: each row with its `model`, `vehicle` and `warmup` (its window ends in the
    recording's first `warmup_s`: it sets no threshold)."""
    for vehicle, store in calibration_graphs.items():
        name = f"calibration_graphs[{vehicle}]"
        check_same(f"{detector.name}.model", model.fingerprint, name, store.fingerprint)
    outputs = score(model, calibration_graphs, ScoringParams.model_validate(params).batch_size)
    warmup_s = ProfilesParams.model_validate(profiles_params).warmup_s
    parts = [
        out.assign(
            model=detector.name,
            vehicle=vehicle,
            window=out["window"].to_numpy(np.int64),
            warmup=warmup_windows(calibration_graphs[vehicle].windows, warmup_s)[
                out["window"].to_numpy(np.int64)
            ],
        )[columns]
        for vehicle, out in outputs.items()
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def score_profiles(
    model: nn.Module,
    calibration_graphs: dict[str, GraphStore],
    params: dict[str, Any],
    profiles_params: dict[str, Any],
    *,
    detector: Detector,
) -> pd.DataFrame:
    """The detector's score on every window of every profile recording (`model`, `vehicle`,
    `window`, `score`, `warmup`)."""
    columns = ["model", "vehicle", "window", "score", "warmup"]
    table = _score_recordings(
        detector_outputs, model, calibration_graphs, params, profiles_params, detector, columns
    )
    return table.astype({"score": np.float64}) if len(table) else table


def score_profile_nodes(
    model: nn.Module,
    calibration_graphs: dict[str, GraphStore],
    params: dict[str, Any],
    profiles_params: dict[str, Any],
    *,
    detector: Detector,
) -> pd.DataFrame:
    """The detector's node scores on every profile recording (`model`, `vehicle`, `window`,
    `node`, `node_score`, `warmup`): what an implicated node scores above on the car's clean
    traffic."""
    columns = ["model", "vehicle", "window", "node", "node_score", "warmup"]
    return _score_recordings(
        node_outputs, model, calibration_graphs, params, profiles_params, detector, columns
    )


def calibrate_nodes(params: dict[str, Any], **node_outputs: pd.DataFrame) -> pd.DataFrame:
    """`profile_node_thresholds`: per detector and profile, the `node_quantile` of its node
    scores on the profile's recording after warm-up (columns model, vehicle, node_threshold,
    nodes)."""
    q = EvaluationParams.model_validate(params).node_quantile
    rows = [
        {
            "model": name,
            "vehicle": vehicle,
            "node_threshold": node_threshold(group["node_score"].to_numpy(), q),
            "nodes": len(group),
        }
        for name, outputs in sorted(node_outputs.items())
        for vehicle, group in outputs[~outputs["warmup"].astype(bool)].groupby("vehicle")
    ]
    return pd.DataFrame(rows, columns=["model", "vehicle", "node_threshold", "nodes"])


def calibrate_detectors(
    profiles: dict[str, Any], params: dict[str, Any], **profile_outputs: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Each detector's threshold per profile for the false-alarm budget over the recording's
    windows after warm-up, as a table and inside the profiles (with the detector's score
    quantiles on those windows)."""
    p = ProfilesParams.model_validate(params)
    rows = []
    calibrated = {v: dict(profile, detectors={}) for v, profile in profiles["profiles"].items()}
    for name, outputs in sorted(profile_outputs.items()):
        settled = outputs[~outputs["warmup"].astype(bool)]
        for vehicle, group in settled.groupby("vehicle", sort=True):
            scores = group["score"].to_numpy()
            minutes = profiles["profiles"][vehicle]["minutes"]
            allowed = int(np.floor(p.false_alarms_per_hour * minutes / 60.0))
            threshold = budget_threshold(scores, allowed)
            rows.append(
                {
                    "model": name,
                    "vehicle": vehicle,
                    "threshold": threshold,
                    "windows": len(scores),
                    "minutes": minutes,
                    "allowed_alarms": allowed,
                    "max_score": float(scores.max()),
                }
            )
            quantiles = {str(q): float(np.quantile(scores, q)) for q in (0.5, 0.9, 0.99, 0.999)}
            calibrated[vehicle]["detectors"][name] = {"threshold": threshold} | {
                "score_quantiles": quantiles
            }
    table = pd.DataFrame(rows, columns=THRESHOLD_COLUMNS)
    return table, {"profiles": calibrated, "refused": profiles["refused"]}


def match_run_captures(
    frames: pd.DataFrame, profiles: dict[str, Any], params: dict[str, Any]
) -> pd.DataFrame:
    """Every capture of the run matched (or not) to a profile by the IDs of its first seconds."""
    p = ProfilesParams.model_validate(params)
    matches = match_captures(
        frames, profiles["profiles"], p.match_seconds, p.min_count, p.min_jaccard
    )
    for row in matches.itertuples():
        log.info(
            "%s: %s (Jaccard %.2f)",
            row.capture,
            f"profile {row.profile}" if row.profile else "no profile, uncalibrated",
            row.jaccard,
        )
    return matches
