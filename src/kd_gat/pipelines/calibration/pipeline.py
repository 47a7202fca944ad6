"""Calibration pipeline: the windows of the profile recordings (`calibration_graphs`, built by
the graphs stage) → per detector `<name>.profile_outputs` and `<name>.profile_node_outputs`,
the thresholds per car (`profile_thresholds`, `calibrated_profiles`), the node thresholds for
localisation (`profile_node_thresholds`), each detector's detection of attacks injected into the
recordings at those thresholds (`injected_graphs` → `<name>.injected_outputs` →
`injected_detection`) and each detector's zero-shot thresholds, for windows no profile applies to
(`zero_shot_thresholds`)."""

from kedro.pipeline import Node, Pipeline

from kd_gat import roster
from kd_gat.pipelines.templates import bind

from .nodes import (
    NODES_SUFFIX,
    calibrate_detectors,
    calibrate_nodes,
    injected_detection,
    score_injected,
    score_profile_nodes,
    score_profiles,
    zero_shot_thresholds,
)


def _scoring(detector: roster.Detector) -> Pipeline:
    return Pipeline(
        [
            Node(
                bind(score_profiles, detector=detector),
                inputs=["model", "calibration_graphs", "params:scoring", "params:profiles"],
                outputs="profile_outputs",
                name=f"score_{detector.name}_profiles",
            ),
            Node(
                bind(score_profile_nodes, detector=detector),
                inputs=["model", "calibration_graphs", "params:scoring", "params:profiles"],
                outputs="profile_node_outputs",
                name=f"score_{detector.name}_profile_nodes",
            ),
            Node(
                bind(score_injected, detector=detector),
                inputs=["model", "injected_graphs", "params:scoring", "params:profiles"],
                outputs="injected_outputs",
                name=f"score_{detector.name}_injected",
            ),
        ],
        namespace=detector.name,
        inputs={"calibration_graphs", "injected_graphs"},
        parameters={"params:scoring", "params:profiles"},
        tags=[detector.name],
    )


def create_pipeline(**kwargs) -> Pipeline:
    detectors = roster.detector_names()
    shared = Pipeline(
        [
            Node(
                calibrate_detectors,
                inputs={
                    "profiles": "vehicle_profiles",
                    "calibration_graphs": "calibration_graphs",
                    "params": "params:profiles",
                    **{d: f"{d}.profile_outputs" for d in detectors},
                },
                outputs=["profile_thresholds", "calibrated_profiles"],
                name="calibrate_detectors",
            ),
            Node(
                injected_detection,
                inputs={
                    "thresholds": "profile_thresholds",
                    **{d: f"{d}.injected_outputs" for d in detectors},
                },
                outputs="injected_detection",
                name="injected_detection",
            ),
            Node(
                calibrate_nodes,
                inputs={
                    "params": "params:evaluation",
                    **{d: f"{d}.profile_node_outputs" for d in detectors},
                },
                outputs="profile_node_thresholds",
                name="calibrate_nodes",
            ),
            Node(
                zero_shot_thresholds,
                inputs={
                    "params": "params:evaluation",
                    **{d: f"{d}.window_outputs" for d in detectors},
                    **{d + NODES_SUFFIX: f"{d}.node_outputs" for d in detectors},
                },
                outputs="zero_shot_thresholds",
                name="zero_shot_thresholds",
            ),
        ]
    )
    return shared + sum((_scoring(d) for d in roster.DETECTORS), Pipeline([]))
