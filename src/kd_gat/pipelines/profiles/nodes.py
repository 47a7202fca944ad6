"""Profiles nodes: attack-free recordings of each car → its profile (ID set, periods, frame
counts); the run's captures and the recordings matched to the profiles. Frames only: the graphs
read the matched profile of every capture (`kd_gat.graphs.prior`), and the calibration stage
sets each detector's threshold on the recordings once the models are trained.

A recording whose content equals a capture of the run (training or test) is never used: it is
listed in the calibration report with the capture it repeats. The training car's own profile
(`training_car`) comes from its attack-free captures held out from training
(`graphs.val_captures`), never from a capture the models were fitted on.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from kd_gat.graphs.splits import held_out_captures
from kd_gat.ingestion.captures import RawCapture, describe_unlabelled
from kd_gat.ingestion.frames import FRAME_COLUMNS
from kd_gat.ingestion.validate import deduplicate, validate_captures
from kd_gat.params.graphs import GraphsParams
from kd_gat.params.ingestion import IngestionParams
from kd_gat.params.profiles import ProfilesParams
from kd_gat.profiles import (
    TRAINING_CAR,
    ProfileError,
    build_profile,
    match_captures,
    vehicle_of,
)

log = logging.getLogger(__name__)


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


def match_to_profiles(
    frames: pd.DataFrame, profiles: dict[str, Any], params: dict[str, Any]
) -> pd.DataFrame:
    """Every capture of `frames` (the run's, or the recordings) matched (or not) to a profile
    by the IDs of its first seconds."""
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
