"""Evaluation stage: every detector and fusion method of the roster on every test scenario, run
in-process after scoring and fusion."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from kd_gat import roster
from kd_gat.field_metrics import EVENT_COLUMNS, METRIC_COLUMNS, attack_events
from kd_gat.localisation import LOCALISED_COLUMNS
from kd_gat.metrics import choose_threshold
from kd_gat.models import count_parameters
from kd_gat.pipelines.evaluation import create_pipeline

METHODS = ("dqn", "weighted_average", "stacker", "alarm_or")  # alarm_or: in evaluation


def all_models() -> set[str]:
    return set(roster.detector_names()) | {
        f"{pair}.{m}" for pair in roster.fusion_names() for m in METHODS
    }


def test_the_stage_reads_every_detector_and_fusion_pair_of_the_roster() -> None:
    pipe = create_pipeline()
    assert pipe.inputs() == {
        "params:evaluation",
        "params:profiles",
        "graphs_val",
        "graphs_test",
        "frames",
        "capture_matches",
        "profile_thresholds",
        "profile_node_thresholds",
        "zero_shot_thresholds",
        "injected_detection",
        *(f"{d}.window_outputs" for d in roster.detector_names()),
        *(f"{d}.node_outputs" for d in roster.detector_names()),
        *(f"{d}.model" for d in roster.detector_names()),
        *(f"{f}.window_scores" for f in roster.fusion_names()),
    }
    assert pipe.outputs() == {
        "metrics",
        "field_metrics",
        "field_metrics_by_capture",
        "deployment_choice",
    }
    # also read within the stage: by evaluate_field_metrics, and by choose_deployment
    assert {"attack_events", "model_sizes"} <= pipe.all_outputs()


def test_every_scenario_is_evaluated_for_every_model(evaluation_run, graphs_run) -> None:
    metrics = evaluation_run["metrics"]
    scenarios = set(graphs_run["graphs_test"])
    assert set(metrics["scenario"]) == scenarios
    assert set(metrics["model"]) == all_models()
    assert set(metrics["operating_point"]) == {"validation", "profile"}
    assert len(metrics) == len(all_models()) * len(scenarios) * 2
    for column in ("f1", "auroc", "precision", "recall", "mcc", "dr_at_fpr_1pct", "tp"):
        assert column in metrics.columns
    # no prefix caps: every test window of every scenario is scored
    for scenario, store in graphs_run["graphs_test"].items():
        assert (metrics.loc[metrics["scenario"] == scenario, "n_windows"] == len(store)).all()
        assert (
            metrics.loc[metrics["scenario"] == scenario, "n_attack_windows"] == store.y.sum()
        ).all()


def test_detector_thresholds_come_from_validation_only(
    evaluation_run, scoring_run, stage_params
) -> None:
    scores = evaluation_run["window_scores"]
    metrics = evaluation_run["metrics"]
    quantile = stage_params["evaluation"]["normal_quantile"]
    for name in roster.detector_names():
        outputs = scoring_run[f"{name}.window_outputs"]
        val = outputs[outputs["split"] == "val"]
        expected = choose_threshold(val["label"].to_numpy(), val["score"].to_numpy(), quantile)
        validation = scores[(scores["model"] == name) & (scores["operating_point"] == "validation")]
        # every window but those of a capture's warm-up (+inf: no alarm)
        assert set(validation["threshold"].unique()) == {expected, np.inf}
        mine = metrics[(metrics["model"] == name) & (metrics["operating_point"] == "validation")]
        assert (mine["threshold"] == expected).all()


def test_matched_captures_take_the_profile_threshold(
    evaluation_run, calibration_run, profiles_run
) -> None:
    """The shipped test_04 capture (car B) matches B's profile: its windows after the match are
    judged at each detector's threshold on B; car A's captures stay at the validation one."""
    scores = evaluation_run["window_scores"]
    profile = scores[scores["operating_point"] == "profile"]
    validation = scores[scores["operating_point"] == "validation"]
    thresholds = calibration_run["profile_thresholds"].set_index(["model", "vehicle"])["threshold"]
    matches = profiles_run["capture_matches"].set_index("capture")["profile"]
    on_b = profile["capture"].map(matches).eq("B").to_numpy()
    assert on_b.any()
    assert profile.loc[~on_b, "calibrated"].sum() == 0
    assert (profile.loc[~on_b, "threshold"].to_numpy() == validation.loc[~on_b, "threshold"]).all()
    for name in roster.detector_names():
        mine = profile[(profile["model"] == name) & on_b]
        assert mine["calibrated"].mean() > 0.5  # all but the windows of the first seconds
        assert (mine.loc[mine["calibrated"], "threshold"] == thresholds[name, "B"]).all()
    fusion = profile[~profile["model"].isin(roster.detector_names())]
    alarm_or = fusion["model"].str.endswith(".alarm_or").to_numpy()
    assert not fusion.loc[~alarm_or, "calibrated"].any()  # learnt fusion: no profile threshold
    # the alarm-level OR is calibrated where both its detectors are (car B's windows)
    for pair in roster.FUSIONS:
        mine = profile[profile["model"] == f"{pair.name}.alarm_or"].set_index(
            ["scenario", "window"]
        )
        members = [
            profile[profile["model"] == m].set_index(["scenario", "window"])["calibrated"]
            for m in (pair.vgae, pair.gat)
        ]
        assert (mine["calibrated"] == (members[0] & members[1]).loc[mine.index]).all()
        assert mine["calibrated"].any()


def test_model_sizes_of_every_detector(evaluation_run, distillation_run) -> None:
    sizes = evaluation_run["model_sizes"].set_index("model")
    assert set(sizes.index) == set(roster.detector_names())
    for name in roster.detector_names():
        assert sizes.loc[name, "parameters"] == count_parameters(
            distillation_run.artifacts[f"{name}.model"]
        )
    assert (sizes["ms_per_window_batch1"] > 0).all()
    for student in roster.distilled():
        assert sizes.loc[student.teacher, "parameters"] > sizes.loc[student.name, "parameters"]


def test_attack_events_are_those_of_the_test_captures(
    evaluation_run, ingestion_run, stage_params
) -> None:
    events = evaluation_run["attack_events"]
    frames = ingestion_run["frames"]
    test = frames[frames["split"] == "test"]
    assert list(events.columns) == EVENT_COLUMNS
    assert set(events["capture"]) == set(test.loc[test["attack"] == 1, "capture"].astype(str))
    gap = stage_params["evaluation"]["event_gap_s"]
    pd.testing.assert_frame_equal(events, attack_events(test, gap))
    # every test attack frame is in exactly one event
    assert events["n_attack_frames"].sum() == (test["attack"] == 1).sum()
    assert (events["end_time"] >= events["start_time"]).all()


def test_field_metrics_of_every_model_scenario_and_capture(evaluation_run, graphs_run) -> None:
    by_scenario = evaluation_run["field_metrics"]
    by_capture = evaluation_run["field_metrics_by_capture"]
    metrics = evaluation_run["metrics"]
    stores = graphs_run["graphs_test"]
    keys = ["model", "operating_point", "scenario"]
    extra = ["calibrated_share", *LOCALISED_COLUMNS]
    assert list(by_scenario.columns) == [*keys, *METRIC_COLUMNS, *extra]
    assert list(by_capture.columns) == [*keys, "capture", *METRIC_COLUMNS, *extra]
    # the localised rule exists for every detector (node scores), not for fusion methods
    detectors = by_scenario["model"].isin(roster.detector_names())
    assert by_scenario.loc[detectors, "frame_fn_localised"].notna().all()
    assert by_scenario.loc[~detectors, "frame_fn_localised"].isna().all()
    # both rules see every attack frame of the windows once
    both = by_scenario[detectors]
    assert (
        both["frame_tp_localised"] + both["frame_fn_localised"]
        == both["frame_tp"] + both["frame_fn"]
    ).all()
    # the localised rule flags a subset of the window rule's frames
    assert (both["frame_tp_localised"] <= both["frame_tp"]).all()
    assert (both["frame_fp_localised"] <= both["frame_fp"]).all()
    assert len(by_scenario) == len(all_models()) * len(stores) * 2
    assert not by_capture.duplicated([*keys, "capture"]).any()
    for point in ("validation", "profile"):
        _check_field_metrics(
            by_scenario[by_scenario["operating_point"] == point],
            by_capture[by_capture["operating_point"] == point],
            metrics[metrics["operating_point"] == point].set_index(["model", "scenario"]),
            stores,
        )


def _check_field_metrics(by_scenario, by_capture, metrics, stores) -> None:
    for scenario, store in stores.items():
        captures = set(store.windows["capture"].astype(str))
        rows = by_scenario[by_scenario["scenario"] == scenario]
        assert set(rows["model"]) == all_models()
        assert (rows["n_windows"] == len(store)).all()
        # the window rule covers every attack frame of the scenario's windows exactly once
        attack_frames = store.windows["n_attack_frames"].sum()
        assert (rows["frame_tp"] + rows["frame_fn"] == attack_frames).all()
        frames = store.windows["n_frames"].sum()
        assert (rows["frame_tp"] + rows["frame_fp"] <= frames).all()
        for model in all_models():
            mine = by_capture[(by_capture["scenario"] == scenario) & (by_capture["model"] == model)]
            assert set(mine["capture"]) >= captures  # every capture of the test scenarios
            mine_sums = mine[["frame_tp", "frame_fn", "n_events", "n_detected", "n_windows"]].sum()
            theirs = rows.set_index("model").loc[model, mine_sums.index]
            assert mine_sums.tolist() == theirs.tolist()
            # the window F1 at the model's threshold is the metrics table's
            if metrics.loc[(model, scenario), "n_attack_windows"] > 0:
                f1 = rows.set_index("model").loc[model, "window_f1"]
                assert f1 == pytest.approx(metrics.loc[(model, scenario), "f1"])
    for table in (by_scenario, by_capture):
        assert not table["suppress"].any()  # the shipped sample has no suppress scenario
        share = table["share_detected"].dropna()
        assert ((share >= 0) & (share <= 1)).all()
        assert (table["n_detected"] <= table["n_events"]).all()
        assert ((table["time_in_alarm"] >= 0) & (table["time_in_alarm"] <= 1)).all()
        assert (table["latency_median_s"].dropna() >= 0).all()
        assert (table["latency_max_s"].dropna() >= table["latency_median_s"].dropna()).all()
        rated = table.dropna(subset=["false_alarms_per_h"])
        assert (rated["false_alarms_per_h_upper"] > rated["false_alarms_per_h"]).all()
        # one threshold for every window (validation): no F1 beats the best single threshold's;
        # at the profile point calibrated windows take their car's threshold, others not
        single = table[table["operating_point"] == "validation"].dropna(subset=["window_f1_best"])
        assert (single["window_f1_best"] >= single["window_f1"] - 1e-12).all()
        assert table["suppress_alarms"].isna().all()
        for column in ("frame_precision", "frame_recall", "frame_f1"):
            values = table[column].dropna()
            assert ((values >= 0) & (values <= 1)).all(), column
    assert np.isfinite(by_scenario["false_alarms_per_h"]).all()


def test_the_deployment_choice_reports_each_candidates_injected_detection(
    evaluation_run, calibration_run, stage_params
) -> None:
    """Each candidate of the choice carries its weakest injected-attack recall; the deployed one
    passes `min_injected_recall` whenever any eligible candidate does."""
    choice = evaluation_run["deployment_choice"]
    table = calibration_run["injected_detection"]
    rows = {r["detector"]: r for r in choice["candidates"]}
    assert set(rows) == set(roster.deployable_names())
    for name, row in rows.items():
        assert row["injected_recall"] == pytest.approx(
            table.loc[table["model"] == name, "recall"].min()
        )
    bar = stage_params["evaluation"]["min_injected_recall"]
    passing = [r for r in rows.values() if r["eligible"] and r["injected_recall"] >= bar]
    if passing:
        assert rows[choice["detector"]]["injected_recall"] >= bar
    json.dumps(choice, allow_nan=False)  # written as JSON: no NaN
