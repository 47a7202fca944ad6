"""Graphs stage: node functions on a small frames table, the pipeline's wiring, and the stage run
in-process on the ingested shipped sample."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pydantic import ValidationError
from torch_geometric.loader import DataLoader

from kd_gat.graphs.builder import FEATURE_GROUPS
from kd_gat.pipelines.graphs import create_pipeline
from kd_gat.pipelines.graphs.nodes import (
    build_graph_stores,
    fit_graph_feature_stats,
    learn_vocabulary,
    normalise_graph_stores,
    report_graphs,
)
from tests.graphs.factory import capture, frames
from tests.pipelines.conftest import DATASET

PARAMS = {
    "window_size": 4,
    "stride": 4,
    "min_attack_frames": 1,
    "tail_policy": "drop",
    "val_fraction": 0.2,
    "val_blocks": 1,  # the plain rule: the last val_fraction of each capture
}


@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    return frames(
        capture("train_01_attack_free/a", "train_attack_free", rng.choice([1, 2, 3], 42)),
        capture(
            "train_02_with_attacks/b",
            "train_with_attacks",
            rng.choice([1, 2, 3], 20),
            attack=[0] * 10 + [1] * 10,
            attack_kind="DoS",
        ),
        capture("test_01_known/c", "test", rng.choice([1, 2, 9], 16), attack_kind="DoS"),
        capture("test_04_unknown/d", "test", [7] * 8, attack=[1] * 8, attack_kind="systematic"),
    )


DATASET_NAME = "set_x"


def run_nodes(table, params=PARAMS):
    vocabulary = learn_vocabulary(table, DATASET_NAME)
    train, val, test, summary = build_graph_stores(table, vocabulary, params)
    stats = fit_graph_feature_stats(train, vocabulary, params)
    train, val, test = normalise_graph_stores(train, val, test, stats)
    return vocabulary, stats, train, val, test, report_graphs(train, val, test, summary)


def test_nodes_end_to_end(table):
    vocabulary, stats, train, val, test, report = run_nodes(table)
    fingerprint = vocabulary.pop("fingerprint")
    assert vocabulary == {"can_ids": [1, 2, 3], "oov_index": 3, "num_ids": 4}
    assert fingerprint.startswith(f"{DATASET_NAME}:")
    # every store carries the fingerprint of the statistics that normalised it
    assert {s.fingerprint for s in (train, val, *test.values())} == {stats["fingerprint"]}
    # a: 10 windows (2 frames dropped) → 8 train + 2 val; b: 5 windows → 4 + 1
    assert (len(train), len(val)) == (12, 3)
    assert sorted(test) == ["test_01_known", "test_04_unknown"]
    assert (len(test["test_01_known"]), len(test["test_04_unknown"])) == (4, 2)
    assert train.num_ids == 4
    assert val.windows["start_row"].tolist() == [33, 37, 17]
    np.testing.assert_allclose(train.x.mean(axis=0), 0, atol=1e-5)
    batch = next(iter(DataLoader(test["test_04_unknown"], batch_size=2)))
    assert batch.node_id.tolist() == [3, 3]  # ID 7 is unknown: OOV
    assert batch.y.tolist() == [1, 1]

    json.dumps([vocabulary, stats, report])  # every JSON output serialises
    assert report["frames_left_out"] == {"drop": 2, "keep": 0}
    assert report["stores"]["train"]["attack_windows"] == 2
    assert report["stores"]["val"]["attack_windows"] == 1
    assert report["stores"]["test/test_04_unknown"]["oov_node_share"] == 1.0
    assert report["stores"]["test/test_04_unknown"]["attack_windows_by_kind"] == {"systematic": 2}
    assert report["windows_outside_splits"] == 0


def test_vocabulary_ignores_test_captures(table):
    assert 9 not in learn_vocabulary(table, DATASET_NAME)["can_ids"]


def test_bad_parameters_are_rejected(table):
    vocabulary = learn_vocabulary(table, DATASET_NAME)
    for bad in ({"tail_policy": "pad"}, {"window_size": 1}, {"min_attack_frames": 9}, {"x": 1}):
        with pytest.raises(ValidationError):
            build_graph_stores(table, vocabulary, PARAMS | bad)


def test_pipeline_wiring():
    pipeline = create_pipeline()
    assert pipeline.inputs() == {
        "frames",
        "capture_matches",
        "vehicle_profiles",
        "calibration_frames",
        "calibration_matches",
        "params:graphs",
        "params:profiles",
        "params:dataset",
    }
    assert pipeline.all_outputs() >= {
        "vocabulary",
        "feature_stats",
        "graphs_train",
        "graphs_val",
        "graphs_test",
        "graphs_report",
    }


def test_graphs_stage_on_the_shipped_sample(graphs_run, ingestion_run, stage_params) -> None:
    train, val, test = (
        graphs_run["graphs_train"],
        graphs_run["graphs_val"],
        graphs_run["graphs_test"],
    )
    vocabulary, report = graphs_run["vocabulary"], graphs_run["graphs_report"]
    frames = ingestion_run["frames"]
    assert len(train) > 0
    assert len(val) > 0
    assert sorted(test) == sorted(p.name for p in DATASET.iterdir() if p.name.startswith("test"))
    # the vocabulary is the training captures' CAN IDs, the last index is the OOV bucket
    is_train = frames["split"].astype(str).str.startswith("train")
    assert vocabulary["can_ids"] == sorted(frames.loc[is_train, "can_id"].unique().tolist())
    for store in (train, val, *test.values()):
        assert store.num_ids == len(vocabulary["can_ids"]) + 1
    # train and val hold training captures, each test store its scenario's captures only
    assert set(train.windows["capture"].astype(str)) <= set(frames.loc[is_train, "capture"])
    assert set(val.windows["capture"].astype(str)) <= set(frames.loc[is_train, "capture"])
    for scenario, store in test.items():
        assert set(store.windows["scenario"].astype(str)) == {scenario}
    # no window is in two stores
    keys = [
        (str(c), r)
        for store in (train, val, *test.values())
        for c, r in zip(store.windows["capture"], store.windows["start_row"], strict=True)
    ]
    assert len(keys) == len(set(keys))
    window = stage_params["graphs"]["window_size"]
    assert (train.windows["n_frames"] == window).all()
    # the report counts what the stores hold
    assert report["stores"]["train"]["windows"] == len(train)
    assert report["stores"]["val"]["windows"] == len(val)
    assert report["stores"]["val"]["attack_windows"] == int(val.y.sum()) > 0
    for scenario, store in test.items():
        assert report["stores"][f"test/{scenario}"]["windows"] == len(store)
    # features standardised with the training statistics
    stats = graphs_run["feature_stats"]
    assert stats["node"]["names"] == list(train.node_features)
    assert stats["fingerprint"].startswith(f"{stage_params['dataset']}:")
    assert {s.fingerprint for s in (train, val, *test.values())} == {stats["fingerprint"]}
    np.testing.assert_allclose(train.x.mean(axis=0), 0, atol=1e-3)
    json.dumps([vocabulary, stats, report])  # the JSON outputs serialise


def test_captures_matched_to_a_profile_read_it(graphs_run, ingestion_run, stage_params) -> None:
    """The shipped test_04 capture (car B) reads B's profile in the `profile` features; car A's
    captures (unmatched) get what they would get without any profile, and no other feature
    changes."""
    bare = build_graph_stores(
        ingestion_run["frames"], graphs_run["vocabulary"], stage_params["graphs"]
    )
    names = list(graphs_run["graphs_test_raw"]["test_01_known_vehicle_known_attack"].node_features)
    profile = [names.index(n) for n in FEATURE_GROUPS["profile"]]
    rest = [i for i in range(len(names)) if i not in profile]
    for scenario, store in graphs_run["graphs_test_raw"].items():
        other = bare[2][scenario]
        np.testing.assert_array_equal(store.x[:, rest], other.x[:, rest])
        if scenario.startswith("test_04"):
            # counts against B's periods; unknown = not B's (the fuzzed IDs, on every pass)
            assert (store.x[:, profile[1]] != other.x[:, profile[1]]).any()
            assert store.x[:, profile[0]].mean() != other.x[:, profile[0]].mean()
            assert ((store.x[:, profile[2]] >= 0) & (store.x[:, profile[2]] <= 1)).all()
        else:
            np.testing.assert_array_equal(store.x, other.x)


def test_injected_graphs_hold_each_attack_in_the_calibrating_part(graphs_run, stage_params) -> None:
    """Car B's recording, once per injected kind: windows labelled by the injected frames they
    hold, each kind with attack and clean windows, none in the part kept for distillation."""
    injected = graphs_run["injected_graphs"]["B"]
    calibrating = graphs_run["calibration_graphs"]["B"].windows
    windows = injected.windows
    kinds = stage_params["profiles"]["injection"]["kinds"]
    assert set(windows["attack_kind"].astype(str)) == set(kinds)
    for kind in kinds:
        mine = windows[windows["attack_kind"].astype(str) == kind]
        assert set(mine["capture"].astype(str)) == {
            f"{c}+{kind}" for c in calibrating["capture"].astype(str).unique()
        }
        assert 0 < mine["label"].sum() < len(mine)
    assert (windows["label"] == (windows["n_attack_frames"] > 0)).all()
    # the distillation part of each recording is left out, as in calibration_graphs
    recording = windows["capture"].astype(str).str.rsplit("+", n=1).str[0]
    last = calibrating.groupby(calibrating["capture"].astype(str))["end_time"].max()
    assert (windows["start_time"].to_numpy() <= last.loc[recording].to_numpy()).all()
    assert injected.fingerprint == graphs_run["feature_stats"]["fingerprint"]
