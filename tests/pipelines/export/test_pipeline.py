"""Export stage (on demand): the deployed detector as ONNX, checked against PyTorch, in a bundle
that `kd_gat.bundle.ExportedDetector` runs without torch and that decides like batch inference."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

from kd_gat import roster
from kd_gat.bundle import MANIFEST, ExportedDetector
from kd_gat.datasets.bundle import DetectorBundleDataset
from kd_gat.localisation import window_nodes
from kd_gat.persistence import follows
from kd_gat.pipelines.export import create_pipeline
from kd_gat.pipelines.export.nodes import check_parity
from kd_gat.profiles import warmup_windows
from tests.pipelines.conftest import run_stage


def test_the_stage_reads_the_deployed_models_their_thresholds_and_the_graph_contract() -> None:
    assert create_pipeline().inputs() == {
        "inference_models",
        "graphs_val",
        "vocabulary",
        "feature_stats",
        "vehicle_profiles",
        "profile_thresholds",
        "profile_node_thresholds",
        "zero_shot_thresholds",
        "params:graphs",
        "params:profiles",
        "params:inference",
        "params:export",
        "params:dataset",
        "params:scoring",
    }


@pytest.fixture(scope="module")
def bundle(bundle_dir) -> ExportedDetector:
    return ExportedDetector(bundle_dir)


def test_parity_on_every_validation_window(export_run, inference_detector) -> None:
    parity = export_run["export_parity"]
    assert parity["windows"] == len(export_run.inputs["graphs_val"])
    for member in roster.deployed_members(inference_detector):
        assert parity[member]["max_abs_score"] <= parity["tolerance"] == 1e-4
        assert parity[member]["max_abs_node_score"] <= parity["tolerance"]


def test_the_bundle_scores_like_pytorch_and_describes_itself(bundle, export_run) -> None:
    val = export_run.inputs["graphs_val"]
    manifest = bundle.manifest
    assert manifest["graphs"]["node_features"] == list(val.node_features)
    assert manifest["vocabulary"] == export_run.inputs["vocabulary"]
    assert [i["name"] for i in manifest["inputs"]] == list(bundle.inputs(val).keys())
    rows = np.arange(min(len(val), 40))
    store = val.select(rows)
    for name, (score, node_score) in bundle.scores(store, standardised=True).items():
        model = export_run.inputs["inference_models"][name].eval()
        with torch.inference_mode():
            expected = model.detect(val.batch(rows))
        np.testing.assert_allclose(score, expected[0].numpy(), atol=1e-4)
        np.testing.assert_allclose(node_score, expected[1].numpy(), atol=1e-4)
        assert manifest["members"][name]["thresholds"]["zero_shot"]["window"] == pytest.approx(
            export_run.inputs["zero_shot_thresholds"].set_index("model").loc[name, "threshold"]
        )


def test_a_model_that_differs_from_its_export_fails_the_parity_check(export_run, params):
    models = copy.deepcopy(export_run.inputs["inference_models"])
    for model in models.values():
        with torch.no_grad():
            next(model.parameters()).add_(0.5)
    val = export_run.inputs["graphs_val"]
    with pytest.raises(ValueError, match="ONNX and PyTorch scores differ"):
        check_parity(export_run["export_onnx_models"], models, val, params["export"])


def test_the_exported_detector_decides_like_batch_inference(bundle, inference_run) -> None:
    """Per capture: its profile, and each window's score, threshold, decision, calibrated flag
    and implicated IDs, equal the inference stage's (the same windows, standardised)."""
    graphs = inference_run["inference_graphs"]
    scores = inference_run["inference_scores"]
    matches = inference_run["inference_matches"].set_index("capture")
    nodes = window_nodes(inference_run["inference_frames"], {"inference": graphs.windows})
    for capture, expected in scores.groupby("capture"):
        rows = expected["window"].to_numpy()
        profile = matches.loc[capture, "profile"]
        profile = None if not isinstance(profile, str) else profile
        ends = graphs.windows["end_time"].to_numpy()[rows]
        reads = ends >= float(matches.loc[capture, "matched_from"]) if profile else ends < -1
        run = follows(graphs.windows.iloc[rows])  # windows in a row, for a persisting member
        settled = ~warmup_windows(graphs.windows.iloc[rows], bundle.warmup_s)
        got = bundle.decide(
            graphs.select(rows), profile, reads, standardised=True, follows=run, settled=settled
        )
        np.testing.assert_array_equal(got.decision, expected["decision"].to_numpy())
        np.testing.assert_array_equal(got.calibrated, expected["calibrated"].to_numpy())
        np.testing.assert_allclose(got.threshold, expected["threshold"].to_numpy())
        np.testing.assert_allclose(got.score, expected["score"].to_numpy(), atol=1e-4)
        mine = nodes[nodes["window"].isin(rows)]
        implicated = mine.assign(on=got.implicated, node_score=got.node_score)
        count = implicated.groupby("window")["on"].sum().reindex(rows).to_numpy()
        np.testing.assert_array_equal(count, expected["n_implicated"].to_numpy())
        flagged = implicated[implicated["on"]].sort_values("node_score", ascending=False)
        top = flagged.drop_duplicates("window").set_index("window")["can_id"].reindex(rows)
        np.testing.assert_array_equal(
            top.fillna(-1).to_numpy(np.int64), expected["top_id"].fillna(-1).to_numpy(np.int64)
        )
    assert scores["decision"].sum() > 0  # the comparison covers flagged windows
    assert np.isinf(scores["threshold"]).any()  # and windows of a capture's warm-up
    assert bundle.warmup_s > 0


def test_a_pair_exports_both_members_with_half_budget_thresholds(fusion_run, params, tmp_path):
    pair = next(name for name in roster.deployable_names() if name.endswith(".alarm_or"))
    members = roster.deployed_members(pair)
    params["inference"]["detector"] = pair
    supply = fusion_run.artifacts | {
        "inference_models": {m: fusion_run.artifacts[f"{m}.model"] for m in members}
    }
    run = run_stage("export", supply, params)
    DetectorBundleDataset(str(tmp_path)).save(run["detector_bundle"])
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["rule"] == "alarm_or"
    assert manifest["detector"] == pair
    assert sorted(manifest["members"]) == sorted(members)
    assert sorted(p.name for p in tmp_path.glob("*.onnx")) == sorted(f"{m}.onnx" for m in members)
    for member in members:
        assert run["export_parity"][member]["max_abs_score"] <= 1e-4
