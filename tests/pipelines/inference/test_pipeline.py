"""Inference stage (on demand): new unlabelled captures scored in-process by the detector the
catalog deploys by default, at its calibrated thresholds: a capture of car A (no profile) and
one of car B (B's profile)."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from kd_gat import roster
from kd_gat.datasets.captures import CaptureFolderDataset
from kd_gat.pipelines.inference import create_pipeline
from tests.pipelines.conftest import NEW_CAPTURES, run_stage, write_new_captures

CAR_A, CAR_B = "car_a/drive", "car_b/drive"
TEST_CAPTURES = {
    CAR_A: "test_01_known_vehicle_known_attack/DoS-3",
    CAR_B: "test_04_unknown_vehicle_unknown_attack/systematic-4",
}


def test_the_stage_reads_new_captures_the_profiles_thresholds_and_one_detector() -> None:
    assert create_pipeline().inputs() == {
        "inference_captures",
        "vocabulary",
        "feature_stats",
        "vehicle_profiles",
        "profile_thresholds",
        "profile_node_thresholds",
        "zero_shot_thresholds",
        "inference_models",
        "params:ingestion",
        "params:graphs",
        "params:profiles",
        "params:scoring",
        "params:inference",
    }


def test_new_unlabelled_captures_are_scored_per_window(inference_run, stage_params) -> None:
    scores = inference_run["inference_scores"]
    window = stage_params["graphs"]["window_size"]
    counts = scores.groupby("capture").size()
    for name, (_, rows) in NEW_CAPTURES.items():
        assert counts[name.removesuffix(".csv")] == rows // window  # the tail dropped
    assert (scores["end_time"] >= scores["start_time"]).all()
    assert np.isfinite(scores["score"]).all()
    assert inference_run["inference_rejected_frames"].empty
    # car B's capture matches B's profile and is calibrated once matched; car A's matches none
    matches = inference_run["inference_matches"].set_index("capture")["profile"]
    assert matches[CAR_B] == "B"
    assert pd.isna(matches[CAR_A])
    a, b = scores[scores["capture"] == CAR_A], scores[scores["capture"] == CAR_B]
    assert not a["calibrated"].any()
    assert a["profile"].isna().all()
    assert (b["profile"] == "B").all()
    assert b["calibrated"].mean() > 0.5
    assert not b["calibrated"].iloc[0]  # the first windows end before the match is made


def test_decisions_use_the_deployed_detectors_thresholds(
    inference_run, calibration_run, inference_detector
) -> None:
    scores = inference_run["inference_scores"]
    zero_shot = calibration_run["zero_shot_thresholds"].set_index("model").loc[inference_detector]
    profile = calibration_run["profile_thresholds"].set_index(["model", "vehicle"])["threshold"]
    calibrated = scores["calibrated"].to_numpy(bool)
    # a capture's first `profiles.warmup_s` (3 s): no alarm, threshold +inf
    start = scores.groupby("capture")["start_time"].transform("min")
    warm = (scores["end_time"] < start + 3.0).to_numpy()
    assert warm.any()
    assert not (warm & calibrated).any()
    assert (scores.loc[warm, "threshold"] == np.inf).all()
    assert (scores.loc[~calibrated & ~warm, "threshold"] == zero_shot["threshold"]).all()
    assert (scores.loc[calibrated, "threshold"] == profile[inference_detector, "B"]).all()
    assert (scores["decision"] == (scores["score"] >= scores["threshold"])).all()
    assert not scores.loc[warm, "decision"].any()
    assert inference_run["inference_report"]["detector"] == inference_detector


def test_a_known_capture_scores_as_it_did_in_the_test_set(
    inference_run, evaluation_run, inference_detector
) -> None:
    """Each new capture is (the start of) a test capture: same windows, and the same score,
    profile, calibrated flag, threshold and decision as evaluation gave it at the profile
    operating point (training vocabulary and statistics, the same profile, not refitted)."""
    scores = inference_run["inference_scores"]
    judged = evaluation_run["window_scores"]
    judged = judged[
        (judged["model"] == inference_detector) & (judged["operating_point"] == "profile")
    ]
    for new, test in TEST_CAPTURES.items():
        mine = scores[scores["capture"] == new].reset_index(drop=True)
        then = judged[judged["capture"] == test].sort_values("window").head(len(mine))
        assert len(then) == len(mine)
        np.testing.assert_allclose(mine["score"], then["score"], rtol=1e-4, atol=1e-6)
        np.testing.assert_array_equal(mine["threshold"], then["threshold"])
        np.testing.assert_array_equal(mine["calibrated"], then["calibrated"])
        flagged = then["score"].to_numpy() >= then["threshold"].to_numpy()
        assert (mine["decision"].to_numpy(bool) == flagged).sum() >= len(mine) - 1  # float ties


def test_flagged_windows_name_ids_of_their_own_frames(inference_run) -> None:
    scores = inference_run["inference_scores"].set_index(["capture", "window"])
    implicated = inference_run["inference_implicated"]
    frames = inference_run["inference_frames"]
    flagged = scores[scores["decision"] == 1]
    assert len(flagged)  # the fuzzed test_04 capture flags windows
    assert set(map(tuple, implicated[["capture", "window"]].drop_duplicates().to_numpy())) == set(
        flagged.index
    )
    assert (flagged["n_implicated"] >= 1).all()
    assert (scores.loc[scores["decision"] == 0, "n_implicated"] == 0).all()
    for (capture, window), ids in implicated.groupby(["capture", "window"])["can_id"]:
        row = scores.loc[(capture, window)]
        mine = frames[frames["capture"].astype(str) == capture]
        in_window = mine["can_id"][mine["row"].between(row["start_row"], row["end_row"])]
        assert set(ids) <= set(in_window)
        assert row["top_id"] in set(ids)


def test_flagged_windows_merge_into_alarms(inference_run, stage_params) -> None:
    scores = inference_run["inference_scores"]
    alarms = inference_run["inference_alarms"]
    merge_s = stage_params["inference"]["alarm_merge_s"]
    flagged = scores[scores["decision"] == 1]
    assert alarms["windows"].sum() == len(flagged)
    assert (alarms["can_ids"].str.len() > 0).all()
    for capture, mine in alarms.groupby("capture"):
        mine = mine.sort_values("start_time")
        assert list(mine["alarm"]) == list(range(len(mine)))
        # alarms of a capture are at least merge_s apart
        assert (
            mine["start_time"].to_numpy()[1:] - mine["end_time"].to_numpy()[:-1] >= merge_s
        ).all()
        windows = flagged[flagged["capture"] == capture]
        inside = (
            (windows["start_time"].to_numpy()[:, None] >= mine["start_time"].to_numpy())
            & (windows["end_time"].to_numpy()[:, None] <= mine["end_time"].to_numpy())
        ).sum(axis=1)
        assert (inside == 1).all()  # every flagged window lies in exactly one alarm
    report = {c["capture"]: c for c in inference_run["inference_report"]["captures"]}
    assert report[CAR_B]["profile"] == "B"
    assert report[CAR_A]["profile"] is None
    assert report[CAR_B]["alarms"] == (alarms["capture"] == CAR_B).sum()


def test_a_pairs_alarm_level_or_deploys_as_evaluation_judged_it(
    fusion_run, evaluation_run, stage_params, tmp_path
) -> None:
    """Deploying `fusion_student.alarm_or` runs its VGAE and GAT: on car B's capture every
    window's decision, score (the larger margin), threshold (0) and calibrated flag are the
    ones evaluation gave the pair at the profile operating point."""
    pair = "fusion_student.alarm_or"
    params = copy.deepcopy(stage_params)
    params["inference"]["detector"] = pair
    new = write_new_captures(tmp_path / "new")
    supply = fusion_run.artifacts | {
        "inference_captures": CaptureFolderDataset(str(new), labelled=False).load(),
        "inference_models": {
            name: fusion_run.artifacts[f"{name}.model"] for name in roster.deployed_members(pair)
        },
    }
    run = run_stage("inference", supply, params)
    scores = run["inference_scores"]
    assert run["inference_report"]["detector"] == pair
    judged = evaluation_run["window_scores"]
    judged = judged[(judged["model"] == pair) & (judged["operating_point"] == "profile")]
    mine = scores[scores["capture"] == CAR_B].reset_index(drop=True)
    then = judged[judged["capture"] == TEST_CAPTURES[CAR_B]].sort_values("window")
    assert len(then) == len(mine)
    np.testing.assert_allclose(mine["score"], then["score"], rtol=1e-4, atol=1e-5)
    assert (mine["threshold"] == 0).all()
    np.testing.assert_array_equal(mine["calibrated"], then["calibrated"])
    assert mine["calibrated"].any()
    assert (mine["decision"] == (mine["score"] >= 0)).all()
    assert (mine.loc[mine["decision"] == 1, "n_implicated"] >= 1).all()
