"""Hand-worked graphs: every node, edge, feature and label checked against values worked out
by hand; windows never cross captures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kd_gat.graphs.builder import EDGE_FEATURES, NODE_FEATURES, build_store, capture_table
from tests.graphs.factory import capture, frames

VOCABULARY = np.array([0x100, 0x200, 0x400])
OOV = 3


@pytest.fixture
def example() -> pd.DataFrame:
    """Capture A (8 frames) then capture B (6 frames); windows of 6 frames."""
    a = capture(
        "train_01_attack_free/A",
        "train_attack_free",
        can_id=[0x100, 0x200, 0x100, 0x200, 0x200, 0x300, 0x400, 0x100],
        timestamp=[10.000, 10.001, 10.010, 10.012, 10.020, 10.021, 10.030, 10.031],
        payload=[[10, 20], [5], [10, 30], [5], [6], [], [1, 1, 1, 1, 1, 1, 1, 1], [10, 20]],
        attack=[0, 0, 0, 0, 0, 1, 1, 0],
    )
    b = capture(
        "train_01_attack_free/B",
        "train_attack_free",
        can_id=[0x100] * 6,
        timestamp=[50.0, 50.1, 50.2, 50.3, 50.4, 50.5],
        payload=[[1]] * 6,
    )
    return frames(a, b)


def test_hand_worked_window(example):
    store, captures = build_store(example, VOCABULARY, 6, 6, "drop", 1)
    assert len(store) == 2
    assert captures["n_windows"].tolist() == [1, 1]
    g = store[0]

    # Nodes: one per distinct ID, ordered by ID; 0x300 is out of vocabulary.
    assert g.node_id.tolist() == [0, 1, OOV]
    x = pd.DataFrame(g.x.numpy(), columns=list(NODE_FEATURES))
    expected_nodes = {
        # ID 0x100: frames 0, 2 (payloads 0a14, 0a1e: 1 change, 20^30 = 0b01010 → 2 bits)
        "byte_0_mean": [10 / 255, 16 / 3 / 255, 0],
        "byte_1_mean": [25 / 255, 0, 0],
        "frame_share": [2 / 6, 3 / 6, 1 / 6],
        "dlc_mean": [2 / 8, 1 / 8, 0],
        # ID 0x200: frames 1, 3, 4 → gaps 0.011, 0.008
        "iat_mean": [0.010, 0.0095, 0],
        "iat_std": [0, 0.0015, 0],
        # ID 0x200: payload 05 → 05 (same) → 06 (changed, 5^6 = 0b11 → 2 bits)
        "payload_change_rate": [1, 0.5, 0],
        "payload_bit_flip_rate": [2 / 64, 1 / 64, 0],
        "oov": [0, 0, 1],
    }
    for name, values in expected_nodes.items():
        np.testing.assert_allclose(x[name], values, rtol=1e-5, atol=1e-7, err_msg=name)
    for b in range(2, 8):
        assert (x[f"byte_{b}_mean"] == 0).all()

    # Edges: transitions 0→1 (positions 0 and 2), 1→0 (1), 1→1 (3, self-loop), 1→2 (4).
    assert g.edge_index.tolist() == [[0, 1, 1, 1], [1, 0, 1, 2]]
    e = pd.DataFrame(g.edge_attr.numpy(), columns=list(EDGE_FEATURES))
    np.testing.assert_allclose(e["log_count"], np.log1p([2, 1, 1, 1]), rtol=1e-6)
    np.testing.assert_allclose(e["gap_mean"], [0.0015, 0.009, 0.008, 0.001], rtol=1e-5)
    np.testing.assert_allclose(e["first_position"], [0, 1 / 6, 3 / 6, 4 / 6], rtol=1e-6)
    np.testing.assert_allclose(e["last_position"], [2 / 6, 1 / 6, 3 / 6, 4 / 6], rtol=1e-6)

    # Label: one attack frame (row 6) in the window.
    assert g.y.tolist() == [1]
    meta = store.windows.iloc[0]
    assert meta["capture"] == "train_01_attack_free/A"
    assert (meta["start_row"], meta["end_row"], meta["n_frames"]) == (1, 6, 6)
    assert (meta["start_time"], meta["end_time"]) == (10.000, 10.021)
    assert (meta["n_attack_frames"], meta["label"]) == (1, 1)


def test_second_capture_is_its_own_window(example):
    store, _ = build_store(example, VOCABULARY, 6, 6, "drop", 1)
    g = store[1]
    meta = store.windows.iloc[1]
    assert (meta["capture"], meta["start_row"], meta["end_row"]) == ("train_01_attack_free/B", 1, 6)
    assert g.node_id.tolist() == [0]
    assert g.edge_index.tolist() == [[0], [0]]  # a self-loop, 5 transitions
    np.testing.assert_allclose(g.edge_attr[0, 0], np.log1p(5), rtol=1e-6)
    np.testing.assert_allclose(g.x[0, NODE_FEATURES.index("iat_mean")], 0.1, rtol=1e-5)
    assert g.y.tolist() == [0]


def test_min_attack_frames(example):
    store, _ = build_store(example, VOCABULARY, 6, 6, "drop", 2)
    assert store.windows["label"].tolist() == [0, 0]
    assert store.windows["n_attack_frames"].tolist() == [1, 0]


def test_keep_policy_makes_a_short_tail_window_inside_its_capture(example):
    store, captures = build_store(example, VOCABULARY, 6, 6, "keep", 1)
    assert store.windows["capture"].astype(str).tolist() == [
        "train_01_attack_free/A",
        "train_01_attack_free/A",
        "train_01_attack_free/B",
    ]
    tail = store[1]
    meta = store.windows.iloc[1]
    assert (meta["start_row"], meta["end_row"], meta["n_frames"]) == (7, 8, 2)
    assert tail.node_id.tolist() == [0, 2]  # 0x100, 0x400
    assert tail.edge_index.tolist() == [[1], [0]]  # 0x400 → 0x100
    assert tail.y.tolist() == [1]
    assert captures["n_windows"].tolist() == [2, 1]


def test_windows_never_cross_captures():
    # Capture lengths that are not multiples of the stride, overlapping windows.
    a = capture("test_01/a", "test", can_id=[1] * 7)
    b = capture("test_01/b", "test", can_id=[2] * 9)
    store, _ = build_store(frames(a, b), np.array([1, 2]), 4, 3, "keep", 1)
    for i in range(len(store)):
        ids = set(store[i].node_id.tolist())
        assert len(ids) == 1  # a window mixing captures would hold both IDs
        meta = store.windows.iloc[i]
        assert meta["end_row"] - meta["start_row"] + 1 == meta["n_frames"]
    assert store.windows["n_frames"].tolist() == [4, 4, 1, 4, 4, 3]


def test_capture_table_rejects_interleaved_captures():
    a = capture("test_01/a", "test", can_id=[1, 1])
    b = capture("test_01/b", "test", can_id=[2])
    with pytest.raises(ValueError, match="contiguous"):
        capture_table(frames(a, b, a))


def test_no_windows_gives_an_empty_store():
    store, captures = build_store(
        frames(capture("test_01/a", "test", can_id=[1, 2])), np.array([1]), 5, 5, "drop", 1
    )
    assert len(store) == 0
    assert store.x.shape == (0, len(NODE_FEATURES))
    assert captures["n_windows"].tolist() == [0]
