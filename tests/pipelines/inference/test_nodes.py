"""Inference nodes: new captures validated like training data, cut into the very graphs the
graphs stage builds (training vocabulary and statistics), scored at the profile threshold once
matched and the zero-shot one elsewhere, flagged windows merged into alarms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kd_gat.datasets.captures import CaptureFolderDataset
from kd_gat.ingestion.schemas import REASONS
from kd_gat.ingestion.validate import IngestionError
from kd_gat.pipelines.inference.nodes import (
    build_inference_graphs,
    ingest_new_captures,
    merge_alarms,
    score_new_windows,
)
from kd_gat.scoring import detector_outputs
from tests.pipelines.factory import GRAPHS, TEST_CAPTURES, UNKNOWN_ID, small_frames, untrained

INGESTION = {"on_invalid": "quarantine", "attack_kinds": {"dos": "DoS"}}
HEADER = "timestamp,arbitration_id,data_field"


def lines(n: int, start: float = 1.0) -> list[str]:
    return [f"{start + i / 100:.6f},{0x100 + i % 5:03X},0102{i % 256:02X}" for i in range(n)]


@pytest.fixture
def new_captures(tmp_path):
    """car_a/day_1/drive.csv (one bad row), the same file again elsewhere, a labelled capture."""
    drive = [HEADER, *lines(6)]
    drive[3] = "1.020000,1E5,0102F"  # data row 3: odd-length payload
    (tmp_path / "car_a" / "day_1").mkdir(parents=True)
    (tmp_path / "car_a" / "day_1" / "drive.csv").write_text("\n".join(drive) + "\n")
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "drive.csv").write_text("\n".join(drive) + "\n")
    labelled = [f"{HEADER},attack", *(f"{line},1" for line in lines(4, 2.0))]
    (tmp_path / "labelled.csv").write_text("\n".join(labelled) + "\n")
    return CaptureFolderDataset(str(tmp_path), labelled=False).load()


def test_new_captures_are_validated_like_training_captures(new_captures) -> None:
    frames, rejects, report = ingest_new_captures(new_captures, INGESTION)
    assert sorted(frames["capture"].unique()) == ["car_a/day_1/drive", "labelled"]
    assert set(frames["scenario"].astype(str)) == {"inference"}
    drive = frames[frames["capture"] == "car_a/day_1/drive"]
    assert drive["row"].tolist() == [1, 2, 4, 5, 6]  # row 3 quarantined
    assert drive["can_id"].tolist() == [0x100, 0x101, 0x103, 0x104, 0x100]
    assert frames.loc[frames["capture"] == "labelled", "attack"].tolist() == [1, 1, 1, 1]
    assert rejects[["capture", "row", "column", "reason"]].to_dict("records") == [
        {
            "capture": "car_a/day_1/drive",
            "row": 3,
            "column": "data_field",
            "reason": REASONS["hex_payload"],
        }
    ]
    assert report["duplicates_skipped"] == [
        {"file": "copy/drive.csv", "same_content_as": "car_a/day_1/drive.csv"}
    ]


def test_on_invalid_fail_stops_inference_too(new_captures) -> None:
    with pytest.raises(IngestionError, match="1 invalid rows"):
        ingest_new_captures(new_captures, INGESTION | {"on_invalid": "fail"})


def test_a_capture_becomes_the_graphs_it_is_in_the_test_store(small_graphs) -> None:
    """The same frames give the same windows, node IDs (OOV included) and normalised features
    at inference as in the graphs stage's test store."""
    scenario = "test_04_unknown_vehicle_unknown_attack"
    frames = small_frames()
    new = frames[frames["capture"] == TEST_CAPTURES[scenario]].reset_index(drop=True)
    store = build_inference_graphs(
        new, small_graphs["vocabulary"], small_graphs["feature_stats"], GRAPHS
    )
    reference = small_graphs["graphs_test"][scenario]
    assert len(store) == len(new) // GRAPHS["window_size"]  # the tail is dropped
    for column in ("start_row", "end_row", "start_time", "end_time", "n_frames"):
        np.testing.assert_array_equal(store.windows[column], reference.windows[column])
    np.testing.assert_array_equal(store.node_id, reference.node_id)
    np.testing.assert_array_equal(store.edge_index, reference.edge_index)
    np.testing.assert_allclose(store.x, reference.x)
    np.testing.assert_allclose(store.edge_attr, reference.edge_attr)
    oov = small_graphs["vocabulary"]["oov_index"]
    assert UNKNOWN_ID not in small_graphs["vocabulary"]["can_ids"]
    assert (store.node_id == oov).any()
    # and the statistics are applied, not refitted on the new captures
    assert not np.allclose(store.x.mean(axis=0), 0, atol=1e-3)


def scored(graphs, model, frames, zero_shot: float, profile: float, warmup_s: float = 0.0):
    """`score_new_windows` with test_04's capture matched to profile "X" from its start (the
    model's threshold there `profile`, node threshold −inf) and zero-shot `zero_shot` (node
    threshold inf) elsewhere; no alarm in a capture's first `warmup_s`."""
    matches = pd.DataFrame(
        {
            "capture": [TEST_CAPTURES["test_04_unknown_vehicle_unknown_attack"]],
            "profile": ["X"],
            "matched_from": [-np.inf],
        }
    )
    return score_new_windows(
        graphs,
        {"det": model},
        frames,
        matches,
        pd.DataFrame({"model": ["det"], "vehicle": ["X"], "threshold": [profile]}),
        pd.DataFrame({"model": ["det"], "vehicle": ["X"], "node_threshold": [-np.inf]}),
        pd.DataFrame({"model": ["det"], "threshold": [zero_shot], "node_threshold": [np.inf]}),
        {"detector": "det"},
        {"batch_size": 8},
        {"warmup_s": warmup_s},
    )


@pytest.fixture
def new_windows(small_graphs, monkeypatch):
    """The small test captures as new captures, an untrained GAT, its scores."""
    monkeypatch.setattr("kd_gat.params.inference.roster.detector_names", lambda: ("det",))
    frames = small_frames()
    new = frames[frames["split"].astype(str) == "test"].reset_index(drop=True)
    graphs = build_inference_graphs(
        new, small_graphs["vocabulary"], small_graphs["feature_stats"], GRAPHS
    )
    model = untrained("gat", graphs, seed=2)
    raw = detector_outputs(model, {"w": graphs}, 64)["w"].sort_values("window")
    return graphs, model, new, raw["score"].to_numpy()


def test_windows_take_the_profile_threshold_once_matched_else_the_zero_shot_one(
    new_windows,
) -> None:
    graphs, model, frames, raw = new_windows
    middle = float(np.median(raw))
    table, implicated = scored(graphs, model, frames, zero_shot=middle, profile=-np.inf)
    assert table["window"].tolist() == list(range(len(graphs)))
    windows = graphs.windows
    assert table["capture"].tolist() == windows["capture"].astype(str).tolist()
    for column in ("start_row", "end_row", "start_time", "end_time"):
        np.testing.assert_array_equal(table[column], windows[column])
    np.testing.assert_allclose(table["score"], raw, rtol=1e-6)
    on_x = (table["capture"] == TEST_CAPTURES["test_04_unknown_vehicle_unknown_attack"]).to_numpy()
    assert table.loc[on_x, "calibrated"].all()
    assert (table.loc[on_x, "profile"] == "X").all()
    assert not table.loc[~on_x, "calibrated"].any()
    assert (table.loc[on_x, "threshold"] == -np.inf).all()
    assert (table.loc[~on_x, "threshold"] == middle).all()
    assert (table["decision"] == (table["score"] >= table["threshold"])).all()
    assert table.loc[on_x, "decision"].all()  # every window over −inf
    # node thresholds: −inf on X implicates every node of a window; inf elsewhere, only the top
    nodes = np.diff(graphs.node_ptr)
    np.testing.assert_array_equal(table.loc[on_x, "n_implicated"], nodes[on_x])
    other = table[~on_x & (table["decision"] == 1)]
    assert len(other)
    assert (other["n_implicated"] == 1).all()
    assert set(implicated["window"]) == set(table.loc[table["decision"] == 1, "window"])


def test_no_alarm_in_a_captures_first_warmup_seconds(new_windows) -> None:
    """Every window over −inf everywhere: with a warm-up, exactly the windows that end within
    their capture's first `warmup_s` are not flagged, and implicate nothing."""
    graphs, model, frames, _ = new_windows
    windows = graphs.windows
    since = windows["end_time"] - windows.groupby("capture")["start_time"].transform("min")
    warmup_s = float(np.median(since))  # some windows of each capture in it, some after
    table, implicated = scored(graphs, model, frames, -np.inf, -np.inf, warmup_s=warmup_s)
    warm = (since < warmup_s).to_numpy()
    assert 0 < warm.sum() < len(table)
    assert (table.loc[warm, "threshold"] == np.inf).all()
    assert (table["decision"] == (~warm).astype(int)).all()
    assert set(implicated["window"]) == set(table.loc[~warm, "window"])


def test_merged_alarms_on_a_hand_made_timeline() -> None:
    """Flagged windows 0.5 s apart merge; 2 s apart they do not; captures never merge."""
    start = np.array([0.0, 1.0, 1.5, 4.0, 4.5, 0.0])
    scores = pd.DataFrame(
        {
            "capture": ["a"] * 5 + ["b"],
            "window": [0, 1, 2, 3, 4, 5],
            "start_time": start,
            "end_time": start + 0.4,
            "profile": ["X"] * 5 + [None],
            "calibrated": [True, True, True, False, True, False],
            "score": [0.9, 0.8, 0.7, 0.6, 0.95, 0.5],
            "decision": [1, 1, 1, 1, 1, 1],
        }
    )
    implicated = pd.DataFrame(
        {
            "capture": ["a", "a", "a", "a", "b"],
            "window": [0, 1, 1, 4, 5],
            "can_id": [0x100, 0x100, 0x2A0, 0x7FF, 0x100],
            "node_score": [1.0, 1.0, 3.0, 1.0, 1.0],
        }
    )
    alarms = merge_alarms(scores, implicated, {"alarm_merge_s": 1.0})
    assert alarms[["capture", "alarm", "windows"]].values.tolist() == [
        ["a", 0, 3],
        ["a", 1, 2],
        ["b", 0, 1],
    ]
    first = alarms.iloc[0]
    assert (first["start_time"], first["end_time"], first["max_score"]) == (0.0, 1.9, 0.9)
    assert first["can_ids"] == "0x2A0 0x100"  # by total node score
    assert bool(first["calibrated"])
    assert not bool(alarms.iloc[1]["calibrated"])  # one window of it was not
    assert alarms.iloc[1]["can_ids"] == "0x7FF"
    unflagged = merge_alarms(scores.assign(decision=0), implicated, {"alarm_merge_s": 1.0})
    assert unflagged.empty


def test_a_model_is_never_judged_by_another_detectors_thresholds(new_windows) -> None:
    graphs, model, frames, _ = new_windows
    model.name = "gat_teacher"  # the file of another detector than params:inference names
    with pytest.raises(ValueError, match="would judge another model"):
        scored(graphs, model, frames, zero_shot=0.5, profile=0.5)
