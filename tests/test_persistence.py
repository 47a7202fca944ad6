"""Alarm persistence (`kd_gat.persistence`) against a naive per-window reference, on hand-made
runs and random ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kd_gat.persistence import follows, persist


def naive(scores: np.ndarray, follows_: np.ndarray, k: int) -> np.ndarray:
    out = []
    for i in range(len(scores)):
        low, j = scores[i], i
        for _ in range(k - 1):
            if j == 0 or not follows_[j]:
                break
            j -= 1
            low = min(low, scores[j])
        out.append(low)
    return np.array(out)


def test_a_lone_spike_is_not_persisted_an_attack_run_is() -> None:
    scores = np.array([0.1, 0.9, 0.1, 0.8, 0.9, 0.95, 0.1])
    run = np.array([False, True, True, True, True, True, True])
    persisted = persist(scores, run, 2)
    np.testing.assert_allclose(persisted, [0.1, 0.1, 0.1, 0.1, 0.8, 0.9, 0.1])
    assert (persisted >= 0.5).tolist() == [False, False, False, False, True, True, False]
    np.testing.assert_array_equal(persist(scores, run, 1), scores)


def test_a_break_starts_a_new_run() -> None:
    scores = np.array([0.1, 0.9, 0.9, 0.9])
    run = np.array([False, True, False, True])  # window 2 starts a new capture
    np.testing.assert_allclose(persist(scores, run, 2), [0.1, 0.1, 0.9, 0.9])
    np.testing.assert_allclose(persist(scores, run, 3), [0.1, 0.1, 0.9, 0.9])


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_matches_the_naive_reference(k: int) -> None:
    rng = np.random.default_rng(k)
    for _ in range(50):
        n = int(rng.integers(1, 40))
        scores = rng.random(n)
        run = rng.random(n) < 0.8
        np.testing.assert_allclose(persist(scores, run, k), naive(scores, run, k))


def test_follows_needs_the_same_capture_and_no_gap() -> None:
    windows = pd.DataFrame(
        {
            "capture": ["a", "a", "a", "a", "b", "b"],
            "start_row": [0, 100, 250, 300, 0, 50],  # a: 200–249 missing; then overlapping
            "end_row": [99, 199, 349, 399, 99, 149],
        }
    )
    assert follows(windows).tolist() == [False, True, False, True, False, True]


def test_k_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        persist(np.zeros(3), np.ones(3, bool), 0)


def test_a_stream_in_blocks_persists_like_one_table() -> None:
    """`bundle.Persistence` over blocks of windows (one of them empty, as a block of frames too
    short for a window gives) equals `follows` and `persist` over the whole table."""
    from kd_gat.bundle import Persistence

    rng = np.random.default_rng(7)
    n = 60
    start = np.cumsum(rng.integers(1, 60, n))
    start[30:] -= start[30]  # a second capture from row 0
    windows = pd.DataFrame(
        {"capture": ["a"] * 30 + ["b"] * 30, "start_row": start, "end_row": start + 49}
    )
    scores = rng.random(n)
    whole = persist(scores, follows(windows), 3)
    stream = Persistence()
    parts = []
    for low, high in [(0, 7), (7, 7), (7, 30), (30, 31), (31, 60)]:
        block = windows.iloc[low:high]
        assert len(follows(block, stream.last)) == len(block)
        parts.append(stream.persist("m", scores[low:high], stream.follows(block), 3))
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    assert not follows(windows).all()  # the table has breaks for the stream to carry
