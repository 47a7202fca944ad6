"""Feature standardisation with statistics fitted on training graphs only.

The statistics are a JSON-able dict, saved beside the stores so inference can apply the same
transform. A feature that is constant in training (e.g. the OOV flag) keeps std 1, so it is
only shifted.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from kd_gat.graphs.builder import WindowPlan, plan_windows, select_features
from kd_gat.graphs.store import GraphStore
from kd_gat.graphs.vocabulary import vocabulary_from_dict
from kd_gat.params.graphs import GraphsParams

_MIN_STD = 1e-12


def _moments(values: np.ndarray, names: tuple[str, ...]) -> dict[str, Any]:
    if len(values):
        mean = values.mean(axis=0, dtype=np.float64)
        std = values.std(axis=0, dtype=np.float64)
    else:
        mean = np.zeros(len(names))
        std = np.ones(len(names))
    std = np.where(std > _MIN_STD, std, 1.0)
    return {"names": list(names), "mean": mean.tolist(), "std": std.tolist()}


def fit_feature_stats(train: GraphStore) -> dict[str, Any]:
    """Per-feature mean and std of the node and edge features of the training graphs."""
    return {
        "node": _moments(train.x, train.node_features),
        "edge": _moments(train.edge_attr, train.edge_features),
    }


def _standardise(values: np.ndarray, names: tuple[str, ...], stats: dict[str, Any]) -> np.ndarray:
    if tuple(stats["names"]) != tuple(names):
        raise ValueError(f"feature names {names} do not match the statistics {stats['names']}")
    mean = np.asarray(stats["mean"], dtype=np.float32)
    std = np.asarray(stats["std"], dtype=np.float32)
    out = values - mean
    out /= std
    return out


def apply_feature_stats(store: GraphStore, stats: dict[str, Any]) -> GraphStore:
    """The store with standardised node and edge features, carrying the statistics'
    fingerprint (what the models trained on it will carry too)."""
    normalised = store.with_features(
        _standardise(store.x, store.node_features, stats["node"]),
        _standardise(store.edge_attr, store.edge_features, stats["edge"]),
    )
    return replace(normalised, fingerprint=stats.get("fingerprint", ""))


def plan_graphs(
    frames: pd.DataFrame,
    params: GraphsParams,
    matches: pd.DataFrame | None = None,
    profiles: dict[str, Any] | None = None,
) -> WindowPlan:
    """The windows of `frames` as the graph parameters cut them (geometry, label rule, tail
    policy, feature groups, per-ID state bound), each capture reading its matched profile
    (`matches` against `vehicle_profiles`; none when not given): one mapping for training and
    scoring."""
    return plan_windows(
        frames,
        params.window_size,
        params.stride,
        params.tail_policy,
        params.min_attack_frames,
        node_features=select_features(params.feature_groups),
        max_tracked_ids=params.max_tracked_ids,
        matches=matches,
        profiles=None if profiles is None else profiles["profiles"],
        known_after=params.known_after,
    )


def scoring_store(
    frames: pd.DataFrame,
    vocabulary: dict[str, Any],
    feature_stats: dict[str, Any],
    params: dict[str, Any],
    matches: pd.DataFrame | None = None,
    profiles: dict[str, Any] | None = None,
) -> GraphStore:
    """Every window of new captures (to score, not to train on), built like the training
    windows: the training vocabulary, the graph parameters, the captures' matched profiles and
    the training normalisation."""
    plan = plan_graphs(frames, GraphsParams.model_validate(params), matches, profiles)
    return apply_feature_stats(plan.store(vocabulary_from_dict(vocabulary)), feature_stats)
