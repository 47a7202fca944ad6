"""Normalisation statistics come from training graphs only and are JSON-able."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kd_gat.graphs.builder import build_store
from kd_gat.graphs.normalise import apply_feature_stats, fit_feature_stats
from tests.graphs.factory import random_frames


@pytest.fixture
def stores():
    frames = random_frames(np.random.default_rng(2), [80, 80], n_ids=4)
    store, _ = build_store(frames, np.unique(frames["can_id"]).astype(np.int64), 8, 8, "drop", 1)
    return store.select(range(10)), store.select(range(10, len(store)))


def test_fit_on_train_apply_to_all(stores):
    train, other = stores
    stats = json.loads(json.dumps(fit_feature_stats(train)))
    assert stats["node"]["names"] == list(train.node_features)
    assert stats["edge"]["names"] == list(train.edge_features)
    normed = apply_feature_stats(train, stats)
    np.testing.assert_allclose(normed.x.mean(axis=0), 0, atol=1e-5)
    std = normed.x.std(axis=0)
    constant = train.x.std(axis=0) < 1e-9  # e.g. the OOV flag
    np.testing.assert_allclose(std[~constant], 1, rtol=1e-4)
    np.testing.assert_allclose(std[constant], 0, atol=1e-6)
    np.testing.assert_allclose(
        apply_feature_stats(train, stats).edge_attr.mean(axis=0), 0, atol=1e-5
    )
    other_normed = apply_feature_stats(other, stats)
    expected = (other.x - np.float32(stats["node"]["mean"])) / np.float32(stats["node"]["std"])
    np.testing.assert_allclose(other_normed.x, expected, rtol=1e-6)
    assert other_normed.x.dtype == np.float32


def test_mismatched_feature_names_are_rejected(stores):
    train, _ = stores
    stats = fit_feature_stats(train)
    stats["node"]["names"] = stats["node"]["names"][::-1]
    with pytest.raises(ValueError, match="do not match"):
        apply_feature_stats(train, stats)
