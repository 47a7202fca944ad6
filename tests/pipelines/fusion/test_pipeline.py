"""Fusion stage: one namespace per fusion pair of the roster reading its two detectors' outputs,
run in-process after scoring."""

from __future__ import annotations

import pytest

from kd_gat import roster
from kd_gat.fusion.policy import FusionPolicy
from kd_gat.metrics import choose_threshold
from kd_gat.pipelines.fusion import create_pipeline

METHODS = ("dqn", "weighted_average", "stacker")


def test_one_namespace_per_pair_reading_its_detectors_outputs() -> None:
    pipe = create_pipeline()
    assert {n.namespace for n in pipe.nodes} == set(roster.fusion_names())
    for pair in roster.FUSIONS:
        (node,) = [n for n in pipe.nodes if n.namespace == pair.name]
        assert node.inputs == [
            f"{pair.vgae}.window_outputs",
            f"{pair.gat}.window_outputs",
            "params:fusion",
            "params:evaluation",
        ]
        assert node.outputs == [f"{pair.name}.{o}" for o in ("window_scores", "summary", "model")]
        assert node.func.keywords == {"pair": pair}


def test_every_pair_fuses_every_val_and_test_window_of_its_detectors(
    fusion_run, scoring_run
) -> None:
    for pair in roster.FUSIONS:
        scores = fusion_run[f"{pair.name}.window_scores"]
        assert set(scores["model"]) == {f"{pair.name}.{m}" for m in METHODS}
        outputs = scoring_run[f"{pair.gat}.window_outputs"]
        windows = outputs[outputs["split"] != "train"][["split", "scenario", "window", "label"]]
        for _, rows in scores.groupby("model"):
            got = rows[["split", "scenario", "window", "label"]]
            assert sorted(map(tuple, got.to_numpy())) == sorted(map(tuple, windows.to_numpy()))
        assert scores["score"].between(0, 1).all()  # ECDF, p and stacker probability mixes
        summary = fusion_run[f"{pair.name}.summary"]
        assert summary["pair"] == f"{pair.vgae}+{pair.gat}"
        assert summary["validation_windows"] == (outputs["split"] == "val").sum()


def test_each_method_threshold_is_its_validation_threshold(fusion_run, stage_params) -> None:
    quantile = stage_params["evaluation"]["normal_quantile"]
    for pair in roster.FUSIONS:
        scores = fusion_run[f"{pair.name}.window_scores"]
        summary = fusion_run[f"{pair.name}.summary"]
        for method in METHODS:
            rows = scores[scores["model"] == f"{pair.name}.{method}"]
            val = rows[rows["split"] == "val"]
            threshold = choose_threshold(val["label"], val["score"], quantile)
            assert rows["threshold"].unique().tolist() == [threshold]
            assert summary["methods"][method]["threshold"] == threshold


def test_the_deployed_policy_threshold_is_the_dqn_validation_threshold(fusion_run) -> None:
    for pair in roster.FUSIONS:
        policy = fusion_run[f"{pair.name}.model"]
        assert isinstance(policy, FusionPolicy)
        summary = fusion_run[f"{pair.name}.summary"]
        assert float(policy.threshold) == pytest.approx(summary["methods"]["dqn"]["threshold"])
        scores = fusion_run[f"{pair.name}.window_scores"]
        dqn = scores[scores["model"] == f"{pair.name}.dqn"]
        assert dqn["threshold"].unique().tolist() == pytest.approx(
            [float(policy.threshold)], rel=1e-6
        )
        assert set(dqn["split"]) == {"val", "test"}
