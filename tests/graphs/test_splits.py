"""Splits: validation by time from training captures, no overlap, one store per test scenario."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kd_gat.graphs.splits import assert_disjoint, split_windows


def windows_of(captures: dict[str, int], size: int, stride: int) -> pd.DataFrame:
    """Window metadata for captures with the given number of windows."""
    rows = [
        {
            "capture": name,
            "scenario": name.split("/")[0],
            "start_row": 1 + k * stride,
            "end_row": k * stride + size,
            "start_time": 0.01 * (1 + k * stride),
            "end_time": 0.01 * (k * stride + size),
        }
        for name, n in captures.items()
        for k in range(n)
    ]
    return pd.DataFrame(rows).astype({"capture": "category", "scenario": "category"})


SPLITS = {
    "train_01/a": "train_attack_free",
    "train_02/b": "train_with_attacks",
    "test_01/c": "test",
    "test_02/d": "test",
}


def test_last_fifth_of_each_training_capture_is_validation():
    w = windows_of({"train_01/a": 10, "train_02/b": 5, "test_01/c": 3, "test_02/d": 2}, 100, 100)
    s = split_windows(w, SPLITS, 0.2)
    assert s.train.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13]
    assert s.val.tolist() == [8, 9, 14]
    assert {k: v.tolist() for k, v in s.test.items()} == {
        "test_01": [15, 16, 17],
        "test_02": [18, 19],
    }
    assert s.val_dropped == 0


def test_named_captures_are_held_out_whole():
    w = windows_of({"train_01/a": 10, "train_02/b": 5, "test_01/c": 3}, 100, 100)
    s = split_windows(w, SPLITS, 0.2, val_captures=["train_02/*"])
    assert s.val.tolist() == [8, 9, 10, 11, 12, 13, 14]  # a's last fifth, all of b
    assert s.train.tolist() == list(range(8))
    # with no time share, validation is the held-out capture alone
    s = split_windows(w, SPLITS, 0.0, val_captures=["*/b"])
    assert s.val.tolist() == [10, 11, 12, 13, 14]
    assert s.train.tolist() == list(range(10))
    # a pattern never takes a test capture out of its scenario
    s = split_windows(w, SPLITS, 0.0, val_captures=["*"])
    assert s.train.tolist() == []
    assert s.test["test_01"].tolist() == [15, 16, 17]


def test_overlapping_validation_windows_are_dropped():
    w = windows_of({"train_01/a": 10}, 100, 50)  # each window overlaps its neighbour
    s = split_windows(w, SPLITS, 0.3)
    assert s.train.tolist() == list(range(7))
    assert s.val.tolist() == [8, 9]  # window 7 shares frames with window 6
    assert s.val_dropped == 1
    last_train_end = w["end_row"].iloc[s.train].max()
    assert (w["start_row"].iloc[s.val] > last_train_end).all()


def test_blocks_spread_validation_over_the_capture():
    w = windows_of({"train_01/a": 10}, 10, 10)
    s = split_windows(w, SPLITS, 0.2, val_blocks=2)
    assert s.val.tolist() == [4, 9]  # the last fifth of blocks [0..4] and [5..9]
    assert s.train.tolist() == [0, 1, 2, 3, 5, 6, 7, 8]


def test_block_validation_never_overlaps_training():
    w = windows_of({"train_01/a": 10}, 10, 5)  # window k holds rows 5k+1 .. 5k+10
    s = split_windows(w, SPLITS, 0.4, val_blocks=2)
    # candidates 3, 4 | 8, 9: 3 overlaps 2; 4 overlaps 5 (a training window after it); 8 overlaps 7
    assert s.val.tolist() == [9]
    assert s.val_dropped == 3
    train_rows = np.concatenate([np.arange(w.start_row[i], w.end_row[i] + 1) for i in s.train])
    val_rows = np.concatenate([np.arange(w.start_row[i], w.end_row[i] + 1) for i in s.val])
    assert not set(train_rows) & set(val_rows)


def test_unknown_capture_is_an_error():
    with pytest.raises(ValueError, match="without a split"):
        split_windows(windows_of({"train_09/z": 2}, 10, 10), SPLITS, 0.2)


def test_assert_disjoint():
    w = windows_of({"train_01/a": 3}, 10, 10)
    assert_disjoint(w.iloc[:2], w.iloc[2:])
    with pytest.raises(ValueError, match="twice"):
        assert_disjoint(w.iloc[:2], w.iloc[1:])


def test_overlap_is_judged_in_time_not_by_row_numbers():
    """Frames moved into time order keep their row numbers, so rows need not grow with time:
    the split must not depend on them."""
    w = windows_of({"train_01/a": 20}, size=100, stride=50)
    moved = w.assign(
        start_row=w["start_row"].to_numpy()[::-1], end_row=w["end_row"].to_numpy()[::-1]
    )
    a, b = split_windows(w, SPLITS, 0.2), split_windows(moved, SPLITS, 0.2)
    assert a.val.tolist() == b.val.tolist()
    assert a.train.tolist() == b.train.tolist()
    assert len(a.val) > 0
    assert a.val_dropped == b.val_dropped > 0  # overlapping neighbours were dropped
