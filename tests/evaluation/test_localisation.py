"""Localisation on a hand-made timeline: nodes recovered from frames, the localised frame rule
against the window rule, node thresholds per operating point."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kd_gat.localisation import (
    check_nodes,
    implicated_nodes,
    localised_frame_counts,
    localised_metrics,
    node_threshold,
    node_threshold_per_window,
    window_nodes,
)

# one capture, 8 frames in time order (rows need not be in time order: rows 3 and 4 swapped);
# the frame of ID 9 (row 7) is injected. Windows of 4 frames: w0 = rows 1, 2, 4, 3; w1 = 5..8.
FRAMES = pd.DataFrame(
    {
        "capture": "c",
        "row": [1, 2, 4, 3, 5, 6, 7, 8],
        "timestamp": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
        "can_id": [1, 2, 1, 3, 1, 2, 9, 1],
        "attack": [0, 0, 0, 0, 0, 0, 1, 0],
    }
)
WINDOWS = {
    "s": pd.DataFrame(
        {
            "capture": ["c", "c"],
            "start_row": [1, 5],
            "end_row": [3, 8],
            "start_time": [0.0, 0.4],
            "end_time": [0.3, 0.7],
            "n_frames": [4, 4],
            "label": [0, 1],
        }
    )
}


def test_nodes_are_the_windows_ids_in_order_with_their_frames() -> None:
    nodes = window_nodes(FRAMES, WINDOWS)
    assert nodes["window"].tolist() == [0, 0, 0, 1, 1, 1]
    assert nodes["node"].tolist() == [0, 1, 2, 0, 1, 2]
    assert nodes["can_id"].tolist() == [1, 2, 3, 1, 2, 9]
    assert nodes["n_frames"].tolist() == [2, 1, 1, 2, 1, 1]
    assert nodes["n_attack_frames"].tolist() == [0, 0, 0, 0, 0, 1]
    check_nodes(nodes, {"s": np.array([3, 3])})
    with pytest.raises(ValueError, match="other nodes than their store"):
        check_nodes(nodes, {"s": np.array([3, 2])})


def test_a_window_starting_at_an_unknown_frame_is_refused() -> None:
    bad = {"s": WINDOWS["s"].assign(start_row=[1, 99])}
    with pytest.raises(ValueError, match="not in `frames`"):
        window_nodes(FRAMES, bad)
    # a window whose frames are not those it was cut from (its end row differs)
    moved = {"s": WINDOWS["s"].assign(end_row=[4, 8])}
    with pytest.raises(ValueError, match="do not match"):
        window_nodes(FRAMES, moved)


def decisions(flagged: list[bool], node_threshold: float = 0.5) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": "m",
            "operating_point": "validation",
            "scenario": "s",
            "window": [0, 1],
            "capture": "c",
            "flagged": flagged,
            "node_threshold": node_threshold,
        }
    )


SCORES = pd.DataFrame(
    {
        "model": "m",
        "scenario": "s",
        "window": [0, 0, 0, 1, 1, 1],
        "node": [0, 1, 2, 0, 1, 2],
        "node_score": [0.1, 0.2, 0.1, 0.1, 0.3, 0.9],  # ID 9 in w1 stands out
    }
)


def test_the_localised_rule_blames_only_the_injected_id() -> None:
    nodes = window_nodes(FRAMES, WINDOWS)
    implicated = implicated_nodes(decisions([False, True]), nodes, SCORES)
    assert implicated.loc[implicated["implicated"], "can_id"].tolist() == [9]
    counts = localised_frame_counts(implicated)
    row = localised_metrics(counts, ["model", "operating_point", "scenario"]).iloc[0]
    assert (row["frame_tp_localised"], row["frame_fp_localised"]) == (1, 0)
    assert row["frame_fn_localised"] == 0
    assert row["frame_precision_localised"] == 1.0  # the window rule: 1 of 4 frames
    assert row["frame_f1_localised"] == 1.0


def test_nothing_flagged_misses_the_attack_frame() -> None:
    nodes = window_nodes(FRAMES, WINDOWS)
    counts = localised_frame_counts(implicated_nodes(decisions([False, False]), nodes, SCORES))
    row = localised_metrics(counts, ["model"]).iloc[0]
    assert (row["frame_tp_localised"], row["frame_fn_localised"]) == (0, 1)
    assert row["frame_recall_localised"] == 0.0
    assert np.isnan(row["frame_precision_localised"])  # nothing flagged


def test_a_low_node_threshold_falls_back_to_the_window_rule() -> None:
    nodes = window_nodes(FRAMES, WINDOWS)
    implicated = implicated_nodes(decisions([False, True], node_threshold=0.0), nodes, SCORES)
    row = localised_metrics(localised_frame_counts(implicated), ["model"]).iloc[0]
    assert (row["frame_tp_localised"], row["frame_fp_localised"]) == (1, 3)


def test_calibrated_windows_take_the_profiles_node_threshold() -> None:
    table = pd.DataFrame(
        {
            "model": ["m", "m", "f"],
            "profile": ["B", "B", "B"],
            "calibrated": [True, False, True],
        }
    )
    profile = pd.DataFrame({"model": ["m"], "vehicle": ["B"], "node_threshold": [0.8]})
    validation = pd.Series({"m": 0.3})
    got = node_threshold_per_window(table, validation, profile)
    assert got[:2].tolist() == [0.8, 0.3]
    assert np.isnan(got[2])  # no node scores for "f": never implicated
    assert node_threshold(np.array([]), 0.99) == np.inf
    assert node_threshold(np.arange(101.0), 0.5) == 50.0
