"""Localisation: which CAN IDs of a flagged window carry the attack, and frames judged by them.

Under the window rule (`kd_gat.field_metrics`) every frame takes its window's decision, so where
one frame in a hundred is injected, frame precision is near 1 %. A detector that scores each node
of a window (a node is one CAN ID of the window: `node_scores` of the models) can say which IDs
to blame. The localised rule: a frame is flagged when its window is flagged **and** its ID's node
score in that window reaches the node threshold. Node thresholds are label-free: the
`node_quantile` of the detector's node scores on attack-free traffic (the training car's benign
validation windows; at the profile operating point, for calibrated windows, the matched
profile's recording).

The algorithm, all vectorised:

1. `window_nodes`: the frames of every test window (a window is `n_frames` consecutive frames of
   its capture from the frame whose `row` is `start_row`; captures are contiguous in `frames`, in
   time order, as the graphs stage windowed them) grouped by (window, CAN ID) with one
   `np.unique` over a packed int64 key. Nodes of a window are ordered by CAN ID in the stores, so
   the rank of the ID within its window is the node's position (`node`).
2. `implicated_nodes`: node scores joined to their window's decision and node threshold;
   `implicated = flagged & node_score >= node_threshold`.
3. `localised_frame_counts`: per (model, operating point, scenario, capture), TP = attack frames
   of implicated nodes, FP = their other frames, FN = attack frames of every other node.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from kd_gat.field_metrics import count_frames, frame_scores
from kd_gat.graphs.windows import ranges

NODE_KEYS = ["scenario", "window", "node"]
COUNT_KEYS = ["model", "operating_point", "scenario", "capture"]
LOCALISED_COLUMNS = [
    "frame_tp_localised",
    "frame_fp_localised",
    "frame_fn_localised",
    "frame_precision_localised",
    "frame_recall_localised",
    "frame_f1_localised",
]
_ID_BITS = 30  # CAN IDs have 29 bits


def node_threshold(scores: np.ndarray, quantile: float) -> float:
    """The node score that implicates a node: the `quantile` of node scores on attack-free
    traffic (inf without any: nothing is implicated)."""
    scores = np.asarray(scores, dtype=np.float64)
    return float(np.quantile(scores, quantile)) if scores.size else np.inf


def window_starts(frames: pd.DataFrame, windows: pd.DataFrame) -> np.ndarray:
    """Index in `frames` of each window's first frame (a window is `n_frames` consecutive frames
    of its capture from the frame with its `start_row`; checked against `end_row`, times)."""
    captures = pd.Index(pd.unique(frames["capture"].astype(str)))
    frame_capture = captures.get_indexer(frames["capture"].astype(str)).astype(np.int64)
    window_capture = captures.get_indexer(windows["capture"].astype(str)).astype(np.int64)
    if (window_capture < 0).any():
        raise ValueError("windows of a capture that is not in the frames table")
    row = frames["row"].to_numpy(np.int64)
    frame_key = (frame_capture << 40) | row
    order = np.argsort(frame_key, kind="stable")
    window_key = (window_capture << 40) | windows["start_row"].to_numpy(np.int64)
    at = np.minimum(np.searchsorted(frame_key[order], window_key), max(len(order) - 1, 0))
    start = order[at] if len(order) else np.zeros(0, np.int64)
    last = start + windows["n_frames"].to_numpy(np.int64) - 1
    ok = (
        (frame_key[start] == window_key)
        & (last < len(frames))
        & (frame_capture[np.minimum(last, len(frames) - 1)] == window_capture)
    )
    if not ok.all():
        raise ValueError(
            f"{int((~ok).sum())} windows start at frames not in `frames` (or run past their "
            "capture)"
        )
    time_ = frames["timestamp"].to_numpy(np.float64)
    same = (
        (row[last] == windows["end_row"].to_numpy(np.int64))
        & (time_[start] == windows["start_time"].to_numpy(np.float64))
        & (time_[last] == windows["end_time"].to_numpy(np.float64))
    )
    if not same.all():
        raise ValueError(
            f"{int((~same).sum())} windows do not match their frames (end row or times differ): "
            "the frames are not those the windows were cut from"
        )
    return start.astype(np.int64)


def window_nodes(frames: pd.DataFrame, windows: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per (scenario, window, node): `can_id`, `n_frames`, `n_attack_frames`.

    `frames`: capture, row, timestamp, can_id, attack (the table the stores were built from);
    `windows`: scenario → its store's window table. Raises when a window does not lie on its
    frames (`window_starts`).
    """
    parts = []
    for scenario, table in windows.items():
        try:
            start = window_starts(frames, table)
        except ValueError as error:
            raise ValueError(f"{scenario}: {error}") from error
        n_frames = table["n_frames"].to_numpy(np.int64)
        positions = ranges(start, n_frames)
        window = np.repeat(np.arange(len(table), dtype=np.int64), n_frames)
        can_id = frames["can_id"].to_numpy(np.int64)[positions]
        key = (window << _ID_BITS) | can_id
        unique, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        attack = np.bincount(
            inverse, weights=frames["attack"].to_numpy(np.int64)[positions], minlength=len(unique)
        )
        node_window = unique >> _ID_BITS
        first = np.searchsorted(node_window, node_window, side="left")
        parts.append(
            pd.DataFrame(
                {
                    "scenario": str(scenario),
                    "window": node_window,
                    "node": np.arange(len(unique), dtype=np.int64) - first,
                    "can_id": unique & ((1 << _ID_BITS) - 1),
                    "n_frames": counts.astype(np.int64),
                    "n_attack_frames": attack.astype(np.int64),
                }
            )
        )
    columns = [*NODE_KEYS, "can_id", "n_frames", "n_attack_frames"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def check_nodes(nodes: pd.DataFrame, node_counts: Mapping[str, np.ndarray]) -> None:
    """Raise when a window's distinct IDs are not its store's nodes (`node_counts`: scenario →
    nodes per window)."""
    for scenario, expected in node_counts.items():
        mine = nodes.loc[nodes["scenario"] == scenario, "window"].to_numpy(np.int64)
        got = np.bincount(mine, minlength=len(expected))
        if len(got) != len(expected) or (got != expected).any():
            bad = np.flatnonzero(got[: len(expected)] != expected)[:3].tolist()
            raise ValueError(f"{scenario}: windows {bad} have other nodes than their store")


def node_threshold_per_window(
    decisions: pd.DataFrame,
    validation_thresholds: pd.Series,
    profile_thresholds: pd.DataFrame,
) -> np.ndarray:
    """Each decision row's node threshold: the matched profile's (`profile_thresholds`: model,
    vehicle, node_threshold) for calibrated windows, else the model's validation one
    (`validation_thresholds`: model → threshold). NaN for a model with neither."""
    zero_shot = decisions["model"].map(validation_thresholds).to_numpy(np.float64)
    own = profile_thresholds.rename(columns={"vehicle": "profile"})[
        ["model", "profile", "node_threshold"]
    ]
    joined = decisions[["model", "profile"]].merge(own, on=["model", "profile"], how="left")
    calibrated = decisions["calibrated"].to_numpy(bool) & joined["node_threshold"].notna()
    return np.where(calibrated, joined["node_threshold"].to_numpy(np.float64), zero_shot)


def implicated_nodes(
    decisions: pd.DataFrame, nodes: pd.DataFrame, node_scores: pd.DataFrame
) -> pd.DataFrame:
    """Every node of every decided window of a model with node scores: `decisions` (model,
    operating_point, scenario, window, capture, flagged, node_threshold) × `nodes`
    (`window_nodes`) × `node_scores` (model, scenario, window, node, node_score), with
    `implicated = flagged & node_score >= node_threshold`."""
    scored = node_scores[["model", *NODE_KEYS, "node_score"]].merge(
        nodes, on=NODE_KEYS, how="left", validate="many_to_one"
    )
    if scored["can_id"].isna().any():
        raise ValueError("node scores for nodes that no window of the test stores has")
    table = decisions.merge(scored, on=["model", "scenario", "window"], how="inner")
    return table.assign(
        implicated=table["flagged"].to_numpy(bool)
        & (table["node_score"].to_numpy(np.float64) >= table["node_threshold"].to_numpy())
    )


def localised_frame_counts(implicated: pd.DataFrame) -> pd.DataFrame:
    """Frame TP, FP, FN under the localised rule per (model, operating point, scenario,
    capture): columns `COUNT_KEYS` + `frame_tp_localised`, `frame_fp_localised`,
    `frame_fn_localised`."""
    hit = implicated["implicated"].to_numpy(bool)
    return count_frames(implicated, hit, COUNT_KEYS, suffix="_localised")


def localised_metrics(counts: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Frame precision, recall and F1 under the localised rule per group of `keys`."""
    columns = LOCALISED_COLUMNS[:3]
    table = counts.groupby(keys, sort=True, observed=True)[columns].sum().reset_index()
    precision, recall, f1 = frame_scores(*(table[c] for c in columns))
    return table.assign(
        frame_precision_localised=precision,
        frame_recall_localised=recall,
        frame_f1_localised=f1,
    )
