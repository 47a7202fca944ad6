"""Graphs nodes: pure functions from the `frames` table to normalised graph stores and a report.

The work itself lives in `kd_gat.graphs`; these functions only validate parameters, pick the
training captures and assemble the report.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from kd_gat.fingerprint import dataset_of, fingerprint, table_digest
from kd_gat.graphs.normalise import (
    apply_feature_stats,
    fit_feature_stats,
    plan_graphs,
    scoring_store,
)
from kd_gat.graphs.splits import assert_disjoint, held_out_captures, split_windows
from kd_gat.graphs.store import GraphStore
from kd_gat.graphs.vocabulary import fit_vocabulary, vocabulary_from_dict, vocabulary_to_dict
from kd_gat.graphs.windows import frames_left_out_by_policy
from kd_gat.injection import inject_recordings, injected_matches
from kd_gat.params.graphs import GraphsParams
from kd_gat.params.profiles import ProfilesParams
from kd_gat.profiles import distillation_windows, vehicle_of

log = logging.getLogger(__name__)


def _is_train(frames: pd.DataFrame) -> np.ndarray:
    """Frames of training captures (the `split` category starts with `train`)."""
    split = frames["split"].astype("category")
    train_category = np.asarray(split.cat.categories.astype(str).str.startswith("train"))
    codes = split.cat.codes.to_numpy()
    return train_category[codes] & (codes >= 0)


def learn_vocabulary(frames: pd.DataFrame, dataset: str) -> dict[str, Any]:
    """CAN-ID vocabulary of the training captures (JSON-able: ids, OOV index, `num_ids`), with
    the fingerprint of the frames it comes from (dataset and content hash of all frames)."""
    is_train = _is_train(frames)
    if not is_train.any():
        raise ValueError("no training frames: the vocabulary is learnt from training captures")
    vocabulary = vocabulary_to_dict(fit_vocabulary(frames["can_id"].to_numpy()[is_train]))
    return vocabulary | {"fingerprint": fingerprint(dataset, table_digest(frames))}


def _warn_unmatched(captures: pd.DataFrame, patterns: tuple[str, ...]) -> None:
    """Name each `val_captures` pattern that holds out no training capture (a typo, or a
    capture another dataset has)."""
    train = captures.loc[captures["split"].astype(str).str.startswith("train"), "capture"]
    for pattern in patterns:
        if not held_out_captures(train, [pattern]).any():
            log.warning("graphs.val_captures: %r matches no training capture", pattern)


def build_graph_stores(
    frames: pd.DataFrame,
    vocabulary: dict[str, Any],
    params: dict[str, Any],
    matches: pd.DataFrame | None = None,
    profiles: dict[str, Any] | None = None,
) -> tuple[GraphStore, GraphStore, dict[str, GraphStore], dict[str, Any]]:
    """Raw-feature graph stores for train, val and each test scenario (each capture reading its
    matched vehicle profile: `matches` against `profiles`; none when not given), plus a build
    summary."""
    p = GraphsParams.model_validate(params)
    plan = plan_graphs(frames, p, matches, profiles)
    captures = plan.captures
    _warn_unmatched(captures, p.val_captures)
    split = split_windows(
        plan.table,
        captures.set_index("capture")["split"].to_dict(),
        p.val_fraction,
        p.val_blocks,
        p.val_captures,
    )
    ids = vocabulary_from_dict(vocabulary)
    train, val = plan.store(ids, split.train), plan.store(ids, split.val)
    test = {scenario: plan.store(ids, idx) for scenario, idx in split.test.items()}
    assert_disjoint(train.windows, val.windows, *(s.windows for s in test.values()))

    left_out = frames_left_out_by_policy(captures["n_frames"].to_numpy(), p.window_size, p.stride)
    per_capture = captures[["capture", "split", "n_frames", "n_windows"]].assign(
        **{f"frames_left_out_{policy}": counts for policy, counts in left_out.items()}
    )
    summary = {
        "params": p.model_dump(),
        "vocabulary_size": len(vocabulary["can_ids"]),
        "frames": len(frames),
        "windows": len(plan.table),
        "frames_left_out": {policy: int(counts.sum()) for policy, counts in left_out.items()},
        "val_windows_dropped_for_overlap": split.val_dropped,
        "windows_outside_splits": len(plan.table)
        - len(train)
        - len(val)
        - sum(len(s) for s in test.values())
        - split.val_dropped,
        "captures": per_capture.to_dict(orient="records"),
    }
    log.info(
        "graphs: %d windows from %d frames (%d left out by tail policy %s)",
        len(plan.table),
        len(frames),
        summary["frames_left_out"][p.tail_policy],
        p.tail_policy,
    )
    return train, val, test, summary


def fit_graph_feature_stats(
    train: GraphStore, vocabulary: dict[str, Any], params: dict[str, Any]
) -> dict[str, Any]:
    """Node/edge feature mean and std over the training graphs only, with the fingerprint of
    what shaped them: the vocabulary's (frames) and the graph parameters."""
    source = vocabulary.get("fingerprint", "")
    fp = fingerprint(dataset_of(source), source, GraphsParams.model_validate(params).model_dump())
    return fit_feature_stats(train) | {"fingerprint": fp}


def normalise_graph_stores(
    train: GraphStore,
    val: GraphStore,
    test: dict[str, GraphStore],
    feature_stats: dict[str, Any],
) -> tuple[GraphStore, GraphStore, dict[str, GraphStore]]:
    """Standardise every store with the training statistics."""
    return (
        apply_feature_stats(train, feature_stats),
        apply_feature_stats(val, feature_stats),
        {scenario: apply_feature_stats(s, feature_stats) for scenario, s in test.items()},
    )


def _describe_store(store: GraphStore) -> dict[str, Any]:
    windows = store.windows
    attack = windows[windows["label"] == 1]
    return {
        "windows": len(store),
        "attack_windows": len(attack),
        "normal_windows": len(store) - len(attack),
        "attack_windows_by_kind": {
            str(k): int(v)
            for k, v in attack["attack_kind"].astype(str).value_counts().sort_index().items()
        },
        "nodes": len(store.node_id),
        "edges": store.edge_index.shape[1],
        "oov_node_share": float(np.mean(store.node_id == store.num_ids - 1))
        if len(store.node_id)
        else 0.0,
        "captures": sorted(windows["capture"].astype(str).unique().tolist()),
    }


def report_graphs(
    train: GraphStore,
    val: GraphStore,
    test: dict[str, GraphStore],
    summary: dict[str, Any],
) -> dict[str, Any]:
    """`graphs_report`: the build summary plus windows, labels and OOV share per store."""
    stores = {"train": train, "val": val} | {f"test/{s}": store for s, store in test.items()}
    return summary | {"stores": {name: _describe_store(s) for name, s in stores.items()}}


def _profile_store(
    frames: pd.DataFrame,
    profiles: dict[str, Any],
    vocabulary: dict[str, Any],
    feature_stats: dict[str, Any],
    params: dict[str, Any],
    matches: pd.DataFrame,
    prepare: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
) -> GraphStore:
    """The windows of the profiled cars' recordings (after `prepare`, when given), each reading
    the profile it matched."""
    profiled = vehicle_of(frames["capture"]).isin(list(profiles["profiles"])).to_numpy()
    recordings = frames[profiled].reset_index(drop=True)
    if prepare is not None:
        recordings = prepare(recordings)
    return scoring_store(recordings, vocabulary, feature_stats, params, matches, profiles)


def _per_vehicle(
    store: GraphStore, keep: np.ndarray, profiles: dict[str, Any]
) -> dict[str, GraphStore]:
    """One store per profiled car: its windows among `keep`."""
    vehicles = vehicle_of(store.windows["capture"]).to_numpy()
    return {
        vehicle: store.select(np.flatnonzero(keep & (vehicles == vehicle)))
        for vehicle in sorted(profiles["profiles"])
    }


def build_profile_graphs(
    frames: pd.DataFrame,
    profiles: dict[str, Any],
    matches: pd.DataFrame,
    vocabulary: dict[str, Any],
    feature_stats: dict[str, Any],
    params: dict[str, Any],
    profiles_params: dict[str, Any],
) -> tuple[dict[str, GraphStore], GraphStore]:
    """The windows of the profiles' recordings, built like the test windows (each recording
    reading the profile it matched), split in two: `calibration_graphs`, one store per profiled
    car, whose windows set the detectors' thresholds; and `distillation_graphs`, the last
    `distillation_share` of each recording of another car than the training car, which teaches
    the profile-distilled students and sets no threshold (`profiles.distillation_windows`)."""
    share = ProfilesParams.model_validate(profiles_params).distillation_share
    store = _profile_store(frames, profiles, vocabulary, feature_stats, params, matches)
    distill = distillation_windows(store.windows, share)
    calibration = _per_vehicle(store, ~distill, profiles)
    log.info(
        "profile windows: %d calibrate (%s), %d kept for distillation",
        int((~distill).sum()),
        ", ".join(f"{v} {len(s)}" for v, s in calibration.items()) or "no profile",
        int(distill.sum()),
    )
    return calibration, store.select(np.flatnonzero(distill))


def build_injected_graphs(
    frames: pd.DataFrame,
    profiles: dict[str, Any],
    matches: pd.DataFrame,
    vocabulary: dict[str, Any],
    feature_stats: dict[str, Any],
    params: dict[str, Any],
    profiles_params: dict[str, Any],
) -> dict[str, GraphStore]:
    """`injected_graphs`: per profiled car, the windows of its recordings with each kind of
    `profiles.injection` injected (`kd_gat.injection`), in the part that calibrates (the part
    kept for distillation is left out, as in `calibration_graphs`)."""
    p = ProfilesParams.model_validate(profiles_params)
    store = _profile_store(
        frames,
        profiles,
        vocabulary,
        feature_stats,
        params,
        injected_matches(matches, p.injection.kinds),
        partial(inject_recordings, p=p.injection),
    )
    keep = ~distillation_windows(store.windows, p.distillation_share)
    injected = _per_vehicle(store, keep, profiles)
    log.info(
        "injected attacks: %s",
        ", ".join(
            f"{v} {int(s.windows['label'].sum())}/{len(s)} windows" for v, s in injected.items()
        )
        or "no profile",
    )
    return injected
