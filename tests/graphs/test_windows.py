"""Windows are cut inside captures; the short tail follows the policy and is counted."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kd_gat.graphs.windows import (
    capture_runs,
    count_windows,
    frames_left_out,
    frames_left_out_by_policy,
    make_windows,
)


def test_drop_policy_counts_the_tail():
    windows = make_windows(np.array([0, 250]), np.array([250, 80]), 100, 100, "drop")
    assert windows.start.tolist() == [0, 100]
    assert windows.length.tolist() == [100, 100]
    assert windows.capture.tolist() == [0, 0]
    assert frames_left_out(windows, np.array([250, 80]), 100).tolist() == [50, 80]


def test_keep_policy_adds_one_shorter_window():
    windows = make_windows(np.array([0, 250]), np.array([250, 80]), 100, 100, "keep")
    assert windows.start.tolist() == [0, 100, 200, 250]
    assert windows.length.tolist() == [100, 100, 50, 80]
    assert windows.ordinal.tolist() == [0, 1, 2, 0]
    assert frames_left_out(windows, np.array([250, 80]), 100).tolist() == [0, 0]


def test_overlapping_windows_and_gaps():
    overlapping = make_windows(np.array([0]), np.array([10]), 4, 2, "drop")
    assert overlapping.start.tolist() == [0, 2, 4, 6]
    assert frames_left_out(overlapping, np.array([10]), 2).tolist() == [0]
    gapped = make_windows(np.array([0]), np.array([10]), 3, 4, "drop")
    assert gapped.start.tolist() == [0, 4]
    # frames 3, 7, 8, 9 fall in no window
    assert frames_left_out(gapped, np.array([10]), 4).tolist() == [4]
    by_policy = frames_left_out_by_policy(np.array([10]), 3, 4)
    assert {k: v.tolist() for k, v in by_policy.items()} == {"drop": [4], "keep": [2]}


@given(
    lengths=st.lists(st.integers(1, 60), min_size=1, max_size=5),
    size=st.integers(1, 15),
    stride=st.integers(1, 20),
    policy=st.sampled_from(["drop", "keep"]),
)
def test_windows_stay_inside_their_capture(lengths, size, stride, policy):
    length = np.array(lengths)
    start = np.cumsum(length) - length
    w = make_windows(start, length, size, stride, policy)
    assert len(w) == count_windows(length, size, stride, policy).sum()
    assert (w.length >= 1).all()
    assert (w.length <= size).all()
    assert (w.start >= start[w.capture]).all()
    assert (w.start + w.length <= start[w.capture] + length[w.capture]).all()
    covered = np.zeros(length.sum(), bool)
    for s, n in zip(w.start, w.length, strict=True):  # test-side check only
        covered[s : s + n] = True
    left = frames_left_out(w, length, stride)
    assert left.sum() == (~covered).sum()


def test_capture_runs():
    first, length = capture_runs(np.array([2, 2, 0, 0, 0, 1]))
    assert first.tolist() == [0, 2, 5]
    assert length.tolist() == [2, 3, 1]
    with pytest.raises(ValueError, match="contiguous"):
        capture_runs(np.array([0, 1, 0]))


@pytest.mark.parametrize(
    ("size", "stride", "policy"), [(0, 1, "drop"), (2, 0, "drop"), (2, 2, "pad")]
)
def test_bad_geometry_is_rejected(size, stride, policy):
    with pytest.raises(ValueError, match="must be"):
        count_windows(np.array([5]), size, stride, policy)
