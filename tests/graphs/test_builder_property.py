"""Property: the vectorised builder equals the per-window reference on random frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from kd_gat.graphs.builder import (
    EDGE_FEATURES,
    NODE_FEATURES,
    FrameArrays,
    GraphArrays,
    build_graphs,
    build_store,
    capture_table,
)
from kd_gat.graphs.vocabulary import fit_vocabulary, lookup
from kd_gat.graphs.windows import make_windows
from tests.graphs.factory import random_frames
from tests.graphs.reference import RefProfile, reference_graphs


def random_profiles(
    rng: np.random.Generator, frames
) -> tuple[pd.DataFrame, dict, dict[str, RefProfile]]:
    """A random match per capture (some unmatched; `matched_from` anywhere in the capture or
    after it) to random profiles over the frames' IDs plus unseen ones, some periods unknown;
    as pipeline `matches` and `profiles` and as the reference's `RefProfile`s."""
    pool = np.unique(frames["can_id"].to_numpy()).astype(np.int64)
    pool = np.concatenate([pool, pool.max() + 1 + np.arange(3)])
    rows, profiles, reference = [], {}, {}
    for name, times in frames.groupby("capture", observed=True)["timestamp"]:
        if rng.random() < 0.25:
            rows.append({"capture": name, "profile": None, "matched_from": np.nan})
            continue
        ids = np.sort(rng.choice(pool, size=rng.integers(0, len(pool) + 1), replace=False))
        periods = np.where(rng.random(len(ids)) < 0.2, np.nan, rng.exponential(0.02, len(ids)))
        since = float(rng.uniform(times.min() - 0.01, times.max() + 0.01))
        vehicle = f"car_{name}"
        frames_, minutes = int(rng.integers(1, 10_000)), float(rng.uniform(0.0, 2.0))
        profiles[vehicle] = {
            "can_ids": ids.tolist(),
            "periods": {str(i): float(p) for i, p in zip(ids, periods, strict=True)},
            "frames": frames_,
            "minutes": minutes,
        }
        rows.append({"capture": name, "profile": vehicle, "matched_from": since})
        rate = frames_ / (60 * minutes) if minutes > 0 else np.nan
        periods_by_id = dict(zip(ids.tolist(), periods.tolist(), strict=True))
        reference[name] = RefProfile(periods_by_id, since, rate)
    return pd.DataFrame(rows), profiles, reference


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    lengths=st.lists(st.integers(1, 40), min_size=1, max_size=4),
    n_ids=st.integers(1, 8),
    size=st.integers(2, 12),
    stride=st.integers(1, 14),
    tail_policy=st.sampled_from(["drop", "keep"]),
    min_attack_frames=st.integers(1, 3),
    max_tracked_ids=st.one_of(st.none(), st.integers(1, 6)),
    known_after=st.integers(1, 4),
)
def test_builder_matches_reference(
    seed, lengths, n_ids, size, stride, tail_policy, min_attack_frames, max_tracked_ids, known_after
):
    rng = np.random.default_rng(seed)
    frames = random_frames(rng, lengths, n_ids=n_ids)
    ids = frames["can_id"].to_numpy()
    vocabulary = fit_vocabulary(rng.choice(ids, size=rng.integers(0, len(ids) + 1)))
    matches, profiles, reference = random_profiles(rng, frames)
    store, _ = build_store(
        frames,
        vocabulary,
        size,
        stride,
        tail_policy,
        min_attack_frames,
        max_tracked_ids=max_tracked_ids,
        matches=matches,
        profiles=profiles,
        known_after=known_after,
    )
    expected = reference_graphs(
        frames,
        vocabulary.tolist(),
        size,
        stride,
        tail_policy,
        max_tracked_ids,
        reference,
        known_after,
    )

    assert len(store) == len(expected)
    assert store.node_features == NODE_FEATURES
    assert store.edge_features == EDGE_FEATURES
    for i, ref in enumerate(expected):
        meta = store.windows.iloc[i]
        assert (meta["capture"], meta["start_row"], meta["n_frames"]) == (
            ref.capture,
            ref.start_row,
            ref.n_frames,
        )
        assert meta["n_attack_frames"] == ref.n_attack
        assert meta["label"] == int(ref.n_attack >= min_attack_frames)
        data = store[i]
        np.testing.assert_array_equal(data.node_id.numpy(), lookup(vocabulary, ref.can_ids))
        np.testing.assert_allclose(data.x.numpy(), ref.x, rtol=1e-5, atol=1e-6)
        assert [tuple(e) for e in data.edge_index.T.tolist()] == ref.edges
        np.testing.assert_allclose(data.edge_attr.numpy(), ref.edge_attr, rtol=1e-5, atol=1e-6)


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    lengths=st.lists(st.integers(1, 60), min_size=1, max_size=4),
    size=st.integers(2, 12),
    stride=st.integers(1, 14),
    chunk_frames=st.integers(1, 100),
)
def test_chunking_does_not_change_the_graphs(seed, lengths, size, stride, chunk_frames):
    frames = random_frames(np.random.default_rng(seed), lengths)
    captures = capture_table(frames)
    arrays = FrameArrays.from_frames(frames)
    windows = make_windows(
        captures["first_frame"].to_numpy(), captures["n_frames"].to_numpy(), size, stride, "keep"
    )
    vocabulary = np.unique(frames["can_id"].to_numpy()[::2]).astype(np.int64)
    whole = build_graphs(arrays, windows, vocabulary, chunk_frames=10**9)
    chunked = build_graphs(arrays, windows, vocabulary, chunk_frames=chunk_frames)
    for a, b, name in zip(whole, chunked, GraphArrays._fields, strict=True):
        np.testing.assert_array_equal(a, b, err_msg=name)
