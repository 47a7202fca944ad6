"""Evaluation stage: every detector and fusion method of the roster on every test scenario, run
in-process after scoring and fusion."""

from __future__ import annotations

from kd_gat import roster
from kd_gat.metrics import choose_threshold
from kd_gat.models import count_parameters
from kd_gat.pipelines.evaluation import create_pipeline

METHODS = ("dqn", "weighted_average", "stacker")


def all_models() -> set[str]:
    return set(roster.detector_names()) | {
        f"{pair}.{m}" for pair in roster.fusion_names() for m in METHODS
    }


def test_the_stage_reads_every_detector_and_fusion_pair_of_the_roster() -> None:
    pipe = create_pipeline()
    assert pipe.inputs() == {
        "params:evaluation",
        "graphs_val",
        *(f"{d}.window_outputs" for d in roster.detector_names()),
        *(f"{d}.model" for d in roster.detector_names()),
        *(f"{f}.window_scores" for f in roster.fusion_names()),
    }
    assert pipe.outputs() == {"metrics", "model_sizes"}


def test_every_scenario_is_evaluated_for_every_model(evaluation_run, graphs_run) -> None:
    metrics = evaluation_run["metrics"]
    scenarios = set(graphs_run["graphs_test"])
    assert set(metrics["scenario"]) == scenarios
    assert set(metrics["model"]) == all_models()
    assert len(metrics) == len(all_models()) * len(scenarios)
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
        assert scores.loc[scores["model"] == name, "threshold"].unique().tolist() == [expected]
        assert (metrics.loc[metrics["model"] == name, "threshold"] == expected).all()


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
