"""Inference stage (on demand): new unlabelled captures scored in-process with the models the
catalog loads by default, after the fusion stage."""

from __future__ import annotations

import numpy as np

from kd_gat.pipelines.inference import create_pipeline
from tests.pipelines.conftest import NEW_CAPTURE_ROWS


def test_the_stage_reads_new_captures_the_training_vocabulary_and_three_models() -> None:
    assert create_pipeline().inputs() == {
        "inference_captures",
        "vocabulary",
        "feature_stats",
        "inference_vgae",
        "inference_gat",
        "inference_fusion",
        "params:ingestion",
        "params:graphs",
        "params:scoring",
    }


def test_new_unlabelled_captures_are_scored_per_window(inference_run, stage_params) -> None:
    scores = inference_run["inference_scores"]
    window = stage_params["graphs"]["window_size"]
    assert len(scores) == NEW_CAPTURE_ROWS // window  # the tail dropped
    assert set(scores["capture"]) == {"car_a/drive"}
    assert (scores["end_time"] >= scores["start_time"]).all()
    assert scores["score"].between(0, 1).all()
    assert np.isfinite(scores[["vgae_score", "gat_p", "alpha"]].to_numpy()).all()
    assert inference_run["inference_rejected_frames"].empty


def test_decisions_use_the_deployed_policy_threshold(inference_run) -> None:
    scores = inference_run["inference_scores"]
    policy = inference_run.inputs["inference_fusion"]
    assert (scores["threshold"] == float(policy.threshold)).all()
    assert (scores["decision"] == (scores["score"] >= float(policy.threshold))).all()


def test_a_known_capture_scores_as_it_did_in_the_test_set(
    inference_run, scoring_run, inference_models
) -> None:
    """The new capture is the start of a test capture: same windows, same detector outputs as
    the scoring stage gave them (training vocabulary and statistics, not refitted)."""
    scores = inference_run["inference_scores"]
    for role, column in (("inference_vgae", "vgae_score"), ("inference_gat", "gat_p")):
        outputs = scoring_run[inference_models[role].replace(".model", ".window_outputs")]
        test = outputs[outputs["scenario"] == "test_01_known_vehicle_known_attack"]
        np.testing.assert_allclose(
            scores[column], test[column].to_numpy()[: len(scores)], rtol=1e-4, atol=1e-6
        )
