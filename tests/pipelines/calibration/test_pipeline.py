"""Calibration stage, in-process on the shipped sample: every detector scores the slice of car
B's attack-free traffic and gets B's threshold for the false-alarm budget and a node threshold."""

from __future__ import annotations

import numpy as np
import pytest

from kd_gat import roster
from kd_gat.metrics import choose_threshold
from kd_gat.pipelines.calibration import create_pipeline
from kd_gat.pipelines.calibration.nodes import NODES_SUFFIX, zero_shot_thresholds
from kd_gat.profiles import budget_threshold


def test_one_scoring_namespace_per_detector() -> None:
    pipe = create_pipeline()
    namespaces = {n.namespace for n in pipe.nodes if n.namespace}
    assert namespaces == set(roster.detector_names())
    assert {f"{d}.profile_outputs" for d in roster.detector_names()} <= pipe.all_outputs()


def test_thresholds_keep_the_budget_on_the_recording(
    calibration_run, graphs_run, stage_params
) -> None:
    table = calibration_run["profile_thresholds"]
    assert set(table["model"]) == set(roster.detector_names())
    budget = stage_params["profiles"]["false_alarms_per_hour"]
    warmup_s = stage_params["profiles"]["warmup_s"]
    windows = graphs_run["calibration_graphs"]["B"].windows
    for row in table.itertuples():
        outputs = calibration_run[f"{row.model}.profile_outputs"]
        mine = outputs[outputs["vehicle"] == row.vehicle]
        # the windows of the recording's first seconds are marked and set no threshold
        ends = windows["end_time"].to_numpy()[mine["window"]]
        first = windows["start_time"].min()
        assert (mine["warmup"].to_numpy() == (ends < first + warmup_s)).all()
        assert mine["warmup"].any()
        scores = mine.loc[~mine["warmup"], "score"].to_numpy()
        assert len(scores) == row.windows
        flagged = int((scores >= row.threshold).sum())
        assert flagged <= np.floor(budget * row.minutes / 60)
        assert flagged == row.allowed_alarms or row.threshold > scores.max()
    calibrated = calibration_run["calibrated_profiles"]["profiles"]["B"]["detectors"]
    assert set(calibrated) == set(roster.detector_names())


def test_budget_threshold() -> None:
    scores = np.array([0.1, 0.5, 0.3, 0.9, 0.7])
    assert (scores >= budget_threshold(scores, 0)).sum() == 0
    assert (scores >= budget_threshold(scores, 2)).sum() == 2
    assert budget_threshold(scores, 10) == pytest.approx(0.1)


def test_node_thresholds_are_the_node_quantile_of_each_profile(
    calibration_run, graphs_run, params
) -> None:
    thresholds = calibration_run["profile_node_thresholds"].set_index(["model", "vehicle"])
    store = graphs_run["calibration_graphs"]["B"]
    q = params["evaluation"]["node_quantile"]
    for name in roster.detector_names():
        nodes = calibration_run[f"{name}.profile_node_outputs"]
        assert len(nodes) == store.node_ptr[-1]  # every node of every profile window
        expected = np.quantile(nodes.loc[~nodes["warmup"], "node_score"], q)
        assert thresholds.loc[(name, "B"), "node_threshold"] == pytest.approx(expected)


def test_zero_shot_thresholds_come_from_validation_windows_only(
    calibration_run, scoring_run, params
):
    """Each detector's zero-shot thresholds: its window threshold chosen on validation windows,
    its node threshold the node quantile on benign validation windows; test rows move neither."""
    table = calibration_run["zero_shot_thresholds"].set_index("model")
    assert set(table.index) == set(roster.detector_names())
    p = params["evaluation"]
    for name in roster.detector_names():
        outputs = scoring_run[f"{name}.window_outputs"]
        nodes = scoring_run[f"{name}.node_outputs"]
        val = outputs[outputs["split"] == "val"]
        expected = choose_threshold(val["label"], val["score"], p["normal_quantile"])
        assert table.loc[name, "threshold"] == pytest.approx(expected)
        benign = val.loc[val["label"] == 0, "window"]
        val_nodes = nodes[(nodes["split"] == "val") & nodes["window"].isin(benign)]
        assert table.loc[name, "node_threshold"] == pytest.approx(
            np.quantile(val_nodes["node_score"], p["node_quantile"])
        )
        # test rows scrambled: nothing moves
        scrambled = outputs.assign(
            score=np.where(outputs["split"] == "test", -outputs["score"], outputs["score"]),
            label=np.where(outputs["split"] == "test", 1 - outputs["label"], outputs["label"]),
        )
        again = zero_shot_thresholds(p, **{name: scrambled, name + NODES_SUFFIX: nodes})
        assert again.loc[0, "threshold"] == table.loc[name, "threshold"]


def test_injected_detection_counts_each_candidate_at_the_cars_threshold(
    calibration_run, graphs_run
) -> None:
    """Every deployable candidate has a row per (car, injected kind); a detector's counts are
    its flags at the car's threshold on every injected window, an OR's the union of its
    members' at their half-budget thresholds."""
    table = calibration_run["injected_detection"].set_index(["model", "vehicle", "kind"])
    store = graphs_run["injected_graphs"]["B"]
    kinds = set(store.windows["attack_kind"].astype(str))
    assert set(table.index) == {(m, "B", k) for m in roster.deployable_names() for k in kinds}
    thresholds = calibration_run["profile_thresholds"].set_index(["model", "vehicle"])
    flags = {}
    for name in roster.detector_names():
        out = calibration_run[f"{name}.injected_outputs"]
        assert len(out) == len(store)  # every injected window, once
        np.testing.assert_array_equal(out["label"], store.y[out["window"]])
        assert (
            out["kind"].to_numpy() == store.windows["attack_kind"].astype(str)[out["window"]]
        ).all()
        flags[name] = (out.set_index("window")["score"], thresholds.loc[(name, "B")])
    for name in roster.deployable_names():
        members = roster.deployed_members(name)
        column = "threshold" if len(members) == 1 else "threshold_half_budget"
        flagged = np.logical_or.reduce(
            [(flags[m][0] >= flags[m][1][column]).sort_index().to_numpy() for m in members]
        )
        for kind in kinds:
            mine = (store.windows["attack_kind"].astype(str) == kind).to_numpy()
            attack = mine & (store.y == 1)
            row = table.loc[(name, "B", kind)]
            assert row["attack_windows"] == attack.sum()
            assert row["detected"] == (flagged & attack).sum()
            assert row["benign_flagged"] == (flagged & mine & (store.y == 0)).sum()
