"""Vehicle profiles: what a few minutes of a car's attack-free traffic tell a detector.

A profile holds a car's CAN-ID set (IDs seen at least `min_count` times), each ID's frame count and
mean period, and, once detectors have scored the recording, each detector's score quantiles and
its threshold for a false-alarm budget. A capture is matched to a profile by its first seconds:
the IDs seen at least `min_count` times in its first `match_seconds`, Jaccard-compared with each
profile's ID set; the best profile at or above `min_jaccard` wins, else the capture is unmatched.
Windows that end before the match is made (its first `match_seconds`), and unmatched captures,
are scored at the zero-shot operating point and marked uncalibrated.

Measured on the shared data (first 3 s, IDs seen 3 times): a capture against its own car's
profile 0.96–1.0, against the sibling car's 0.76–0.78, against another maker's 0.01.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

TRAINING_CAR = "training_car"  # the profile of the run's own car, from held-out captures


def vehicle_of(capture: str | pd.Series) -> str | pd.Series:
    """A calibration capture's vehicle: the first folder of its path."""
    if isinstance(capture, pd.Series):
        return capture.astype(str).str.split("/", n=1).str[0]
    return capture.split("/", 1)[0]


class ProfileError(ValueError):
    """A calibration recording cannot make a profile (too short, or a capture of the run)."""


def frequent_ids(can_id: np.ndarray, min_count: int) -> np.ndarray:
    """Sorted CAN IDs seen at least `min_count` times."""
    ids, counts = np.unique(np.asarray(can_id, dtype=np.int64), return_counts=True)
    return ids[counts >= min_count]


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """|a ∩ b| / |a ∪ b| of two ID sets (0 when both are empty)."""
    union = np.union1d(a, b).size
    return np.intersect1d(a, b).size / union if union else 0.0


def id_periods(frames: pd.DataFrame, ids: np.ndarray) -> dict[int, float]:
    """Mean gap (s) between consecutive frames of each ID, within captures (NaN: one frame)."""
    table = frames.loc[frames["can_id"].isin(ids), ["capture", "can_id", "timestamp"]]
    grouped = table.groupby(["capture", "can_id"], observed=True)["timestamp"]
    per_capture = pd.DataFrame({"span": grouped.max() - grouped.min(), "gaps": grouped.size() - 1})
    per_id = per_capture.groupby(level="can_id").sum()
    period = per_id["span"] / per_id["gaps"].where(per_id["gaps"] > 0)
    return {int(k): float(v) for k, v in period.items()}


def build_profile(
    vehicle: str, frames: pd.DataFrame, min_count: int, min_minutes: float
) -> dict[str, Any]:
    """The JSON-able profile of one car from its attack-free `frames` (one or more captures).

    Raises `ProfileError` when the recording lasts less than `min_minutes` in all.
    """
    if frames.empty:
        raise ProfileError(f"vehicle {vehicle!r}: no frames to build a profile from")
    times = frames.groupby("capture", observed=True)["timestamp"]
    minutes = float((times.max() - times.min()).sum() / 60.0)
    if minutes < min_minutes:
        raise ProfileError(
            f"vehicle {vehicle!r}: {minutes:.2f} min of traffic, below the {min_minutes} min a "
            "profile needs (record longer, covering the car's states: accessory, idle, driving)"
        )
    ids = frequent_ids(frames["can_id"].to_numpy(), min_count)
    counts = frames["can_id"].value_counts()
    return {
        "vehicle": vehicle,
        "captures": sorted(frames["capture"].astype(str).unique().tolist()),
        "frames": len(frames),
        "minutes": minutes,
        "can_ids": ids.tolist(),
        "frame_counts": {int(i): int(counts[i]) for i in ids},
        "periods": id_periods(frames, ids),
    }


def warmup_windows(windows: pd.DataFrame, seconds: float) -> np.ndarray:
    """True for the windows (a store's window table) that end within their capture's first
    `seconds`, counted from the capture's first window."""
    start = windows.groupby("capture", observed=True)["start_time"].transform("min")
    return (windows["end_time"] < start + seconds).to_numpy(bool)


def recording_minutes(windows: pd.DataFrame) -> float:
    """Minutes of traffic a store's windows cover: per capture, from its first window's start
    to its last window's end, summed."""
    if windows.empty:
        return 0.0
    times = windows.groupby(windows["capture"].astype(str).to_numpy(), sort=False)
    return float((times["end_time"].max() - times["start_time"].min()).sum() / 60.0)


def distillation_windows(windows: pd.DataFrame, share: float) -> np.ndarray:
    """True for the windows (a store's window table of profile recordings) kept for
    distillation: those starting in the last `share` of their recording's time span, on cars
    other than the training car. The rest set the thresholds: a window that taught a student is
    never one that calibrates it."""
    capture = windows["capture"].astype(str)
    times = windows.groupby(capture.to_numpy(), sort=False)
    first = times["start_time"].transform("min").to_numpy(np.float64)
    last = times["end_time"].transform("max").to_numpy(np.float64)
    late = windows["start_time"].to_numpy(np.float64) >= last - share * (last - first)
    return (share > 0) & late & (vehicle_of(capture) != TRAINING_CAR).to_numpy()


def capture_starts(frames: pd.DataFrame, seconds: float, min_count: int) -> dict[str, np.ndarray]:
    """Per capture: the IDs seen at least `min_count` times in its first `seconds`."""
    t0 = frames.groupby("capture", observed=True)["timestamp"].transform("min")
    early = frames.loc[frames["timestamp"] < t0 + seconds, ["capture", "can_id"]]
    counts = early.groupby(["capture", "can_id"], observed=True).size()
    counts = counts[counts >= min_count].reset_index()
    return {
        str(capture): np.sort(group["can_id"].to_numpy(dtype=np.int64))
        for capture, group in counts.groupby("capture", observed=True)
    }


def match_captures(
    frames: pd.DataFrame,
    profiles: dict[str, dict[str, Any]],
    seconds: float,
    min_count: int,
    min_jaccard: float,
) -> pd.DataFrame:
    """One row per capture: `profile` (best match at or above `min_jaccard`, else None), its
    `jaccard`, and `matched_from` (time from which windows may use it: first frame + `seconds`)."""
    starts = capture_starts(frames, seconds, min_count)
    first = frames.groupby("capture", observed=True)["timestamp"].min()
    rows = []
    for capture, t0 in first.items():  # a loop over captures, not frames
        ids = starts.get(str(capture), np.zeros(0, np.int64))
        scores = {v: jaccard(ids, np.asarray(p["can_ids"])) for v, p in profiles.items()}
        best = max(scores, key=scores.get) if scores else None
        matched = best is not None and scores[best] >= min_jaccard
        rows.append(
            {
                "capture": str(capture),
                "profile": best if matched else None,
                "jaccard": scores[best] if best is not None else 0.0,
                "matched_from": float(t0) + seconds,
            }
        )
    return pd.DataFrame(rows, columns=["capture", "profile", "jaccard", "matched_from"])


THRESHOLD_COLUMNS = [
    "model",
    "vehicle",
    "threshold",
    "threshold_half_budget",
    "windows",
    "minutes",
    "allowed_alarms",
    "max_score",
]


def calibrate(
    model: str, vehicle: str, scores: np.ndarray, minutes: float, false_alarms_per_hour: float
) -> dict[str, Any]:
    """A `profile_thresholds` row (`THRESHOLD_COLUMNS`): the threshold that flags at most the
    alarms `false_alarms_per_hour` allows over the `minutes` the car's calibrating `scores`
    (one per window) cover, and the one for half that budget (a member of an alarm-level OR of
    two detectors, `kd_gat.operating_points.alarm_or`)."""
    scores = np.asarray(scores, dtype=np.float64)
    allowed = int(np.floor(false_alarms_per_hour * minutes / 60.0))
    return {
        "model": model,
        "vehicle": vehicle,
        "threshold": budget_threshold(scores, allowed),
        "threshold_half_budget": budget_threshold(scores, allowed // 2),
        "windows": len(scores),
        "minutes": minutes,
        "allowed_alarms": allowed,
        "max_score": float(scores.max()) if len(scores) else np.nan,
    }


def budget_threshold(scores: np.ndarray, allowed: int) -> float:
    """The lowest threshold at which at most `allowed` of `scores` are flagged (`>=`)."""
    ranked = np.sort(np.asarray(scores, dtype=np.float64))[::-1]
    if allowed >= len(ranked):
        return float(ranked[-1]) if len(ranked) else np.inf
    return float(np.nextafter(ranked[allowed], np.inf))
