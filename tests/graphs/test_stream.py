"""The streaming graph builder equals the batch one: history block by block, graphs and window
tables on random captures and on the shipped sample, with and without a matched profile; bounded
memory; causality; no torch."""

from __future__ import annotations

import itertools
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kd_gat.graphs.builder import (
    FEATURE_GROUPS,
    FrameArrays,
    GraphArrays,
    build_store,
    concat_graphs,
    plan_windows,
    select_features,
)
from kd_gat.graphs.history import (
    OVERFLOW_KEY,
    FrameHistory,
    HistoryState,
    continue_history,
    frame_history,
)
from kd_gat.graphs.normalise import plan_graphs
from kd_gat.graphs.stream import FrameBlock, GraphStream, StreamOutput
from kd_gat.graphs.windows import capture_runs
from kd_gat.ingestion.read import read_capture
from kd_gat.localisation import window_nodes
from kd_gat.params.graphs import GraphsParams
from kd_gat.pipelines.ingestion.nodes import ingest_captures
from kd_gat.profiles import build_profile, match_captures
from tests.conftest import PROJECT
from tests.graphs.factory import capture, frames, random_frames
from tests.ingestion.helpers import load_params

RAW = PROJECT / "data" / "01_raw"
DOS = "test_01_known_vehicle_known_attack/DoS-3"
SYSTEMATIC = "test_04_unknown_vehicle_unknown_attack/systematic-4"  # car B, 421 IDs
TABLE_COLUMNS = ("start_row", "end_row", "start_time", "end_time", "n_frames", "n_attack_frames")
BLOCK_SIZES = (1, 7, 500, 4096)


def blocks(n: int, rng: np.random.Generator, sizes=BLOCK_SIZES) -> list[slice]:
    """Consecutive slices covering `n` frames, each of a size drawn from `sizes`."""
    out, at = [], 0
    while at < n:
        size = int(rng.choice(sizes))
        out.append(slice(at, at + size))
        at += size
    return out


def run_stream(stream: GraphStream, block: FrameBlock, cuts: list[slice]) -> StreamOutput:
    """Feed `block` in the `cuts` slices, finish, and concatenate what came out."""
    outs = [stream.feed(block[cut]) for cut in cuts]
    outs.append(stream.finish())
    return StreamOutput(
        concat_graphs([o.graphs for o in outs], len(stream.node_features)),
        pd.concat([o.windows for o in outs], ignore_index=True),
        np.concatenate([o.node_can_id for o in outs]),
    )


def assert_same_windows(out: StreamOutput, store) -> None:
    """Stream output equal, bit for bit, to a batch store (graphs and window table)."""
    assert len(out.windows) == len(store)
    for name in GraphArrays._fields:
        np.testing.assert_array_equal(
            getattr(out.graphs, name), getattr(store, name), err_msg=name, strict=True
        )
    for column in TABLE_COLUMNS:
        np.testing.assert_array_equal(
            out.windows[column].to_numpy(), store.windows[column].to_numpy(), err_msg=column
        )


# -- history ---------------------------------------------------------------------------------


def history_in_blocks(
    table: pd.DataFrame, max_tracked_ids: int | None, rng: np.random.Generator
) -> tuple[FrameHistory, int]:
    """Each capture's history computed block by block (random cuts), concatenated, with indices
    made absolute again; and the most state rows seen."""
    arrays = FrameArrays.from_frames(table)
    parts: dict[str, list[np.ndarray]] = {f.name: [] for f in fields(FrameHistory)}
    most = 0
    for first, n in zip(*capture_runs(arrays.capture), strict=True):
        state = HistoryState.start(max_tracked_ids, start_index=int(first))
        cuts = np.sort(rng.integers(0, n + 1, size=rng.integers(0, 6)))
        for a, b in zip(np.r_[0, cuts] + first, np.r_[cuts, n] + first, strict=True):
            base = state.next_index
            assert base == a
            history, state = continue_history(
                state, arrays.timestamp[a:b], arrays.can_id[a:b], arrays.payload[a:b]
            )
            most = max(most, len(state))
            for name, values in parts.items():
                shifted = name in ("first", "capture_start")  # relative to the block
                values.append(getattr(history, name) + base if shifted else getattr(history, name))
    return FrameHistory(**{k: np.concatenate(v) for k, v in parts.items()}), most


@settings(max_examples=120, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    lengths=st.lists(st.integers(1, 80), min_size=1, max_size=3),
    n_ids=st.integers(1, 8),
    one_off=st.sampled_from([0.0, 0.3, 0.8]),
    coarse_time=st.booleans(),
    max_tracked_ids=st.one_of(st.none(), st.integers(0, 6)),
)
def test_history_in_blocks_equals_one_call(
    seed, lengths, n_ids, one_off, coarse_time, max_tracked_ids
):
    rng = np.random.default_rng(seed)
    table = random_frames(rng, lengths, n_ids=n_ids)
    fresh = rng.random(len(table)) < one_off  # one-off IDs, as a fuzzer sends them
    one_offs = (1 << 20) + rng.permutation(1 << 12)[: len(table)]
    table["can_id"] = np.where(fresh, one_offs, table["can_id"]).astype(np.int32)
    if coarse_time:  # equal timestamps: zero gaps
        table["timestamp"] = np.round(table["timestamp"], 2)
    whole = FrameArrays.from_frames(table).history(max_tracked_ids)
    blockwise, most = history_in_blocks(table, max_tracked_ids, rng)
    # Bit for bit: the carried sums are exact (dyadic), timestamps enter the same subtractions.
    for f in fields(FrameHistory):
        np.testing.assert_array_equal(
            getattr(blockwise, f.name), getattr(whole, f.name), err_msg=f.name, strict=True
        )
    if max_tracked_ids is not None:
        assert most <= max_tracked_ids + 1


def test_history_state_is_bounded_by_tracked_ids():
    rng = np.random.default_rng(0)
    n = 3000
    ids = np.where(rng.random(n) < 0.5, rng.integers(0, 8, n), rng.integers(0x400, 0x7FF, n))
    timestamp, payload = np.arange(n) * 1e-3, rng.integers(0, 2**63, n).astype(np.uint64)
    state = HistoryState.start(16)
    parts = []
    for a in range(0, n, 250):
        history, state = continue_history(
            state, timestamp[a : a + 250], ids[a : a + 250], payload[a : a + 250]
        )
        parts.append(history.tracked)
        assert len(state) <= 17
    assert len(np.unique(ids)) > 500
    assert state.n_tracked == 16
    assert state.key[-1] == OVERFLOW_KEY
    assert state.count.sum() == n  # every frame in one row: its ID's or the overflow's
    whole = frame_history(np.zeros(n), timestamp, ids, payload, 16)
    np.testing.assert_array_equal(np.concatenate(parts), whole.tracked)


def test_the_builder_reads_the_capture_start_as_a_timestamp():
    # capture_t0 replaces timestamp[capture_start]: the same values in the batch history.
    table = random_frames(np.random.default_rng(3), [30, 20])
    arrays = FrameArrays.from_frames(table)
    history = arrays.history()
    np.testing.assert_array_equal(history.capture_t0, arrays.timestamp[history.capture_start])


# -- graphs on random captures ---------------------------------------------------------------


def random_vehicle_profiles(rng: np.random.Generator, table: pd.DataFrame) -> dict:
    """Profiles over the table's IDs plus unseen ones, some periods unknown; often one with
    exactly the table's IDs (a capture then usually matches it)."""
    seen = np.unique(table["can_id"].to_numpy()).astype(np.int64)
    pool = np.concatenate([seen, seen.max() + 1 + np.arange(3)])
    profiles = {}
    for k in range(rng.integers(0, 4)):
        ids = np.sort(rng.choice(pool, size=rng.integers(1, len(pool) + 1), replace=False))
        ids = seen if rng.random() < 0.5 else ids
        periods = np.where(rng.random(len(ids)) < 0.2, np.nan, rng.exponential(0.02, len(ids)))
        profiles[f"car_{k}"] = {
            "can_ids": ids.tolist(),
            "periods": {str(i): float(p) for i, p in zip(ids, periods, strict=True)},
            "frames": int(rng.integers(1, 10_000)),
            "minutes": float(rng.uniform(0.0, 2.0)),
        }
    return profiles


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    lengths=st.lists(st.integers(1, 70), min_size=1, max_size=3),
    size=st.integers(2, 12),
    stride=st.integers(1, 14),
    tail_policy=st.sampled_from(["drop", "keep"]),
    max_tracked_ids=st.one_of(st.none(), st.integers(1, 6)),
    known_after=st.integers(1, 4),
    match_seconds=st.floats(0.001, 0.5),
    min_count=st.integers(1, 3),
    min_jaccard=st.floats(0.05, 0.9),
    groups=st.sets(st.sampled_from(list(FEATURE_GROUPS)), min_size=1),
)
def test_stream_equals_batch_on_random_captures(
    seed,
    lengths,
    size,
    stride,
    tail_policy,
    max_tracked_ids,
    known_after,
    match_seconds,
    min_count,
    min_jaccard,
    groups,
):
    rng = np.random.default_rng(seed)
    table = random_frames(rng, lengths, n_ids=int(rng.integers(1, 8)))
    vocabulary = np.unique(rng.choice(table["can_id"].to_numpy(), size=5)).astype(np.int64)
    profiles = random_vehicle_profiles(rng, table)
    matches = match_captures(table, profiles, match_seconds, min_count, min_jaccard)
    features = select_features(sorted(groups))
    store, _ = build_store(
        table,
        vocabulary,
        size,
        stride,
        tail_policy,
        1,
        node_features=features,
        max_tracked_ids=max_tracked_ids,
        matches=matches,
        profiles=profiles,
        known_after=known_after,
    )
    outs = []
    for name in pd.unique(table["capture"].astype(str)):
        block = FrameBlock.from_frames(table[table["capture"] == name])
        stream = GraphStream(
            vocabulary,
            size,
            stride,
            tail_policy,
            features,
            max_tracked_ids,
            known_after,
            profiles=profiles,
            match_seconds=match_seconds,
            min_count=min_count,
            min_jaccard=min_jaccard,
        )
        outs.append(run_stream(stream, block, blocks(len(block), rng, (1, 2, 5, 30))))
        expected = matches.set_index("capture").loc[name, "profile"]
        assert stream.profile == (None if pd.isna(expected) else expected)
    out = StreamOutput(
        concat_graphs([o.graphs for o in outs], len(features)),
        pd.concat([o.windows for o in outs], ignore_index=True),
    )
    assert_same_windows(out, store)


# -- graphs on the shipped sample ------------------------------------------------------------


@pytest.fixture(scope="module")
def sample() -> dict:
    """Two shipped test captures, and profiles of car A (train_01 accessory-1) and car B
    (vehicle_profiles/B): DoS-3 is car A's, systematic-4 car B's."""
    files = {
        "train_01_attack_free/accessory-1": "can-train-and-test/set_01/train_01_attack_free/"
        "accessory-1.csv.gz",
        "train_01_attack_free/B-accessory-2": "vehicle_profiles/B/accessory-2.csv.gz",
        DOS: f"can-train-and-test/set_01/{DOS}.csv.gz",
        SYSTEMATIC: f"can-train-and-test/set_01/{SYSTEMATIC}.csv.gz",
    }
    raw = [read_capture(RAW / path, f"{name}.csv.gz") for name, path in files.items()]
    table, _, _ = ingest_captures(raw, load_params())
    names = table["capture"].astype(str)
    profiles = {
        car: build_profile(car, table[names == f"train_01_attack_free/{rec}"], 3, 0.1)
        for car, rec in (("A", "accessory-1"), ("B", "B-accessory-2"))
    }
    captures = {
        name: table[names == name].reset_index(drop=True).astype({"capture": str})
        for name in (DOS, SYSTEMATIC)
    }
    return {
        "captures": captures,
        "profiles": profiles,
        "vocabulary": np.unique(
            table.loc[names == "train_01_attack_free/accessory-1", "can_id"]
        ).astype(np.int64),
    }


def conf_graphs(**changes) -> dict:
    with open(PROJECT / "conf" / "base" / "parameters_graphs.yml") as f:
        return yaml.safe_load(f)["graphs"] | changes


@pytest.mark.parametrize("name", [DOS, SYSTEMATIC])
@pytest.mark.parametrize(
    ("with_profiles", "changes"),
    [
        (True, {}),  # the shipped parameters
        (False, {}),
        (True, {"stride": 70, "tail_policy": "keep", "max_tracked_ids": 16}),  # overlapping
        (True, {"window_size": 64, "stride": 150, "tail_policy": "keep"}),  # gaps between
    ],
)
def test_stream_equals_batch_on_the_sample(sample, name, with_profiles, changes):
    table, profiles = sample["captures"][name], sample["profiles"]
    params = conf_graphs(**changes)
    vehicle_profiles = {"profiles": profiles} if with_profiles else None
    matches = match_captures(table, profiles, 3.0, 3, 0.9) if with_profiles else None
    store = plan_graphs(
        table, GraphsParams.model_validate(params), matches, vehicle_profiles
    ).store(sample["vocabulary"])
    stream = GraphStream.from_params(
        sample["vocabulary"],
        params,
        vehicle_profiles,
        {"match_seconds": 3.0, "min_count": 3, "min_jaccard": 0.9},
    )
    block = FrameBlock.from_frames(table)
    out = run_stream(stream, block, blocks(len(block), np.random.default_rng(len(name))))
    assert_same_windows(out, store)
    # each node's CAN ID: the window's distinct IDs in node order (in-vocabulary ones name it)
    nodes = window_nodes(table, {"test": store.windows})
    np.testing.assert_array_equal(out.node_can_id, nodes["can_id"].to_numpy())
    known = store.node_id < len(sample["vocabulary"])
    np.testing.assert_array_equal(
        out.node_can_id[known], sample["vocabulary"][store.node_id[known]]
    )
    uses = out.windows["uses_profile"].to_numpy()
    if with_profiles:  # each capture matches its own car, from its first 3 s on
        assert stream.profile == {DOS: "A", SYSTEMATIC: "B"}[name]
        assert stream.matched_from == table["timestamp"].iloc[0] + 3.0
        assert 0 < uses.sum() < len(uses)
        np.testing.assert_array_equal(uses, out.windows["end_time"] >= stream.matched_from)
    else:
        assert stream.profile is None
        assert not uses.any()


@pytest.mark.parametrize("name", [DOS, SYSTEMATIC])
def test_frame_by_frame_across_the_match(sample, name):
    """One frame per block over the first 1,500 frames, matched on the first 0.3 s."""
    table = sample["captures"][name].iloc[:1500]
    profiles = sample["profiles"]
    matches = match_captures(table, profiles, 0.3, 3, 0.6)
    assert matches["profile"].notna().all()
    store = plan_windows(
        table, 60, 45, "keep", 1, max_tracked_ids=40, matches=matches, profiles=profiles
    ).store(sample["vocabulary"])
    stream = GraphStream(
        sample["vocabulary"],
        60,
        45,
        "keep",
        max_tracked_ids=40,
        profiles=profiles,
        match_seconds=0.3,
        min_count=3,
        min_jaccard=0.6,
    )
    out = run_stream(stream, FrameBlock.from_frames(table), [slice(i, i + 1) for i in range(1500)])
    assert_same_windows(out, store)
    assert out.windows["uses_profile"].any()
    assert not out.windows["uses_profile"].all()


@pytest.mark.parametrize("cuts", [[32, 33], [31, 32], list(range(1, 80))])
def test_a_frame_at_the_match_time_is_not_in_the_match(cuts):
    """Frames every 1/64 s from t0 = 100 (exact in float64): IDs 1 and 2 until t0 + 0.5 s, where
    ID 3 joins them. The capture matches on the IDs of frames strictly before t0 + 0.5 ({1, 2},
    car "ab"), and windows ending at or after t0 + 0.5 read the profile: the third (frames
    22–32) ends on it, and comes out with the block holding frame 32 alone."""
    k = np.arange(80)
    ids = np.where(k < 32, 1 + k % 2, 1 + k % 3)
    table = frames(
        capture("test_01_known/c", "test", can_id=ids, timestamp=100 + k / 64, payload=[[1]] * 80)
    )
    profiles = {
        "ab": {"can_ids": [1, 2], "periods": {"1": 2 / 64, "2": 2 / 64}},
        "abc": {"can_ids": [1, 2, 3], "periods": {"1": 3 / 64, "2": 3 / 64, "3": 3 / 64}},
    }
    matches = match_captures(table, profiles, 0.5, 1, 0.9)
    assert matches["profile"].tolist() == ["ab"]
    vocabulary = np.array([1, 2, 3])
    store, _ = build_store(table, vocabulary, 11, 11, "keep", 1, matches=matches, profiles=profiles)
    stream = GraphStream(
        vocabulary, 11, 11, "keep", profiles=profiles, match_seconds=0.5, min_count=1
    )
    block = FrameBlock.from_frames(table)
    bounds = [0, *cuts, 80]
    out = run_stream(stream, block, [slice(a, b) for a, b in itertools.pairwise(bounds)])
    assert_same_windows(out, store)
    assert stream.profile == "ab"
    assert stream.matched_from == 100.5
    assert out.windows["uses_profile"].tolist() == [False] * 2 + [True] * 6


# -- memory, causality, contract -------------------------------------------------------------


def test_memory_is_bounded(sample):
    table = sample["captures"][SYSTEMATIC]
    assert table["can_id"].nunique() > 400  # hundreds of IDs seen a few times each
    block = FrameBlock.from_frames(table)
    t0 = block.timestamp[0]
    window_size, max_ids = 100, 16
    stream = GraphStream(
        sample["vocabulary"],
        window_size,
        100,
        max_tracked_ids=max_ids,
        profiles=sample["profiles"],
        match_seconds=3.0,
    )
    rng = np.random.default_rng(0)
    for cut in blocks(len(block), rng, (7, 500, 4096)):
        stream.feed(block[cut])
        assert stream.n_buffered < window_size
        assert len(stream.history_state) <= max_ids + 1
        early = int((block.timestamp[: stream.n_frames] < t0 + 3.0).sum())
        if stream.match_decided:
            assert stream.n_match_buffered == 0
        else:
            assert stream.n_match_buffered == early == stream.n_frames
    assert stream.match_decided
    assert stream.n_frames == len(block)
    assert stream.history_state.key[-1] == OVERFLOW_KEY


def test_a_window_never_changes_once_out(sample):
    """Windows out of a prefix are final: the same when more frames follow, and the arrays
    handed out are never written to again."""
    block = FrameBlock.from_frames(sample["captures"][DOS])

    def stream() -> GraphStream:
        return GraphStream(sample["vocabulary"], 100, 60, profiles=sample["profiles"])

    head = stream()
    early = [head.feed(block[a : a + 700]) for a in range(0, 9100, 700)]
    kept = [[np.copy(a) for a in out.graphs] for out in early]
    for a in range(9100, len(block), 700):
        head.feed(block[a : a + 700])
    for out, copy in zip(early, kept, strict=True):
        for got, was in zip(out.graphs, copy, strict=True):
            np.testing.assert_array_equal(got, was)
    full = stream().feed(block)
    prefix = concat_graphs([o.graphs for o in early])
    n = sum(len(o.windows) for o in early)
    assert n == (9100 - 100) // 60 + 1
    np.testing.assert_array_equal(prefix.node_ptr, full.graphs.node_ptr[: n + 1])
    np.testing.assert_array_equal(prefix.x, full.graphs.x[: prefix.node_ptr[-1]])
    np.testing.assert_array_equal(prefix.edge_attr, full.graphs.edge_attr[: prefix.edge_ptr[-1]])


def test_the_caller_may_reuse_its_block_arrays(sample):
    """A reader that refills one array for every block (fewer frames than a window)."""
    block = FrameBlock.from_frames(sample["captures"][DOS].iloc[:3000])
    whole = GraphStream(sample["vocabulary"], 100, 100).feed(block)
    stream = GraphStream(sample["vocabulary"], 100, 100)
    reused = FrameBlock(*(np.empty(30, getattr(block, f.name).dtype) for f in fields(block)))
    outs = []
    for a in range(0, 3000, 30):
        for f in fields(block):
            getattr(reused, f.name)[:] = getattr(block, f.name)[a : a + 30]
        outs.append(stream.feed(reused))
    graphs = concat_graphs([o.graphs for o in outs])
    for name in GraphArrays._fields:
        np.testing.assert_array_equal(getattr(graphs, name), getattr(whole.graphs, name))


def test_frames_out_of_time_order_are_refused():
    table = frames(capture("test_01_known/c", "test", can_id=[1, 2, 3, 1], timestamp=[0, 1, 2, 3]))
    block = FrameBlock.from_frames(table)
    stream = GraphStream(np.array([1, 2]), 2, 2)
    stream.feed(block[:3])
    with pytest.raises(ValueError, match="time order"):
        stream.feed(FrameBlock(block.timestamp[:1], block.can_id[:1], block.dlc[:1],
                               block.payload[:1]))  # fmt: skip
    stream.finish()
    with pytest.raises(RuntimeError, match="finished"):
        stream.feed(block[3:])


def test_the_stream_imports_no_torch():
    code = "import kd_gat.graphs.stream, sys; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent)
