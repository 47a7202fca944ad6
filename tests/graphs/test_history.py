"""Vehicle-agnostic features on hand-worked captures: an injected frame, a suppressed frame, a
new ID; causality; the bound on per-ID state; feature groups."""

from __future__ import annotations

import math
import typing

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kd_gat.graphs.builder import (
    FEATURE_GROUPS,
    NODE_FEATURES,
    FrameArrays,
    build_store,
    select_features,
)
from kd_gat.params.graphs import FeatureGroup, GraphsParams
from tests.graphs.factory import capture, frames, random_frames

PERIOD = 0.010


def periodic(extra: list[tuple[float, int]] = (), drop: tuple[float, ...] = ()) -> pd.DataFrame:
    """IDs 0x100 and 0x200 every 10 ms (0x200 5 ms later) for 0.4 s, constant payloads, plus
    `extra` (time, ID) frames, minus the 0x100 frames at the times in `drop`."""
    times = [(round(k * PERIOD, 6), 0x100) for k in range(40)]
    times += [(round(k * PERIOD + 0.005, 6), 0x200) for k in range(40)]
    times = [f for f in times if not (f[1] == 0x100 and f[0] in drop)] + list(extra)
    times.sort()
    return frames(
        capture(
            "test_01_known/c",
            "test",
            can_id=[c for _, c in times],
            timestamp=[100.0 + t for t, _ in times],
            payload=[[1, 2]] * len(times),
        )
    )


def node_table(table: pd.DataFrame, size: int = 20, **kwargs) -> pd.DataFrame:
    """One row per (window, CAN ID) with every node feature."""
    store, _ = build_store(table, np.array([0x100, 0x200, 0x300]), size, size, "drop", 1, **kwargs)
    ids = np.array([0x100, 0x200, 0x300, -1])
    window = np.repeat(np.arange(len(store)), np.diff(store.node_ptr))
    out = pd.DataFrame(store.x, columns=list(store.node_features))
    return out.assign(window=window, can_id=ids[store.node_id]).set_index(["window", "can_id"])


def test_regular_traffic_is_neutral():
    nodes = node_table(periodic())
    later = nodes.loc[nodes.index.get_level_values("window") >= 1]
    for name in ("iat_ratio_mean", "iat_ratio_min", "iat_ratio_max", "change_excess"):
        np.testing.assert_allclose(later[name], 0.0, atol=1e-6, err_msg=name)
    # 10 frames of each ID in a window spanning 0.1 s = 10 periods: as many as expected.
    np.testing.assert_allclose(later["count_ratio"], 0.0, atol=1e-6)
    assert (later["new_id"] == 0).all()
    assert (nodes.loc[0, "new_id"] == 1).all()  # the first window: nothing seen before


def test_an_injected_frame_shortens_its_gaps():
    # One extra 0x100 frame 3 ms after the regular one at 0.25 s (window 2 holds 0.20–0.30 s).
    nodes = node_table(periodic(extra=[(0.253, 0x100)]))
    hit = nodes.loc[(2, 0x100)]
    # The injected frame comes 3 ms after its predecessor, the next regular one 7 ms after it.
    assert hit["iat_ratio_min"] == pytest.approx(math.log2(0.3), abs=1e-6)
    # Later gaps are measured against a running period the short gap has pulled down a little.
    assert 0 < hit["iat_ratio_max"] < 0.1
    assert hit["count_ratio"] > 0.05  # 11 frames where 10 are expected
    untouched = nodes.loc[(1, 0x100)]
    assert untouched["iat_ratio_min"] == pytest.approx(0.0, abs=1e-6)


def test_a_suppressed_frame_doubles_a_gap():
    nodes = node_table(periodic(drop=(0.25,)))
    windows = nodes.xs(0x100, level="can_id")
    # The frame after the missing one comes 20 ms after its predecessor: log2(2) = 1.
    gap_window = windows.index[windows["iat_ratio_max"] > 0.5]
    assert list(gap_window) == [2]
    assert windows.loc[2, "iat_ratio_max"] == pytest.approx(1.0, abs=1e-6)
    assert windows.loc[2, "count_ratio"] < -0.05  # 9 frames where 10 are expected


def test_an_id_absent_from_the_start_is_new_once():
    extra = [(0.32 + 0.01 * k, 0x300) for k in range(8)]  # from window 3 on (0.30–0.40 s)
    nodes = node_table(periodic(extra=extra), size=22)
    new = nodes["new_id"].xs(0x300, level="can_id")
    assert new.iloc[0] == 1
    assert (new.iloc[1:] == 0).all()
    window = new.index[0]
    # New-ID share is the window's (1 new node of 3), on every node of that window.
    np.testing.assert_allclose(nodes.loc[window, "new_id_share"], 1 / 3, rtol=1e-6)


def test_bus_load_over_its_running_level():
    # Double the frame rate from 0.30 s on: 0x300 every 5 ms, like 0x100 and 0x200 together.
    extra = [(round(0.301 + 0.005 * k, 6), 0x300) for k in range(20)]
    nodes = node_table(periodic(extra=extra))
    load = nodes["bus_load_ratio"].groupby(level="window").first()
    assert load.iloc[0] == 0.0  # nothing before the first window
    np.testing.assert_allclose(load.iloc[1:3], 0.0, atol=0.02)
    assert load.iloc[-1] > 0.4  # about twice the frames per second of the past


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    length=st.integers(10, 120),
    size=st.integers(2, 10),
    cut=st.floats(0.1, 0.9),
    max_tracked_ids=st.one_of(st.none(), st.integers(1, 5)),
)
def test_appending_frames_changes_no_earlier_window(seed, length, size, cut, max_tracked_ids):
    table = random_frames(np.random.default_rng(seed), [length], n_ids=7)
    head = table.iloc[: max(int(length * cut), size)].reset_index(drop=True)
    vocabulary = np.unique(table["can_id"])[::2].astype(np.int64)

    def build(t: pd.DataFrame):
        return build_store(t, vocabulary, size, size, "drop", 1, max_tracked_ids=max_tracked_ids)[0]

    short, full = build(head), build(table)
    n = len(short)
    assert n >= 1
    np.testing.assert_array_equal(short.x, full.x[: short.node_ptr[-1]])
    np.testing.assert_array_equal(short.node_ptr, full.node_ptr[: n + 1])


def test_per_id_state_is_bounded():
    rng = np.random.default_rng(0)
    n = 3000
    ids = np.where(rng.random(n) < 0.5, rng.integers(0, 8, n), rng.integers(0x400, 0x7FF, n))
    table = frames(
        capture(
            "test_01_known/fuzz",
            "test",
            can_id=ids,
            timestamp=np.arange(n) * 1e-3,
            payload=[[int(b)] for b in rng.integers(0, 256, n)],
        )
    )
    assert table["can_id"].nunique() > 500
    history = FrameArrays.from_frames(table).history(max_tracked_ids=16)
    assert table["can_id"][history.tracked].nunique() == 16
    # Untracked IDs always count as new.
    store, _ = build_store(table, np.arange(8), 100, 100, "drop", 1, max_tracked_ids=16)
    x = pd.DataFrame(store.x, columns=list(store.node_features))
    untracked = set(table["can_id"][~history.tracked])
    node_ids = np.concatenate(
        [
            np.unique(table["can_id"].to_numpy()[s : s + 100])
            for s in store.windows["start_row"].to_numpy() - 1
        ]
    )
    assert (x["new_id"][np.isin(node_ids, list(untracked))] == 1).all()


def test_feature_groups_select_columns_of_the_full_store():
    table = periodic(extra=[(0.253, 0x100)])
    vocabulary = np.array([0x100, 0x200])
    full, _ = build_store(table, vocabulary, 20, 20, "drop", 1)
    names = select_features(["history", "context"])
    assert names == FEATURE_GROUPS["history"] + FEATURE_GROUPS["context"]
    part, _ = build_store(table, vocabulary, 20, 20, "drop", 1, node_features=names)
    assert part.node_features == names
    columns = [NODE_FEATURES.index(n) for n in names]
    np.testing.assert_array_equal(part.x, full.x[:, columns])
    with pytest.raises(ValueError, match="unknown feature groups"):
        select_features(["history", "colour"])


def test_every_node_feature_is_in_exactly_one_group():
    grouped = [name for names in FEATURE_GROUPS.values() for name in names]
    assert sorted(grouped) == sorted(NODE_FEATURES)
    assert select_features(list(FEATURE_GROUPS)) == NODE_FEATURES
    # the default: the vehicle-agnostic groups only (none that names the training car's IDs)
    assert GraphsParams().feature_groups == ("rates", "novelty", "profile")
    assert set(typing.get_args(FeatureGroup)) == set(FEATURE_GROUPS)


@given(seed=st.integers(0, 10_000), shift=st.sampled_from([0, 1 << 16, 1 << 28]))
@settings(max_examples=25, deadline=None)
def test_history_does_not_depend_on_how_large_the_ids_are(seed, shift):
    """IDs only group frames: shifting every ID (past 16 and 28 bits) changes the history in no
    bit."""
    from kd_gat.graphs.history import frame_history

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    capture = np.sort(rng.integers(0, 3, n))
    timestamp = np.cumsum(rng.random(n)) + 10 * capture
    can_id = rng.integers(0, 40, n)
    payload = rng.integers(0, 4, n).astype(np.uint64)
    small = frame_history(capture, timestamp, can_id, payload, max_tracked_ids=30)
    large = frame_history(capture, timestamp, can_id + shift, payload, max_tracked_ids=30)
    for name in small.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(small, name), getattr(large, name), err_msg=name)
