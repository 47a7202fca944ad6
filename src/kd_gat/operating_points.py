"""Operating points: the threshold each test window is judged at (pure, label-free).

A detector ranks windows; where it draws the line decides what a user sees. Two operating points:

- `validation`: the threshold the model chose on the training car's validation windows, applied
  to every window of every car. It is also the *zero-shot* threshold: what a window gets when
  nothing is known about its car.
- `profile`: a window takes the model's threshold on the vehicle profile its capture was matched
  to (`kd_gat.profiles.match_captures`; the threshold of `profile_thresholds`, set by a
  false-alarm budget on that car's attack-free recording) when the capture matched a profile,
  the window ends at or after the match was made (`matched_from`: the capture's first
  `match_seconds`), and the model has a threshold for that profile. Such windows are
  `calibrated`. Every other window (before the match, a capture that matched nothing, a model
  with no profile threshold, such as a fusion method) keeps its zero-shot threshold and is marked
  uncalibrated.

At both points a window that ends within its capture's first `warmup_s` seconds (the
calibration's `profiles.warmup_s`) raises no alarm: its threshold is +inf. The history features
measure each ID against its own past, which a capture's first seconds do not have yet; the
profile thresholds were set without those windows, so no threshold covers them (measured: the
VGAEs' highest scores on clean test traffic are all there).

Both are computed without reading a label: shuffling the test labels changes no threshold.

`alarm_or` adds the alarm-level baseline of a VGAE and a GAT: a window is flagged when either
flags it, each at its own threshold (validation), or each calibrated to half the car's
false-alarm budget (profile), so the pair keeps the budget one detector has.
`zero_shot_threshold` is the one place a detector's validation threshold (window and node) is
set; the calibration stage tabulates it for evaluation and inference.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from kd_gat.localisation import node_threshold
from kd_gat.metrics import choose_threshold
from kd_gat.profiles import warmup_windows

VALIDATION, PROFILE = "validation", "profile"
OPERATING_POINTS = (VALIDATION, PROFILE)
KEYS = ["model", "scenario", "window"]
COLUMNS = [
    *KEYS,
    "capture",
    "start_time",
    "end_time",
    "label",
    "score",
    "threshold",
    "operating_point",
    "profile",
    "calibrated",
]


ZERO_SHOT_COLUMNS = ["model", "threshold", "node_threshold"]


def zero_shot_threshold(
    window_outputs: pd.DataFrame,
    node_outputs: pd.DataFrame,
    normal_quantile: float,
    node_quantile: float,
) -> tuple[float, float]:
    """A detector's zero-shot operating point, from the training car's validation windows only:
    the window threshold it chose there (`choose_threshold`) and the node threshold (the
    `node_quantile` of its node scores on the benign validation windows)."""
    val = window_outputs[window_outputs["split"] == "val"]
    threshold = choose_threshold(val["label"].to_numpy(), val["score"].to_numpy(), normal_quantile)
    benign = val.loc[val["label"].to_numpy() == 0, "window"].to_numpy(np.int64)
    nodes = node_outputs[(node_outputs["split"] == "val") & node_outputs["window"].isin(benign)]
    return threshold, node_threshold(nodes["node_score"].to_numpy(), node_quantile)


def _window_meta(windows: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """scenario, window (row of its store), capture, start and end time of every test
    window."""
    parts = [
        pd.DataFrame(
            {
                "scenario": str(scenario),
                "window": np.arange(len(table), dtype=np.int64),
                "capture": table["capture"].astype(str).to_numpy(object),
                "start_time": table["start_time"].to_numpy(np.float64),
                "end_time": table["end_time"].to_numpy(np.float64),
            }
        )
        for scenario, table in windows.items()
    ]
    empty = pd.DataFrame(
        {"scenario": [], "window": [], "capture": [], "start_time": [], "end_time": []}
    )
    return pd.concat(parts or [empty], ignore_index=True).astype(
        {
            "scenario": object,
            "window": np.int64,
            "capture": object,
            "start_time": np.float64,
            "end_time": np.float64,
        }
    )


def profile_thresholds_per_window(
    window_scores: pd.DataFrame,
    windows: Mapping[str, pd.DataFrame],
    matches: pd.DataFrame,
    thresholds: pd.DataFrame,
    warmup_s: float = 0.0,
) -> pd.DataFrame:
    """`window_scores` (model, scenario, window, label, score, zero-shot `threshold`) at the
    profile operating point: `threshold` per window (+inf in its capture's first `warmup_s`),
    `profile` (the capture's match or None) and `calibrated`. `matches`: capture, profile,
    matched_from; `thresholds`: model, vehicle, threshold. Raises when a scored window has no
    row in `windows`."""
    return _profile_table(window_scores, windows, matches, thresholds, warmup_s)[COLUMNS]


def _profile_table(
    window_scores: pd.DataFrame,
    windows: Mapping[str, pd.DataFrame],
    matches: pd.DataFrame,
    thresholds: pd.DataFrame,
    warmup_s: float,
) -> pd.DataFrame:
    """`profile_thresholds_per_window` with its `warmup` column."""
    meta = _window_meta(windows)
    meta["warmup"] = warmup_windows(meta, warmup_s)
    table = window_scores.astype({"scenario": object, "window": np.int64}).merge(
        meta, on=["scenario", "window"], how="left", validate="many_to_one"
    )
    if table["capture"].isna().any():
        example = table.loc[table["capture"].isna(), KEYS].head(3).to_dict("records")
        raise ValueError(f"scored windows missing from the test stores, e.g. {example}")
    # read back from CSV, a column of unmatched captures only is float (NaN): make it object
    matched = matches[["capture", "profile", "matched_from"]].astype(
        {"capture": object, "profile": object}
    )
    table = table.merge(matched, on="capture", how="left", validate="many_to_one")
    own = thresholds[["model", "vehicle", "threshold"]].rename(
        columns={"vehicle": "profile", "threshold": "profile_threshold"}
    )
    table = table.merge(own, on=["model", "profile"], how="left", validate="many_to_one")
    calibrated = (
        table["profile"].notna().to_numpy()
        & table["profile_threshold"].notna().to_numpy()
        & (table["end_time"].to_numpy(np.float64) >= table["matched_from"].to_numpy(np.float64))
    )
    warmup = table["warmup"].to_numpy(bool)
    threshold = np.where(calibrated, table["profile_threshold"], table["threshold"])
    return table.assign(
        threshold=np.where(warmup, np.inf, threshold),
        operating_point=PROFILE,
        profile=table["profile"].astype(object).where(table["profile"].notna(), None),
        calibrated=calibrated,
    )


def with_operating_points(
    window_scores: pd.DataFrame,
    windows: Mapping[str, pd.DataFrame],
    matches: pd.DataFrame,
    thresholds: pd.DataFrame,
    warmup_s: float = 0.0,
) -> pd.DataFrame:
    """Every scored window twice, with its capture: at the `validation` operating point
    (uncalibrated) and at the `profile` one (`profile_thresholds_per_window`), in `COLUMNS`;
    at both, a window in its capture's first `warmup_s` raises no alarm (threshold +inf)."""
    profile = _profile_table(window_scores, windows, matches, thresholds, warmup_s)
    validation = profile.assign(
        threshold=np.where(
            profile["warmup"].to_numpy(bool),
            np.inf,
            window_scores["threshold"].to_numpy(np.float64),
        ),
        operating_point=VALIDATION,
        profile=None,
        calibrated=False,
    )
    return pd.concat([validation[COLUMNS], profile[COLUMNS]], ignore_index=True)


def half_budget_thresholds(rows: pd.DataFrame, thresholds: pd.DataFrame) -> np.ndarray:
    """Each row's threshold (rows of one model in `COLUMNS`) as a member of an alarm-level OR:
    at the `profile` point a calibrated window takes the model's threshold for half its car's
    budget (`thresholds`: model, vehicle, threshold_half_budget), every other row keeps its
    own."""
    half = thresholds.set_index(["model", "vehicle"])["threshold_half_budget"]
    lookup = pd.MultiIndex.from_arrays(
        [rows["model"].to_numpy(object), rows["profile"].to_numpy(object)]
    )
    budget = half.reindex(lookup).to_numpy(np.float64)
    own = rows["threshold"].to_numpy(np.float64)
    use = (
        (rows["operating_point"].to_numpy(object) == PROFILE)
        & rows["calibrated"].to_numpy(bool)
        & np.isfinite(budget)
        & np.isfinite(own)  # +inf: warming up, no alarm
    )
    return np.where(use, budget, own)


def alarm_or(table: pd.DataFrame, name: str, vgae: str, gat: str, thresholds: pd.DataFrame):
    """Rows (`COLUMNS`) of model `name`: the windows of `table` (`with_operating_points`) that
    both `vgae` and `gat` scored, flagged when either member's score reaches its threshold
    (`half_budget_thresholds`: at the `profile` point a calibrated member spends half the car's
    budget); the pair is calibrated when both are. Its `score` is the larger margin of a member
    over its threshold (threshold 0), so the decision is exact; as a ranking it mixes two
    scales."""
    keys = ["operating_point", "scenario", "window"]
    members = []
    for model in (vgae, gat):
        rows = table[table["model"] == model]
        members.append(
            rows.assign(threshold=half_budget_thresholds(rows, thresholds)).set_index(keys)
        )
    first, second = members[0].align(members[1], join="inner", axis=0)
    return either(first.reset_index(), second.reset_index(), name)[COLUMNS]


def either(first: pd.DataFrame, second: pd.DataFrame, name: str) -> pd.DataFrame:
    """Two members' rows of the same windows (aligned; `score`, `threshold`, `calibrated`) as
    the rows of their alarm-level OR `name`: `score` the larger margin of a member over its
    threshold (finite), `threshold` 0, calibrated when both are."""
    with np.errstate(invalid="ignore"):
        margin = np.fmax(
            first["score"].to_numpy(np.float64) - first["threshold"].to_numpy(np.float64),
            second["score"].to_numpy(np.float64) - second["threshold"].to_numpy(np.float64),
        )
    return first.assign(
        model=name,
        score=np.nan_to_num(margin, neginf=-1e12, posinf=1e12),
        threshold=0.0,
        calibrated=first["calibrated"].to_numpy(bool) & second["calibrated"].to_numpy(bool),
    )
