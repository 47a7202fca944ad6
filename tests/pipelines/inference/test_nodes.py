"""Inference nodes: new captures validated like training data, cut into the very graphs the
graphs stage builds (training vocabulary and statistics), and scored with the decision
`score >= the policy's threshold`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from kd_gat.datasets.captures import CaptureFolderDataset
from kd_gat.fusion.inputs import STATE_COLUMNS
from kd_gat.fusion.policy import FusionPolicy, fuse
from kd_gat.ingestion.schemas import REASONS
from kd_gat.ingestion.validate import IngestionError
from kd_gat.pipelines.inference.nodes import (
    build_inference_graphs,
    ingest_new_captures,
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


def fusion_policy(graphs, vgae, gat, seed: int = 0) -> FusionPolicy:
    """An untrained policy whose state is fitted on the windows themselves."""
    outputs = [detector_outputs(m, {"w": graphs}, 64)["w"].set_index("window") for m in (vgae, gat)]
    joined = outputs[0].join(outputs[1].drop(columns=["label", "score"]))
    torch.manual_seed(seed)
    policy = FusionPolicy(STATE_COLUMNS, len(joined), num_arms=5, hidden=8)
    policy.state.fit(joined["vgae_score"].to_numpy(), joined[STATE_COLUMNS].to_numpy())
    return policy


def test_decisions_are_scores_at_or_above_the_policy_threshold(small_graphs) -> None:
    frames = small_frames()
    new = frames[frames["split"].astype(str) == "test"].reset_index(drop=True)
    graphs = build_inference_graphs(
        new, small_graphs["vocabulary"], small_graphs["feature_stats"], GRAPHS
    )
    vgae, gat = untrained("vgae", graphs, seed=1), untrained("gat", graphs, seed=2)
    policy = fusion_policy(graphs, vgae, gat)
    first = score_new_windows(graphs, vgae, gat, policy, {"batch_size": 8})
    policy.threshold.fill_(float(first["score"].median()))  # so both decisions occur
    table = score_new_windows(graphs, vgae, gat, policy, {"batch_size": 8})

    assert table["window"].tolist() == list(range(len(graphs)))
    windows = graphs.windows
    assert table["capture"].tolist() == windows["capture"].astype(str).tolist()
    for column in ("start_row", "end_row", "start_time", "end_time"):
        np.testing.assert_array_equal(table[column], windows[column])
    assert (table["threshold"] == float(policy.threshold)).all()
    assert (table["decision"] == (table["score"] >= float(policy.threshold))).all()
    assert set(table["decision"]) == {0, 1}
    # the detectors' own outputs, and the fused score from them with the chosen α
    with torch.no_grad():
        batch = graphs.batch(np.arange(len(graphs)))
        np.testing.assert_allclose(table["vgae_score"], vgae.anomaly_score(batch), rtol=1e-4)
        np.testing.assert_allclose(table["gat_p"], gat(batch).softmax(-1)[:, 1], rtol=1e-4)
        anomaly = policy.state.anomaly(torch.as_tensor(table["vgae_score"].to_numpy()))
    assert set(table["alpha"]) <= set(policy.arms.tolist())
    np.testing.assert_allclose(
        table["score"], fuse(anomaly.numpy(), table["gat_p"], table["alpha"]), rtol=1e-5
    )
    pd.testing.assert_series_equal(first["score"], table["score"])  # the threshold decides only
